/**
 * runbooks/schema-evolution.md — Rollback Procedures: Quick Rollback Commands.
 * Scenario 1's change (ADD COLUMN email_secondary) is deployed and reaches the replica; then the quick
 * rollback's commands run as written (the CLI on this stack, psql from pgTools), with Scenario 1's
 * Rollback SQL where the block says "the scenario's Rollback SQL", while a workload writes to the table.
 * The outcome: the column gone from both sides, the replica equal to the source, nothing lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { awaitColumn, awaitConverged, awaitDrained, describeTable, lagSloMs, resetSampleTables, runSql } from '../../harness/scenario/kit.js';
import { blockClaim, commentSteps, fillPlaceholders, runShellLine, type ShellContext } from '../../harness/scenario/rollback-kit.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { Workload, type WorkloadHistory } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'quick-rollback-commands');
const scenarioRollback = runbookSection('schema-evolution', 'scenario-1-add-nullable-column/rollback');
const TABLE = 'customers';
const KEY = 'customer_id';
const COLUMN = 'email_secondary';
const CHANGE_SQL = `ALTER TABLE public.${TABLE} ADD COLUMN ${COLUMN} VARCHAR(255) NULL`;

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`roll back Scenario 1's change with the quick commands ${variant.label}`, async ({ source, target, pipeline, connect, endpoints, pgTools }) => {
      const dialect = variant.dialect;
      const block = section.blocks({ lang: 'bash' })[0]!;
      const steps = commentSteps(block);
      const workdir = mkdtempSync(path.join(tmpdir(), 'rh-quick-'));
      const shell: ShellContext = {
        stateDir: inject('stackStateDir'),
        cwd: workdir,
        variables: { TARGET_URL: endpoints.target.url, SOURCE_URL: endpoints.source.url },
        tools: { psql: pgTools.psql },
        // The runbook names the SQL Server source connector; this stack's source is PostgreSQL.
        word: (w) => (w === 'sqlserver-source' || w === 'postgres-source' ? pipeline.sourceName : fillPlaceholders(w, { table_name: TABLE })),
      };
      const run = async (line: string) => {
        const result = await runShellLine(shell, line);
        await attachText(`$ ${line}`, `exit ${result.code}\n${result.stdout}\n${result.stderr}`.trim());
        return result;
      };
      // Scenario 1's Rollback, step by step: source SQL, the drain, replica SQL.
      const rollbackSql = (where: 'source' | 'target') =>
        scenarioRollback.tree.flatMap((s) => s.steps).flatMap((st) => st.codeBlocks).filter((b) => b.lang === 'sql' && b.side === where && (where === 'target' || b.dialect === dialect)).map((b) => b.value).join('\n');

      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 20 });
      let history: WorkloadHistory | undefined;
      onTestFinished(async () => void (await workload.stop()));

      try {
        await runbookStep('Scenario 1 change deployed, the column in the replica', async () => {
          await runSql(source, CHANGE_SQL, 'the change on the source');
          workload.setShape((_, n) => ({ name: `writer ${n}`, [COLUMN]: `w${n}@example.com` }));
          const seen = await awaitColumn(target, TABLE, COLUMN, lagSloMs());
          expect(seen.appeared, `${COLUMN} in the replica`).toBe(true);
        });

        for (const step of steps) {
          await runbookStep(`${step.number}. ${step.title}`, async () => {
            if (/roll back the (\w+ )?schema/i.test(step.title)) {
              const sourceOnly = /source/i.test(step.title) && !/replica/i.test(step.title);
              workload.setShape((_, n) => ({ name: `writer ${n}` }));
              await runSql(source, rollbackSql('source'), "the scenario's Rollback SQL (source)");
              if (!sourceOnly) {
                // Scenario 1's Rollback waits for the sink to drain before the replica; with the sink paused it cannot.
                const drained = await awaitDrained(target, TABLE, KEY, await workload.mark(), lagSloMs());
                await attachJson("Scenario 1's drain while replication is paused", drained);
                await runSql(target, rollbackSql('target'), "the scenario's Rollback SQL (replica)");
              }
            }
            if (/reconcile/i.test(step.title)) {
              history = await workload.stop();
              const converged = await awaitConverged(source, target, [{ table: TABLE }]);
              await attachJson('reconciliation report (harness)', converged.report);
            }
            if (/drain/i.test(step.title)) {
              const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
              await attachJson('sink drained', drained);
              expect(drained.drained).toBe(true);
            }
            for (const line of step.commands) {
              const result = await run(line);
              expect(result.code, `${line}: ${result.stderr}`).toBe(0);
            }
            if (/replica/i.test(step.title) && /roll back/i.test(step.title) && /drain/i.test(step.title)) {
              await runSql(target, rollbackSql('target'), "the scenario's Rollback SQL (replica)");
            }
            if (/verify schema/i.test(step.title)) {
              const columns = (await describeTable(target, TABLE)).map((c) => c.column_name);
              await attachJson('replica columns', columns);
            }
          });
        }
      } finally {
        rmSync(workdir, { recursive: true, force: true });
      }

      await runbookStep('Outcome: the change rolled back on both sides, nothing lost', async () => {
        history ??= await workload.stop();
        const converged = await awaitConverged(source, target, [{ table: TABLE }]);
        await attachJson('reconciliation report', converged.report);
        const sourceColumns = (await describeTable(source, TABLE)).map((c) => c.column_name);
        const targetColumns = (await describeTable(target, TABLE)).map((c) => c.column_name);
        const verdict = await checkHistory(history, target, { onlyColumns: sourceColumns });
        await attachJson('acknowledged-write check', { ...verdict, sourceColumns, targetColumns, errors: history.errors.slice(0, 20) });
        expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
        expect(history.writes.length).toBeGreaterThan(0);
        expect(sourceColumns).not.toContain(COLUMN);
        assertClaim(
          blockClaim(section, block, steps.find((s) => /roll back/i.test(s.title))!.title),
          !targetColumns.includes(COLUMN),
          targetColumns.includes(COLUMN) ? `${COLUMN} is back in the replica after the resume: the sink re-added it from events still queued` : `${COLUMN} gone from the replica`,
        );
      });
    });
  }
});

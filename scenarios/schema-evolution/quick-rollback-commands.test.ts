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
import { summariseState } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { parseLagSnapshot } from '../../harness/scenario/pipeline-observers.js';
import { awaitColumn, awaitConverged, awaitDrained, CONVERGE_LIMIT_MS, describeTable, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { commentSteps, fillPlaceholders, psqlDescribedColumns, runSql } from '../../harness/scenario/runbook-blocks.js';
import { blockClaim } from '../../harness/scenario/runbook-claims.js';
import { runShellLine, type ShellContext } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { DEFAULT_HEARTBEAT_TABLE, ensureHeartbeatTable, probeHeartbeat } from '../../harness/verify/lag.js';
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
      /** Step `n` of the block, which must exist. */
      const step = (n: number) => {
        const found = steps.find((st) => st.number === n);
        if (!found) throw new Error(`${section.file} [${section.id}]: the bash block has no step ${n}; steps: ${steps.map((st) => `${st.number}. ${st.title}`).join(' | ')}`);
        return found;
      };
      const title = (n: number) => `${n}. ${step(n).title}`;
      /** Runs every command of step `n` as written; each must exit 0. */
      const runCommands = async (n: number) => {
        const results = [];
        for (const line of step(n).commands) {
          const result = await run(line);
          expect(result.code, `${line}: ${result.stderr}`).toBe(0);
          results.push(result);
        }
        expect(results.length, `step ${n} has commands`).toBeGreaterThan(0);
        return results;
      };
      // Scenario 1's Rollback, step by step: source SQL, the drain, replica SQL.
      const rollbackSql = (where: 'source' | 'target') =>
        scenarioRollback.tree.flatMap((s) => s.steps).flatMap((st) => st.codeBlocks).filter((b) => b.lang === 'sql' && b.side === where && (where === 'target' || b.dialect === dialect)).map((b) => b.value).join('\n');

      await resetSampleTables(source, target, [DEFAULT_HEARTBEAT_TABLE]);
      // Step 4's `lag --json` probes the heartbeat: the table is in the source and captured.
      await ensureHeartbeatTable({ source });
      await pipeline.deploy({ tables: ['customers', 'orders', 'products', DEFAULT_HEARTBEAT_TABLE] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
      await probeHeartbeat({ source, target, timeoutMs: CONVERGE_LIMIT_MS }); // the sink creates the heartbeat table
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

        // Steps 1 and 3 act on both connectors: each must then be in the state the step asks for.
        const expectBothConnectors = async (state: 'PAUSED' | 'RUNNING', n: number) => {
          for (const name of [pipeline.sourceName, pipeline.sinkName]) {
            const status = await connect.awaitConnectorState(name, state);
            expect(summariseState(status), `${name} after step ${n}`).toBe(state);
          }
        };

        await runbookStep(title(1), async () => {
          await runCommands(1);
          await expectBothConnectors('PAUSED', 1);
        });

        await runbookStep(title(2), async () => {
          expect(step(2).commands, 'step 2 has no commands of its own: it runs the scenario\'s Rollback SQL').toEqual([]);
          workload.setShape((_, n) => ({ name: `writer ${n}` }));
          await runSql(source, rollbackSql('source'), "the scenario's Rollback SQL (source)");
          const columns = (await describeTable(source, TABLE)).map((c) => c.column_name);
          expect(columns, 'the source after its rollback').not.toContain(COLUMN);
        });

        await runbookStep(title(3), async () => {
          await runCommands(3);
          await expectBothConnectors('RUNNING', 3);
        });

        await runbookStep(title(4), async () => {
          const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
          await attachJson('sink drained (marker write in the replica)', drained);
          expect(drained.drained, 'the sink drained past a write made after the source rollback').toBe(true);
          for (const result of await runCommands(4)) {
            const snapshot = parseLagSnapshot(result.stdout);
            expect(snapshot, `${result.line} printed a JSON snapshot`).toBeDefined();
            expect(snapshot!.heartbeat.skipped, 'lag --json probed the heartbeat').toBeUndefined();
            expect(snapshot!.verdict?.pass, `lag --json: heartbeat within the lag SLO (${JSON.stringify(snapshot!.verdict)})`).toBe(true);
            expect(snapshot!.consumer.group).toBe(`connect-${pipeline.sinkName}`);
            expect(snapshot!.consumer.error, 'lag --json read the sink\'s consumer group').toBeUndefined();
          }
          await runSql(target, rollbackSql('target'), "the scenario's Rollback SQL (replica)");
          const columns = (await describeTable(target, TABLE)).map((c) => c.column_name);
          expect(columns, 'the replica after its rollback').not.toContain(COLUMN);
        });

        await runbookStep(title(5), async () => {
          const [listing] = await runCommands(5);
          const described = psqlDescribedColumns(listing!.stdout);
          const sourceColumns = (await describeTable(source, TABLE)).map((c) => c.column_name);
          await attachJson('replica columns (\\d+) and source columns', { replica: described, source: sourceColumns });
          expect(described.length, 'psql \\d+ listed the replica table').toBeGreaterThan(0);
          expect([...described].sort(), 'the replica has exactly the source\'s columns').toEqual([...sourceColumns].sort());
        });

        await runbookStep(title(6), async () => {
          // The reconcile compares a still table: the writes stop, the sink applies the last of them.
          history = await workload.stop();
          const converged = await awaitConverged(source, target, [{ table: TABLE }]);
          await attachJson('reconciliation report (harness)', converged.report);
          const [reconciled] = await runCommands(6);
          expect(reconciled!.code, 'reconcile --checksum exits 0 only when every row matches').toBe(0);
        });
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
          blockClaim(section, block, step(4).title),
          !targetColumns.includes(COLUMN),
          targetColumns.includes(COLUMN) ? `${COLUMN} is back in the replica after the resume: the sink re-added it from events still queued` : `${COLUMN} gone from the replica`,
        );
      });
    });
  }
});

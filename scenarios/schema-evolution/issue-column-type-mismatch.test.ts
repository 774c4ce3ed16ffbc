/**
 * runbooks/schema-evolution.md — Troubleshooting: Issue: Column Type Mismatch.
 * The source column is widened (the sink never retypes the replica's), and the workload then writes
 * values only the wider column holds: the mismatch happens for real. The Diagnostic Steps run as
 * written (the CLI on this stack; the type queries on both sides), the Resolution widens the replica
 * column to the source's type and restarts the failed task; every acknowledged write must then be in
 * the replica, and the DLQ is checked for what the runbook says reaches it.
 */
import { inject } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { summariseState } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachSql, attachText, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { restartFailedTasks } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { fillPlaceholders, harnessCommands, runSql } from '../../harness/scenario/runbook-blocks.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'issue-column-type-mismatch');
const diagnostics = runbookSection('schema-evolution', 'issue-column-type-mismatch/diagnostic-steps');
const resolution = runbookSection('schema-evolution', 'issue-column-type-mismatch/resolution');
const TABLE = 'orders';
const KEY = 'order_id';
const COLUMN = 'notes';
const SOURCE_WIDTH = 2000;
const LONG_NOTE = 'n'.repeat(800);

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`a widened source column the replica cannot hold ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const stateDir = inject('stackStateDir');
      const fill = (sql: string) => fillPlaceholders(sql, { table_name: TABLE, column_name: COLUMN });
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);

      await runSql(source, `ALTER TABLE public.${TABLE} ALTER COLUMN ${COLUMN} TYPE VARCHAR(${SOURCE_WIDTH})`, 'the schema change on the source: a wider column');
      const workload = Workload.start(source, {
        table: TABLE,
        keyColumn: KEY,
        shape: (_, n) => ({ customer_id: '1', amount: `${n % 1000}.50`, notes: n % 4 === 0 ? `${n} ${LONG_NOTE}` : `note ${n}` }),
        ratePerSecond: 20,
      });

      const failed = await runbookStep(`Symptoms: ${section.field('Symptoms').value}`, async () => {
        const status = await pollUntil({ what: 'the sink to fail or a DLQ record to appear', limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const s = await connect.getConnectorStatus(pipeline.sinkName);
          const dlq = await kafka.count(pipeline.dlqTopic);
          return { done: summariseState(s) === 'FAILED' || dlq > 0, seen: `${summariseState(s)}, DLQ ${dlq}`, value: s };
        });
        const dlq = await kafka.read(pipeline.dlqTopic, { limitMs: 10_000 });
        const trace = status.tasks.find((t) => t.trace)?.trace ?? '';
        await attachJson('sink status', status);
        await attachJson('DLQ records', dlq);
        const symptom = section.field('Symptoms');
        const saysFailed = /FAILED/i.test(symptom.value);
        const saysDlq = /DLQ record/i.test(symptom.value) && !/never reaches the DLQ/i.test(symptom.value);
        const observedFailed = summariseState(status) === 'FAILED' && /too long|invalid input/i.test(trace);
        assertClaim(symptom.claim, (saysFailed === observedFailed) && (saysDlq === dlq.length > 0), `task ${summariseState(status)} (${trace.split('\n').find((l) => /too long|invalid input/i.test(l))?.trim().slice(0, 200) ?? 'no write error in the trace'}); ${dlq.length} DLQ records`);
        return status;
      });

      await runbookStep(`1. ${diagnostics.step(1).title}`, async () => {
        const block = diagnostics.step(1).codeBlocks.find((b) => b.lang === 'bash')!;
        await attachText('runbook commands', block.value);
        const outputs: string[] = [];
        for (const line of harnessCommands(block)) {
          const result = await runCli(stateDir, line.split(/\s+/).slice(1));
          await attachText(`$ ${line}`, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
          outputs.push(result.stdout + result.stderr);
        }
        // What the operator reads: the column's type and the value's problem.
        expect(outputs.join('\n'), 'the diagnostic output names the problem with the column').toMatch(/value too long for type character varying\(500\)/);
        expect(failed.tasks.map((t) => t.state)).toEqual(['FAILED']);
      });

      const widerType = await runbookStep(`2. ${diagnostics.step(2).title}`, async () => {
        const sourceSql = fill(diagnostics.stepSql(2, { side: 'source', dialect }));
        const targetSql = fill(diagnostics.stepSql(2, { side: 'target' }));
        await attachSql('source column type', sourceSql);
        await attachSql('replica column type', targetSql);
        const [s] = await source.query(sourceSql);
        const [t] = await target.query(targetSql);
        await attachJson('column types', { source: s, replica: t });
        expect(s?.character_maximum_length).toBe(String(SOURCE_WIDTH));
        expect(t?.character_maximum_length, 'the replica column kept the old width').toBe('500');
        return `VARCHAR(${s!.character_maximum_length})`;
      });

      await runbookStep('Resolution', async () => {
        const sql = fillPlaceholders(resolution.blocks({ lang: 'sql', side: 'target' })[0]!.value, { table_name: TABLE, column_name: COLUMN, wider_type: widerType });
        await runSql(target, sql, 'widen the replica column');
        const restarted = await restartFailedTasks(connect, pipeline.sinkName);
        await attachJson('sink after restart --include-tasks --only-failed', restarted);
        expect(restarted.running, `sink not RUNNING after the restart: ${restarted.status.tasks.map((t) => t.trace?.split('\n').slice(0, 3).join(' ')).join(' | ')}`).toBe(true);
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const history = await workload.stop();
        const converged = await awaitConverged(source, target, [{ table: TABLE }]);
        await attachJson('reconciliation report', converged.report);
        const verdict = await checkHistory(history, target);
        const dlq = await kafka.count(pipeline.dlqTopic);
        await attachJson('acknowledged-write check', { ...verdict, dlqMessages: dlq, errors: history.errors.slice(0, 20) });
        expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
        expect(history.writes.filter((w) => w.row?.notes?.length && w.row.notes.length > 500).length, 'long values were written').toBeGreaterThan(0);
        expect(dlq, 'no row went to the DLQ, so none is excused').toBe(0);
      });
    });
  }
});

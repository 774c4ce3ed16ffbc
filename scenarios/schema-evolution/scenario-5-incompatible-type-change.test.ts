/**
 * runbooks/schema-evolution.md — Scenario 5: Incompatible Type Change (customers.phone_number VARCHAR(20) → BIGINT).
 * One runbookStep per numbered step of the Procedure, then the Rollback; a workload writes phone numbers throughout.
 * The application's writes stop for the window (step 1 and the Rollback) and resume after it; a second test runs the
 * original procedure (pause with writes going on) to show what the drain prevents: the sink task FAILs.
 */
import { pollUntil } from '../../harness/core/poll.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { assertClaim, type Claim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS, describeTable, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { runSql, sectionSql } from '../../harness/scenario/runbook-blocks.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { type DlqRecord, keyValue, readDlq } from '../../harness/scenario/topic-reads.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { Workload, type WorkloadHistory } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'scenario-5-incompatible-type-change');
const procedure = runbookSection('schema-evolution', 'scenario-5-incompatible-type-change/procedure');
const rollback = runbookSection('schema-evolution', 'scenario-5-incompatible-type-change/rollback');
const TABLE = 'customers';
const KEY = 'customer_id';
const COLUMN = 'phone_number';
const FIRST_WORKLOAD_KEY = 1_000_000;

/** Digits only, so that both VARCHAR(20) and BIGINT hold it and its text is the same in both. */
const shape = (_: number, n: number) => ({ name: `writer ${n}`, [COLUMN]: String(5_550_000 + n) });

/** Keys of the writers after each window, clear of the first writer's. */
const SECOND_WRITER_KEY = 2_000_000;
const THIRD_WRITER_KEY = 3_000_000;

function dlqClaim(): Claim {
  const step = procedure.step(5);
  const expected = step.expected.find((e) => /no messages/.test(e));
  if (!expected) throw new Error(`${procedure.file} [${procedure.id}] step 5 no longer expects no DLQ messages`);
  return { runbook: procedure.runbook, file: procedure.file, sectionId: procedure.id, sectionTitle: section.title, line: step.line, text: `Expected: ${expected}` };
}

const dlqSummary = (dlq: DlqRecord[]) => ({
  count: dlq.length,
  keys: [...new Set(dlq.map((m) => keyValue(m.key, KEY)))],
  errors: [...new Set(dlq.map((m) => `${m.exception}: ${m.message.split('\n')[0]}`))],
});

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`procedure and rollback ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;

      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      await source.query('DROP TABLE IF EXISTS customers_backup');
      let workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape, ratePerSecond: 20 });
      const histories: WorkloadHistory[] = [];
      // Let some writes of the old type be applied before the change.
      expect((await awaitDrained(target, TABLE, KEY, await workload.mark())).drained).toBe(true);

      const stopWritesDrainAndPause = async () => {
        histories.push(await workload.stop());
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        await attachJson('last write in the replica', drained);
        expect(drained.drained).toBe(true);
        const lag = await pollUntil({ what: 'sink consumer-group lag 0', limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const l = await kafka.sinkLag(pipeline.sinkName);
          return { done: l.total === 0, seen: `lag ${l.total}`, value: l };
        });
        await attachJson('sink consumer-group lag', lag);
        await connect.pauseConnector(pipeline.sinkName);
        const status = await connect.awaitConnectorState(pipeline.sinkName, 'PAUSED');
        await attachJson('sink status', status);
        expect(status.connector.state).toBe('PAUSED');
      };
      const resume = async (firstKey: number) => {
        await connect.resumeConnector(pipeline.sinkName);
        await attachJson('sink status', await connect.awaitConnectorState(pipeline.sinkName, 'RUNNING'));
        workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey, shape, ratePerSecond: 20 });
      };

      await runbookStep(`1. ${procedure.step(1).title}`, stopWritesDrainAndPause);

      await runbookStep(`2. ${procedure.step(2).title}`, async () => {
        await runSql(source, procedure.stepSql(2, { side: 'source', dialect }), `back up and retype on the source (${dialect})`);
        await attachJson('source column', (await describeTable(source, TABLE)).find((c) => c.column_name === COLUMN));
      });

      await runbookStep(`3. ${procedure.step(3).title}`, async () => {
        await runSql(target, procedure.stepSql(3, { side: 'target' }), 'retype on the replica');
        const column = (await describeTable(target, TABLE)).find((c) => c.column_name === COLUMN);
        await attachJson('replica column', column);
        expect(column?.data_type).toBe('bigint');
      });

      await runbookStep(`4. ${procedure.step(4).title}`, () => resume(SECOND_WRITER_KEY));

      await runbookStep(`5. ${procedure.step(5).title}`, async () => {
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('sink status', status);
        expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
        expect(drained.drained, 'rows of the new type not replicated').toBe(true);
        const dlq = await readDlq(kafka, pipeline.dlqTopic);
        await attachJson('DLQ messages (headers)', dlq.slice(0, 50));
        await attachJson('DLQ summary', dlqSummary(dlq));
        assertClaim(dlqClaim(), dlq.length === 0, `${dlq.length} DLQ messages: ${JSON.stringify(dlqSummary(dlq)).slice(0, 600)}`);
      });

      await runbookStep(`6. ${procedure.step(6).title}`, async () => {
        // Rows up to the window (the writes since then keep changing; the final reconcile covers them).
        const before = await awaitConverged(source, target, [{ table: TABLE, keyRange: { to: [String(SECOND_WRITER_KEY)] } }]);
        await attachJson('reconciliation of the rows written before the window', before.report);
        expect(before.converged, JSON.stringify(before.report.tables[0]?.diffCounts)).toBe(true);
      });

      await runbookStep('Rollback: stop writes, drain and pause the sink', stopWritesDrainAndPause);
      await runbookStep('Rollback: on the source', async () => {
        for (const sql of sectionSql(rollback, 'source', dialect)) await runSql(source, sql, 'rollback on the source');
      });
      await runbookStep('Rollback: on the replica', async () => {
        for (const sql of sectionSql(rollback, 'target', dialect)) await runSql(target, sql, 'rollback on the replica');
        expect((await describeTable(target, TABLE)).find((c) => c.column_name === COLUMN)?.data_type).toBe('character varying');
      });
      await runbookStep('Rollback: resume the sink', () => resume(THIRD_WRITER_KEY));

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const closed = await closeOutWorkload(workload, source, target, { table: TABLE });
        await source.query('DROP TABLE IF EXISTS customers_backup');
        const earlier = await Promise.all(histories.map((h) => checkHistory(h, target)));
        await attachJson('writes before the window and between the windows', earlier);
        const dlq = await readDlq(kafka, pipeline.dlqTopic);
        await attachJson('DLQ messages', dlq.slice(0, 50));
        expect(closed.converged, JSON.stringify(closed.report.tables[0]?.diffCounts)).toBe(true);
        expect(closed.verdict.pass, verdictSummary(closed.verdict)).toBe(true);
        for (const verdict of earlier) expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        expect(dlq).toEqual([]);
      });
    });

    test.skipIf(!variant.runs)(`the original procedure, paused with writes going on: the sink task FAILs ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      await source.query('DROP TABLE IF EXISTS customers_backup');
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape, ratePerSecond: 20 });

      await runbookStep('Original step 1: pause the sink (writes go on)', async () => {
        await connect.pauseConnector(pipeline.sinkName);
        await connect.awaitConnectorState(pipeline.sinkName, 'PAUSED');
        // Writes of the old type queue behind the pause.
        const queued = await pollUntil({ what: 'events queued behind the paused sink', limitMs: lagSloMs(), intervalMs: 250 }, async () => {
          const l = await kafka.sinkLag(pipeline.sinkName);
          return { done: l.total > 0, seen: `lag ${l.total}`, value: l };
        });
        await attachJson('sink consumer-group lag', queued);
      });
      await runbookStep(`Steps 2–3: ${procedure.step(2).title}; ${procedure.step(3).title}`, async () => {
        await runSql(source, procedure.stepSql(2, { side: 'source', dialect }), 'retype on the source');
        await runSql(target, procedure.stepSql(3, { side: 'target' }), 'retype on the replica');
      });
      await runbookStep(`Step 4: ${procedure.step(4).title}`, async () => {
        // resumeConnector waits for RUNNING and throws when the task FAILs instead: that is the observation.
        const resumed = await connect.resumeConnector(pipeline.sinkName).catch((e: Error) => e);
        const failed = await connect.awaitConnectorState(pipeline.sinkName, 'FAILED', CONVERGE_LIMIT_MS).catch((e: Error) => e);
        await attachJson('resume answered', resumed instanceof Error ? resumed.message : resumed);
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('sink status', status);
        const dlq = await readDlq(kafka, pipeline.dlqTopic);
        await attachJson('DLQ messages', dlq.slice(0, 20));
        await workload.stop();
        await source.query('DROP TABLE IF EXISTS customers_backup');
        const trace = status.tasks[0]?.trace ?? '';
        assertClaim(
          section.field('Auto-Handled').claim,
          status.tasks[0]?.state === 'FAILED' && dlq.length === 0,
          `task ${status.tasks[0]?.state}${failed instanceof Error ? ` (${failed.message.slice(0, 200)})` : ''}, ${dlq.length} DLQ messages; trace: ${trace.split('\n').filter((l) => /Caused by|ERROR/.test(l)).slice(0, 3).join(' | ').slice(0, 600)}`,
        );
      });
    });
  }
});

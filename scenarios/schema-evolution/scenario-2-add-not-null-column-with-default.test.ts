/**
 * runbooks/schema-evolution.md — Scenario 2: Add NOT NULL Column with Default.
 * One runbookStep per numbered step of the Procedure, then the Rollback; a workload writes to orders throughout.
 * Step 4's claim (no change events for the existing rows) is checked against the orders topic itself.
 */
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { decisionRow } from '../../harness/runbook/decision-matrix.js';
import { splitSql } from '../../harness/runbook/lint/sql-split.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitColumn, awaitConverged, awaitDrained, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { runSql, stepBlocks } from '../../harness/scenario/runbook-blocks.js';
import { proseClaim } from '../../harness/scenario/runbook-claims.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { readDlq, readTableEvents } from '../../harness/scenario/topic-reads.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'scenario-2-add-not-null-column-with-default');
const procedure = runbookSection('schema-evolution', 'scenario-2-add-not-null-column-with-default/procedure');
const rollback = runbookSection('schema-evolution', 'scenario-2-add-not-null-column-with-default/rollback');
const TABLE = 'orders';
const KEY = 'order_id';
const COLUMN = 'processing_status';
/** The workload's keys start above this; the seed rows (the "existing rows" of step 4) are below it. */
const FIRST_WORKLOAD_KEY = 1_000_000;
const SEED_RANGE = { to: [String(FIRST_WORKLOAD_KEY)] };

const amountOf = (n: number) => ((n % 1000) + 0.5).toFixed(2);

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`procedure and rollback ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const lagMs = lagSloMs();

      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape: (_, n) => ({ customer_id: '1', amount: amountOf(n), notes: `writer ${n}` }), ratePerSecond: 20 });

      await runbookStep(`1. ${procedure.step(1).title}`, () => runSql(source, procedure.stepSql(1, { side: 'source', dialect }), `source DDL (${dialect})`));
      workload.setShape((_, n) => ({ customer_id: '1', amount: amountOf(n), notes: `writer ${n}`, [COLUMN]: n % 2 ? 'shipped' : 'pending' }));

      await runbookStep(`2. ${procedure.step(2).title}`, async () => {
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('sink status', status);
        expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
        const dlq = await readDlq(kafka, pipeline.dlqTopic);
        await attachJson('DLQ messages', dlq);
        expect(dlq).toEqual([]);
      });

      const evolved = await runbookStep(`3. ${procedure.step(3).title}`, async () => {
        const seen = await awaitColumn(target, TABLE, COLUMN, lagMs);
        await attachJson('target columns', seen.columns);
        return seen;
      });
      const row = decisionRow('schema-evolution', 'ADD COLUMN (NOT NULL with default)');
      assertClaim(row.autoHandledClaim(dialect), (row.autoHandled[dialect] === 'yes') === evolved.appeared, `column ${evolved.appeared ? `appeared in the target after ${evolved.seconds.toFixed(1)} s` : `absent after ${lagMs / 1000} s`}`);

      await runbookStep(`4. ${procedure.step(4).title}`, async () => {
        // Everything written before this marker has been applied, so the topic holds every event up to now.
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        expect(drained.drained, 'sink did not drain to the marker').toBe(true);
        const events = await readTableEvents(kafka, pipeline.topicOf(TABLE), KEY);
        const existing = events.filter((e) => e.key !== null && e.key <= FIRST_WORKLOAD_KEY);
        await attachJson('orders topic: events of the rows that existed before the DDL', existing);
        const afterSnapshot = existing.filter((e) => e.op !== 'r');
        assertClaim(
          proseClaim(procedure, 4, 'Filling existing rows with the default writes no change events'),
          afterSnapshot.length === 0,
          `${existing.length} events for the ${snapshot.report.tables[0]!.sourceRows} existing rows, ${afterSnapshot.length} of them after the snapshot (${events.length} events in the topic)`,
        );

        const [check, backfill] = splitSql(stepBlocks(procedure, 4, 'target', dialect)[0]!).map((s) => s.text);
        await runSql(target, check!, 'replica rows without the new column value');
        const before = await target.query(check!);
        await attachJson('rows without status before the backfill', before);
        await runSql(target, backfill!, 'backfill on the replica');
        const after = await target.query(check!);
        await attachJson('rows without status after the backfill', after);
        expect(after[0]!.rows_without_status).toBe('0');

        const dlq = await readDlq(kafka, pipeline.dlqTopic);
        await attachJson('DLQ messages', dlq);
        expect(dlq).toEqual([]);
        // The existing rows (the workload's rows keep changing; the final reconcile covers them).
        const existingRows = await awaitConverged(source, target, [{ table: TABLE, keyRange: SEED_RANGE }]);
        await attachJson('reconciliation of the existing rows', existingRows.report);
        expect(existingRows.converged, JSON.stringify(existingRows.report.tables[0]?.diffCounts)).toBe(true);
      });

      await runbookStep(`Rollback 1. ${rollback.step(1).title}`, async () => {
        await runSql(source, rollback.stepSql(1, { side: 'source', dialect }), 'rollback on the source');
        workload.setShape((_, n) => ({ customer_id: '1', amount: amountOf(n), notes: `writer ${n}` }));
      });
      await runbookStep(`Rollback 2. ${rollback.step(2).title}`, async () => {
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        await attachJson('sink drained past the source DDL', drained);
        expect(drained.drained).toBe(true);
      });
      await runbookStep(`Rollback 3. ${rollback.step(3).title}`, () => runSql(target, rollback.stepSql(3, { side: 'target' }), 'rollback on the replica'));

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const closed = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(closed.converged, JSON.stringify(closed.report.tables[0]?.diffCounts)).toBe(true);
        expect(closed.verdict.pass, verdictSummary(closed.verdict)).toBe(true);
        expect(closed.history.writes.length).toBeGreaterThan(0);
        expect(closed.targetColumns.map((c) => c.column_name), 'the rolled-back column is gone from the target').not.toContain(COLUMN);
      });
    });
  }
});

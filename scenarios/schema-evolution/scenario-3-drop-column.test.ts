/**
 * runbooks/schema-evolution.md — Scenario 3: Drop Column.
 * One runbookStep per numbered step of the Procedure, then the Rollback; a workload writes to products throughout.
 * "Why Manual?" is checked as observed: after the source drop the replica keeps the column, old rows keep their
 * values, new rows get NULL there.
 */
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { decisionRow } from '../../harness/runbook/decision-matrix.js';
import { splitSql } from '../../harness/runbook/lint/sql-split.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitColumn, awaitConverged, awaitDrained, describeTable, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { runSql, sectionSql, stepBlocks } from '../../harness/scenario/runbook-blocks.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { readDlq } from '../../harness/scenario/topic-reads.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'scenario-3-drop-column');
const procedure = runbookSection('schema-evolution', 'scenario-3-drop-column/procedure');
const rollback = runbookSection('schema-evolution', 'scenario-3-drop-column/rollback');
const TABLE = 'products';
const KEY = 'product_id';
const COLUMN = 'deprecated_field';
const FIRST_WORKLOAD_KEY = 1_000_000;
/** The seed row whose deprecated_field holds a value (fixtures/seed/sample-tables.postgres.sql). */
const SEED_WITH_VALUE = { key: '1', value: 'legacy-sku-1' };

const priceOf = (n: number) => ((n % 1000) + 0.25).toFixed(2);
const withColumn = (_: number, n: number) => ({ name: `writer ${n}`, price: priceOf(n), [COLUMN]: `dep ${n}` });
const withoutColumn = (_: number, n: number) => ({ name: `writer ${n}`, price: priceOf(n) });

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`procedure and rollback ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const lagMs = lagSloMs();

      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape: withColumn, ratePerSecond: 20 });

      await runbookStep(`1. ${procedure.step(1).title}`, async () => {
        const [columns, views, relax] = splitSql(stepBlocks(procedure, 1, 'target', dialect)[0]!).map((s) => s.text);
        await runSql(target, columns!, 'columns with that name in the replica');
        const found = await target.query(columns!);
        await attachJson('columns named deprecated_field', found);
        expect(found.map((r) => r.table_name)).toEqual([TABLE]);
        await runSql(target, views!, 'views that use the column');
        const usedBy = await target.query(views!);
        await attachJson('views using deprecated_field', usedBy);
        expect(usedBy).toEqual([]);
        await runSql(target, relax!, 'relax NOT NULL on the replica column');
        const column = (await describeTable(target, TABLE)).find((c) => c.column_name === COLUMN);
        expect(column?.is_nullable).toBe('YES');
      });

      await runbookStep(`2. ${procedure.step(2).title}`, async () => {
        await runSql(source, procedure.stepSql(2, { side: 'source', dialect }), `source DDL (${dialect})`);
        workload.setShape(withoutColumn);
      });

      await runbookStep(`3. ${procedure.step(3).title}`, async () => {
        const marker = await workload.mark();
        const drained = await awaitDrained(target, TABLE, KEY, marker, lagMs);
        await attachJson('sink drained past the source DDL', drained);
        expect(drained.drained, `a row written after the drop not in the target within ${lagMs / 1000} s`).toBe(true);
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('sink status', status);
        expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
        await attachJson('sink consumer-group lag', await kafka.sinkLag(pipeline.sinkName));

        // "Why Manual?": the replica keeps the column; old rows keep their value, new rows get NULL there.
        const columns = (await describeTable(target, TABLE)).map((c) => c.column_name);
        const row = decisionRow('schema-evolution', 'DROP COLUMN');
        const dropped = !columns.includes(COLUMN);
        assertClaim(row.autoHandledClaim(dialect), (row.autoHandled[dialect] === 'yes') === dropped, `after the sink drained, the replica ${dropped ? 'no longer has' : 'still has'} ${COLUMN}`);
        const old = await target.query(`SELECT ${COLUMN} FROM ${TABLE} WHERE ${KEY} = ${SEED_WITH_VALUE.key}`);
        const fresh = await target.query(`SELECT ${COLUMN} FROM ${TABLE} WHERE ${KEY} = ${marker}`);
        await attachJson('replica values after the drop', { seedRow: old, rowWrittenAfterTheDrop: fresh });
        expect(old[0]?.[COLUMN]).toBe(SEED_WITH_VALUE.value);
        expect(fresh[0]?.[COLUMN]).toBeNull();
      });

      await runbookStep(`4. ${procedure.step(4).title}`, () => runSql(target, procedure.stepSql(4, { side: 'target' }), 'drop on the replica'));

      await runbookStep(`5. ${procedure.step(5).title}`, async () => {
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark(), lagMs);
        expect(drained.drained).toBe(true);
        const sourceColumns = (await describeTable(source, TABLE)).map((c) => c.column_name);
        const targetColumns = (await describeTable(target, TABLE)).map((c) => c.column_name);
        await attachJson('columns', { source: sourceColumns, target: targetColumns });
        expect(targetColumns).toEqual(sourceColumns);
        const seed = await awaitConverged(source, target, [{ table: TABLE, keyRange: { to: [String(FIRST_WORKLOAD_KEY)] } }]);
        await attachJson('reconciliation of the seed rows', seed.report);
        expect(seed.converged, JSON.stringify(seed.report.tables[0]?.diffCounts)).toBe(true);
        const dlq = await readDlq(kafka, pipeline.dlqTopic);
        await attachJson('DLQ messages', dlq);
        expect(dlq).toEqual([]);
      });

      // The Rollback has no numbered steps: its blocks in document order, source then replica.
      await runbookStep('Rollback: re-add the column on the source', async () => {
        for (const sql of sectionSql(rollback, 'source', dialect)) await runSql(source, sql, 'rollback on the source');
        workload.setShape(withColumn);
      });
      await runbookStep('Rollback: re-add the column on the replica', async () => {
        // As an operator would: once the writes since the source rollback have replicated.
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        expect(drained.drained).toBe(true);
        const before = await describeTable(target, TABLE);
        await attachJson('replica columns before its rollback SQL', before);
        for (const sql of sectionSql(rollback, 'target', dialect)) await runSql(target, sql, 'rollback on the replica');
        const seen = await awaitColumn(target, TABLE, COLUMN, lagMs);
        expect(seen.appeared).toBe(true);
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        // The drop destroyed deprecated_field's values by design (the rollback restores the column, not its data);
        // the acknowledged-write check covers the columns the whole procedure kept, the reconciliation all of them.
        const closed = await closeOutWorkload(workload, source, target, { table: TABLE }, { onlyColumns: ['name', 'price'] });
        expect(closed.converged, JSON.stringify(closed.report.tables[0]?.diffCounts)).toBe(true);
        expect(closed.verdict.pass, verdictSummary(closed.verdict)).toBe(true);
        expect(closed.history.writes.length).toBeGreaterThan(0);
        expect(closed.targetColumns.map((c) => c.column_name)).toEqual(closed.sourceColumns.map((c) => c.column_name));
      });
    });
  }
});

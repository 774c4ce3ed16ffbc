/**
 * runbooks/schema-evolution.md — Scenario 1: Add Nullable Column.
 * One runbookStep per numbered step of the Procedure, then the Rollback; a workload writes to
 * customers throughout, and every acknowledged write must reach the target in its final state.
 */
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { decisionRow } from '../../harness/runbook/decision-matrix.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { awaitColumn, awaitConverged, awaitDrained, awaitRows, describeTable, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { runSql } from '../../harness/scenario/runbook-blocks.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'scenario-1-add-nullable-column');
const procedure = runbookSection('schema-evolution', 'scenario-1-add-nullable-column/procedure');
const rollback = runbookSection('schema-evolution', 'scenario-1-add-nullable-column/rollback');
const TABLE = 'customers';

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`procedure and rollback ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const sourceBlocks = (n: number) => procedure.step(n).codeBlocks.filter((b) => b.lang === 'sql' && b.side === 'source' && b.dialect === dialect);
      const lagMs = lagSloMs();

      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 20 });

      await runbookStep(`1. ${procedure.step(1).title}`, () => runSql(source, procedure.stepSql(1, { side: 'source', dialect }), `source DDL (${dialect})`));
      workload.setShape((_, n) => ({ name: `writer ${n}`, email_secondary: `w${n}@example.com` }));

      await runbookStep(`2. ${procedure.step(2).title}`, async () => {
        // PostgreSQL: the runbook says no schema-change topic exists; the change rides on the next event.
        const schemaTopicExists = await kafka.exists(pipeline.names.topicPrefix);
        const topics = schemaTopicExists ? await kafka.read(pipeline.names.topicPrefix, { maxMessages: 10, limitMs: 5_000 }) : [];
        await attachJson('schema change topic messages', { topic: pipeline.names.topicPrefix, exists: schemaTopicExists, messages: topics });
        if (dialect === 'postgres') expect(schemaTopicExists, `no schema-change topic ${pipeline.names.topicPrefix}`).toBe(false);
        for (const block of sourceBlocks(2)) await runSql(source, block.value, 'new capture instance');
      });

      const evolved = await runbookStep(`3. ${procedure.step(3).title}`, async () => {
        await runSql(source, procedure.stepSql(3, { side: 'source', dialect }), 'touch one row');
        const seen = await awaitColumn(target, TABLE, 'email_secondary', lagMs);
        await attachJson('target columns', seen.columns);
        return seen;
      });
      const row = decisionRow('schema-evolution', 'ADD COLUMN (nullable)');
      const autoHandled = evolved.appeared;
      assertClaim(row.autoHandledClaim(dialect), (row.autoHandled[dialect] === 'yes') === autoHandled, `column ${autoHandled ? `appeared in the target after ${evolved.seconds.toFixed(1)} s` : `absent after ${lagMs / 1000} s`}`);
      const column = evolved.columns.find((c) => c.column_name === 'email_secondary');
      expect(column?.data_type).toBe('character varying');
      expect(column?.character_maximum_length).toBe('255');

      await runbookStep(`4. ${procedure.step(4).title}`, async () => {
        const [insert, cleanup] = sourceBlocks(4);
        await runSql(source, insert!.value, 'insert test row');
        const targetSql = procedure.step(4).codeBlocks.find((b) => b.side === 'target')!.value;
        const arrived = await awaitRows(target, targetSql, 1, lagMs);
        await attachJson('test row in target', arrived);
        expect(arrived.ok, `test row not in target within ${lagMs / 1000} s`).toBe(true);
        expect(arrived.rows[0]).toMatchObject({ customer_id: '999999', name: 'Test User', email_secondary: 'test@example.com' });
        await runSql(source, cleanup!.value, 'cleanup');
        const gone = await awaitRows(target, targetSql, 0, lagMs);
        expect(gone.ok, 'test row still in target after the cleanup').toBe(true);
      });

      await runbookStep(`5. ${procedure.step(5).title}`, async () => {
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('sink status', status);
        expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
        expect(await kafka.count(pipeline.dlqTopic)).toBe(0);
      });

      const rollbackStep = (n: number) => rollback.step(n);
      const sql = (n: number, where: 'source' | 'target') => rollback.stepSql(n, where === 'target' ? { side: 'target' } : { side: 'source', dialect });
      await runbookStep(`Rollback 1. ${rollbackStep(1).title}`, async () => {
        await runSql(source, sql(1, 'source'), 'rollback on the source');
        workload.setShape((_, n) => ({ name: `writer ${n}` }));
      });
      await runbookStep(`Rollback 2. ${rollbackStep(2).title}`, async () => {
        const drained = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
        await attachJson('sink drained past the source DDL', drained);
        expect(drained.drained).toBe(true);
      });
      await runbookStep(`Rollback 3. ${rollbackStep(3).title}`, () => runSql(target, sql(3, 'target'), 'rollback on the replica'));

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const history = await workload.stop();
        const converged = await awaitConverged(source, target, [{ table: TABLE }]);
        await attachJson('reconciliation report', converged.report);
        const sourceColumns = (await describeTable(source, TABLE)).map((c) => c.column_name);
        const verdict = await checkHistory(history, target, { onlyColumns: sourceColumns });
        await attachJson('acknowledged-write check', { ...verdict, errors: history.errors.slice(0, 20) });
        const columns = await describeTable(target, TABLE);
        await attachJson('target columns after rollback', columns);
        expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
        expect(history.writes.length).toBeGreaterThan(0);
        expect(columns.map((c) => c.column_name), 'the rolled-back column is gone from the target').not.toContain('email_secondary');
      });
    });
  }
});

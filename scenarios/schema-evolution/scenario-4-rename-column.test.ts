/**
 * runbooks/schema-evolution.md — Scenario 4: Rename Column (email_column → email_address on customers).
 * Approach A (shadow column) and Approach B (maintenance window) each run step by step with a workload writing to
 * customers; each Rollback runs where it applies: Approach A's before the old column is dropped (after step 5 there
 * is nothing left to roll back to), Approach B's after its procedure. A last test runs the original Approach B
 * (pause without draining, as the change log's row 4 says the original did) to show what the drain prevents.
 */
import { pollUntil } from '../../harness/core/poll.js';
import { attachJson, attachSql, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { splitSql } from '../../harness/runbook/lint/sql-split.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, historyThroughRename, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitColumn, awaitConverged, awaitDrained, awaitRows, describeTable, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { labelledSql, runSql, sectionSql } from '../../harness/scenario/runbook-blocks.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { readDlq } from '../../harness/scenario/topic-reads.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { type SqlSession } from '../../harness/verify/reconcile/index.js';
import { Workload, type WorkloadHistory } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'scenario-4-rename-column');
const approachA = runbookSection('schema-evolution', 'approach-a-zero-downtime-recommended');
const approachB = runbookSection('schema-evolution', 'approach-b-maintenance-window');
const rollback = runbookSection('schema-evolution', 'scenario-4-rename-column/rollback');
const TABLE = 'customers';
const KEY = 'customer_id';
const OLD = 'email_column';
const NEW = 'email_address';
const FIRST_WORKLOAD_KEY = 1_000_000;
/** Keys of the writers after a maintenance window, clear of the first writer's. */
const SECOND_WRITER_KEY = 2_000_000;
const THIRD_WRITER_KEY = 3_000_000;
const SEED_RANGE = { to: [String(FIRST_WORKLOAD_KEY)] };
/** Lag 0 is a state the sink reaches between polls of the committed offsets; this bounds the wait for it. */
const DRAIN_LIMIT_MS = 60_000;

const writesOld = (_: number, n: number) => ({ name: `writer ${n}`, [OLD]: `w${n}@example.com` });
const writesNew = (_: number, n: number) => ({ name: `writer ${n}`, [NEW]: `w${n}@example.com` });
const writesBoth = (_: number, n: number) => ({ name: `writer ${n}`, [OLD]: `w${n}@example.com`, [NEW]: `w${n}@example.com` });

const columnsOf = async (session: SqlSession) => (await describeTable(session, TABLE)).map((c) => c.column_name);

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`Approach A: shadow column ${variant.label}`, async ({ source, target, pipeline, kafka }) => {
      const dialect = variant.dialect;
      const lagMs = lagSloMs();
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape: writesOld, ratePerSecond: 20 });

      await runbookStep(`1. ${approachA.step(1).title}`, () => runSql(source, approachA.stepSql(1, { side: 'source', dialect }), `add and fill the shadow column (${dialect})`));

      await runbookStep(`2. ${approachA.step(2).title}`, async () => {
        const seen = await awaitColumn(target, TABLE, NEW, lagMs);
        await attachJson('target columns', seen.columns);
        expect(seen.appeared, `${NEW} not in the target within ${lagMs / 1000} s`).toBe(true);
        // Expected: filled where email_column is set (the rows the step's UPDATE copied).
        const unfilled = await awaitRows(target, `SELECT ${KEY} FROM ${TABLE} WHERE ${KEY} < ${FIRST_WORKLOAD_KEY} AND ${OLD} IS NOT NULL AND ${NEW} IS DISTINCT FROM ${OLD}`, 0, lagMs);
        await attachJson('seed rows not yet filled in the target', unfilled);
        expect(unfilled.ok).toBe(true);
      });

      await runbookStep(`3. ${approachA.step(3).title}`, async () => {
        workload.setShape(writesBoth);
        await attachJson('application writes from now on (dual write)', Object.keys(writesBoth(0, 0)));
        await runSql(source, approachA.stepSql(3, { side: 'source', dialect }), 'copy the rows written since step 1');
      });

      await runbookStep(`4. ${approachA.step(4).title}`, async () => {
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        expect(drained.drained).toBe(true);
        const check = approachA.stepSql(4, { side: 'target' });
        await attachSql('both columns agree in the replica', check);
        const unsynced = await target.query(check);
        await attachJson('rows whose columns differ', unsynced);
        expect(unsynced[0]!.unsynced, 'Expected: unsynced = 0').toBe('0');
        const seed = await awaitConverged(source, target, [{ table: TABLE, keyRange: SEED_RANGE }]);
        await attachJson('reconciliation of the seed rows', seed.report);
        expect(seed.converged).toBe(true);
        workload.setShape(writesNew);
        await attachJson('application writes from now on', Object.keys(writesNew(0, 0)));
      });

      await runbookStep(`5. ${approachA.step(5).title}`, async () => {
        await runSql(source, approachA.stepSql(5, { side: 'source', dialect }), 'drop the old column on the source');
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        await attachJson('sink drained past the source DDL', drained);
        expect(drained.drained).toBe(true);
        await runSql(target, approachA.stepSql(5, { side: 'target' }), 'drop the old column on the replica');
      });

      await runbookStep('Nothing lost: every acknowledged email in email_address, final reconciliation', async () => {
        const closed = await closeOutWorkload(workload, source, target, { table: TABLE }, { onlyColumns: ['name'] });
        const verdict = await checkHistory(historyThroughRename(closed.history, OLD, NEW), target, { onlyColumns: ['name', NEW] });
        await attachJson('every acknowledged email, under its new name', verdict);
        expect(closed.converged, JSON.stringify(closed.report.tables[0]?.diffCounts)).toBe(true);
        expect(closed.verdict.pass, verdictSummary(closed.verdict)).toBe(true);
        expect(verdict.pass, `acknowledged emails lost by the rename: ${verdictSummary(verdict)}`).toBe(true);
        expect(await columnsOf(target)).toEqual(await columnsOf(source));
        expect(await kafka.count(pipeline.dlqTopic)).toBe(0);
      });
    });

    test.skipIf(!variant.runs)(`Approach A, rolled back before the old column is dropped ${variant.label}`, async ({ source, target, pipeline, kafka }) => {
      const dialect = variant.dialect;
      const lagMs = lagSloMs();
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape: writesOld, ratePerSecond: 20 });

      await runbookStep(`1. ${approachA.step(1).title}`, () => runSql(source, approachA.stepSql(1, { side: 'source', dialect }), `add and fill the shadow column (${dialect})`));
      await runbookStep(`2. ${approachA.step(2).title}`, async () => {
        const seen = await awaitColumn(target, TABLE, NEW, lagMs);
        expect(seen.appeared).toBe(true);
      });

      const [sourceSql] = sectionSql(rollback, 'source', dialect);
      const [targetSql] = sectionSql(rollback, 'target', dialect);
      await runbookStep('Rollback (Approach A): on the source', () => runSql(source, labelledSql(sourceSql!, 'Approach A'), 'rollback on the source'));
      await runbookStep('Rollback (Approach A): on the replica', async () => {
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        await attachJson('sink drained past the source DDL', drained);
        expect(drained.drained).toBe(true);
        await runSql(target, labelledSql(targetSql!, 'Approach A'), 'rollback on the replica');
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const closed = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(closed.converged, JSON.stringify(closed.report.tables[0]?.diffCounts)).toBe(true);
        expect(closed.verdict.pass, verdictSummary(closed.verdict)).toBe(true);
        expect(closed.targetColumns.map((c) => c.column_name)).toEqual(closed.sourceColumns.map((c) => c.column_name));
        expect(await kafka.count(pipeline.dlqTopic)).toBe(0);
      });
    });

    test.skipIf(!variant.runs)(`Approach B: maintenance window, then its Rollback ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const lagMs = lagSloMs();
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      let workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape: writesOld, ratePerSecond: 20 });
      const histories: WorkloadHistory[] = [];

      const stopWritesAndDrain = async () => {
        histories.push(await workload.stop());
        // The last write in the replica: lag 0 alone can come before the source has published the last writes.
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        await attachJson('last write in the replica', drained);
        expect(drained.drained).toBe(true);
        const lag = await pollUntil({ what: 'sink consumer-group lag 0', limitMs: DRAIN_LIMIT_MS, intervalMs: 500 }, async () => {
          const l = await kafka.sinkLag(pipeline.sinkName);
          return { done: l.total === 0, seen: `lag ${l.total}`, value: l };
        });
        await attachJson('sink consumer-group lag', lag);
        await connect.pauseConnector(pipeline.sinkName);
        const status = await connect.awaitConnectorState(pipeline.sinkName, 'PAUSED');
        await attachJson('sink status', status);
      };

      await runbookStep(`1. ${approachB.step(1).title}`, stopWritesAndDrain);

      await runbookStep(`2. ${approachB.step(2).title}`, async () => {
        await runSql(source, approachB.stepSql(2, { side: 'source', dialect }), `rename on the source (${dialect})`);
        await runSql(target, approachB.stepSql(2, { side: 'target' }), 'rename on the replica');
      });

      await runbookStep(`3. ${approachB.step(3).title}`, async () => {
        await connect.resumeConnector(pipeline.sinkName);
        await attachJson('sink status', await connect.awaitConnectorState(pipeline.sinkName, 'RUNNING'));
        workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: SECOND_WRITER_KEY, shape: writesNew, ratePerSecond: 20 });
      });

      await runbookStep(`4. ${approachB.step(4).title}`, async () => {
        const [insert] = approachB.step(4).codeBlocks.filter((b) => b.lang === 'sql' && b.side === 'source' && b.dialect === dialect);
        await runSql(source, insert!.value, 'test row');
        const [check] = approachB.step(4).codeBlocks.filter((b) => b.side === 'target');
        const [rowSql, oldColumnSql] = splitSql(check!.value).map((s) => s.text);
        const arrived = await awaitRows(target, rowSql!, 1, lagMs);
        await attachJson('test row in the target', arrived);
        expect(arrived.ok, `test row not in the target within ${lagMs / 1000} s`).toBe(true);
        expect(arrived.rows[0]).toMatchObject({ customer_id: '999998', [NEW]: 'rename-test@example.com' });
        await awaitDrained(target, TABLE, KEY, await workload.mark());
        const old = await target.query(oldColumnSql!);
        await attachJson('email_column in the target', old);
        expect(old[0]!.old_column, 'the old column came back in the target').toBe('0');
        await source.query(`DELETE FROM ${TABLE} WHERE ${KEY} = 999998`);
      });

      const [sourceSql] = sectionSql(rollback, 'source', dialect);
      const [targetSql] = sectionSql(rollback, 'target', dialect);
      await runbookStep('Rollback (Approach B): stop writes, drain and pause the sink', stopWritesAndDrain);
      await runbookStep('Rollback (Approach B): rename back on both sides', async () => {
        await runSql(source, labelledSql(sourceSql!, 'Approach B'), 'rollback on the source');
        await runSql(target, labelledSql(targetSql!, 'Approach B'), 'rollback on the replica');
      });
      await runbookStep('Rollback (Approach B): resume the sink', async () => {
        await connect.resumeConnector(pipeline.sinkName);
        await attachJson('sink status', await connect.awaitConnectorState(pipeline.sinkName, 'RUNNING'));
        workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: THIRD_WRITER_KEY, shape: writesOld, ratePerSecond: 20 });
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write, under the final column name', async () => {
        const closed = await closeOutWorkload(workload, source, target, { table: TABLE });
        const [beforeWindow, betweenWindows] = histories;
        const first = await checkHistory(beforeWindow!, target);
        const second = await checkHistory(betweenWindows!, target, { columnMap: { [NEW]: OLD } });
        await attachJson('writes before the window, and between the window and the rollback (email_address → email_column)', { first, second });
        expect(closed.converged, JSON.stringify(closed.report.tables[0]?.diffCounts)).toBe(true);
        expect(closed.verdict.pass, verdictSummary(closed.verdict)).toBe(true);
        expect(first.pass, verdictSummary(first)).toBe(true);
        expect(second.pass, verdictSummary(second)).toBe(true);
        expect(closed.targetColumns.map((c) => c.column_name)).toEqual(closed.sourceColumns.map((c) => c.column_name));
        const dlq = await readDlq(kafka, pipeline.dlqTopic);
        await attachJson('DLQ messages', dlq);
        expect(dlq).toEqual([]);
      });
    });

    test.skipIf(!variant.runs)(`Approach B as the original had it, paused without draining: queued events re-add the old column ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const claim = changeLogClaim('schema-evolution', 4, 'Drain the sink to zero lag first, or queued events re-add the old column');
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape: writesOld, ratePerSecond: 20 });

      await runbookStep('Original step 1: pause the sink (writes go on, no drain)', async () => {
        await connect.pauseConnector(pipeline.sinkName);
        await connect.awaitConnectorState(pipeline.sinkName, 'PAUSED');
        const queued = await pollUntil({ what: 'events queued behind the paused sink', limitMs: lagSloMs(), intervalMs: 250 }, async () => {
          const l = await kafka.sinkLag(pipeline.sinkName);
          return { done: l.total > 0, seen: `lag ${l.total}`, value: l };
        });
        await attachJson('sink consumer-group lag when renaming', queued);
      });
      await runbookStep(`Original step 2: ${approachB.step(2).title}`, async () => {
        await runSql(source, approachB.stepSql(2, { side: 'source', dialect }), `rename on the source (${dialect})`);
        workload.setShape(writesNew);
        await runSql(target, approachB.stepSql(2, { side: 'target' }), 'rename on the replica');
      });
      await runbookStep(`Original step 3: ${approachB.step(3).title}`, async () => {
        await connect.resumeConnector(pipeline.sinkName);
        expect((await awaitDrained(target, TABLE, KEY, await workload.mark())).drained).toBe(true);
      });
      await runbookStep('What the drain prevents', async () => {
        await workload.stop();
        const columns = await columnsOf(target);
        await attachJson('target columns', columns);
        const misplaced = await target.query(`SELECT count(*)::text AS rows FROM ${TABLE} WHERE ${OLD} IS NOT NULL AND ${NEW} IS NULL`);
        await attachJson('rows whose email went to the re-added old column', misplaced);
        const { report } = await awaitConverged(source, target, [{ table: TABLE }], lagSloMs());
        await attachJson('reconciliation report', report);
        assertClaim(claim, columns.includes(OLD), `after renaming with events queued, the replica's columns are ${columns.join(', ')}; ${misplaced[0]!.rows} rows hold their email in ${OLD}`);
      });
    });
  }
});

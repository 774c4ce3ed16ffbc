/**
 * runbooks/schema-evolution.md — Scenario 7: Complex Multi-Step Migration (customer_name → first_name, last_name).
 * The procedure runs step by step with a workload writing to customers; both connectors are paused for the data
 * migration. A second test runs steps 1–7 and then the Rollback, which applies until step 8 drops customer_name.
 */
import { type Pipeline } from '../../harness/fixtures/pipeline.js';
import { type ConnectClient } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { splitSql } from '../../harness/runbook/lint/sql-split.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitColumn, awaitConverged, awaitDrained, awaitDrainedAfterResume, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { runSql, stepBlocks } from '../../harness/scenario/runbook-blocks.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { readDlq } from '../../harness/scenario/topic-reads.js';
import { describe, expect, type KafkaFixture, type SourceDialect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { reconcileSessions, type SqlSession } from '../../harness/verify/reconcile/index.js';
import { Workload, type WorkloadHistory } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'scenario-7-complex-multi-step-migration');
const procedure = runbookSection('schema-evolution', 'scenario-7-complex-multi-step-migration/procedure');
const rollback = runbookSection('schema-evolution', 'scenario-7-complex-multi-step-migration/rollback');
const TABLE = 'customers';
const KEY = 'customer_id';
const FIRST_WORKLOAD_KEY = 1_000_000;

const writesFullName = (_: number, n: number) => ({ name: `writer ${n}`, customer_name: `First${n} Last${n}` });
const writesSplitName = (_: number, n: number) => ({ name: `writer ${n}`, first_name: `First${n}`, last_name: `Last${n}` });
/** The application after step 7: the new columns, and customer_name too until step 8 (the Rollback needs it). */
const writesAll = (_: number, n: number) => ({ name: `writer ${n}`, customer_name: `First${n} Last${n}`, first_name: `First${n}`, last_name: `Last${n}` });
/** Keys of the writer after the window, clear of the first writer's. */
const SECOND_WRITER_KEY = 2_000_000;

/** The runbook's split (first word, the rest), applied to what each key's last write held. */
function historyThroughSplit(history: WorkloadHistory): WorkloadHistory {
  const finalState = new Map<number, Record<string, string> | null>();
  for (const write of history.writes) {
    if (write.row === null) {
      finalState.set(write.key, null);
      continue;
    }
    const { customer_name: full, ...rest } = write.row;
    const space = full?.indexOf(' ') ?? -1;
    const split: Record<string, string> = full === undefined ? {} : space > 0 ? { first_name: full.slice(0, space), last_name: full.slice(space + 1) } : { first_name: full, last_name: '' };
    finalState.set(write.key, { ...split, ...rest });
  }
  return { ...history, finalState };
}

interface Context {
  dialect: SourceDialect;
  source: SqlSession;
  target: SqlSession;
  workload: Workload;
  /** The writes before the window (step 3 stops them). */
  before?: WorkloadHistory;
}

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    const setUp = async ({ source, target, pipeline }: { source: SqlSession; target: SqlSession; pipeline: { deploy(o: { tables: string[] }): Promise<unknown> } }) => {
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      return Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape: writesFullName, ratePerSecond: 20 });
    };

    /** Steps 1–7, shared by both tests. */
    const stepsOneToSeven = async (ctx: Context, fixtures: { connect: ConnectClient; pipeline: Pipeline; kafka: KafkaFixture }) => {
      const { dialect, source, target, workload } = ctx;
      const { connect, pipeline, kafka } = fixtures;
      const lagMs = lagSloMs();

      await runbookStep(`1. ${procedure.step(1).title}`, async () => {
        // The plan's rollback must exist for this dialect before anything runs.
        await attachText('plan', procedure.step(1).text);
        expect(rollback.blocks({ lang: 'sql', side: 'source', dialect }).length).toBeGreaterThan(0);
      });

      await runbookStep(`2. ${procedure.step(2).title}`, async () => {
        await runSql(source, procedure.stepSql(2, { side: 'source', dialect }), `new columns on the source (${dialect})`);
        // "The replica gets the columns with the next replicated change of customers."
        const seen = await awaitColumn(target, TABLE, 'last_name', lagMs);
        await attachJson('target columns', seen.columns);
        expect(seen.appeared, `new columns not in the target within ${lagMs / 1000} s of the next change`).toBe(true);
      });

      await runbookStep(`3. ${procedure.step(3).title}`, async () => {
        ctx.before = await workload.stop();
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        await attachJson('last write in the replica', drained);
        expect(drained.drained).toBe(true);
        for (const name of [pipeline.sourceName, pipeline.sinkName]) {
          await connect.pauseConnector(name);
          await attachJson(`${name} status`, await connect.awaitConnectorState(name, 'PAUSED'));
        }
      });

      await runbookStep(`4. ${procedure.step(4).title}`, async () => {
        const [update, sample] = splitSql(stepBlocks(procedure, 4, 'source', dialect)[0]!).map((s) => s.text);
        await runSql(source, update!, 'split the name on the source');
        const rows = await source.query(sample!);
        await attachJson('sample after the split', rows);
        expect(rows.find((r) => r.customer_name === 'Ada Lovelace')).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace' });
      });

      await runbookStep(`5. ${procedure.step(5).title}`, () => runSql(target, procedure.stepSql(5, { side: 'target' }), 'the same split on the replica'));

      await runbookStep(`6. ${procedure.step(6).title}`, async () => {
        const counts = await reconcileSessions(source, target, [{ table: TABLE }], { mode: 'row-count' });
        await attachJson('reconcile --row-count-only', counts);
        const { converged, report } = await awaitConverged(source, target, [{ table: TABLE }], lagMs);
        await attachJson('reconcile --checksum', report);
        expect(counts.tables[0]!.match, 'row counts differ while paused').toBe(true);
        expect(converged, `source and replica differ after both migrations: ${JSON.stringify(report.tables[0]?.diffCounts)}`).toBe(true);
      });

      await runbookStep(`7. ${procedure.step(7).title}`, async () => {
        for (const name of [pipeline.sourceName, pipeline.sinkName]) {
          await connect.resumeConnector(name);
          await attachJson(`${name} status`, await connect.awaitConnectorState(name, 'RUNNING'));
        }
        ctx.workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: SECOND_WRITER_KEY, shape: writesAll, ratePerSecond: 20 });
        // Within the lag SLO after the resume, and nothing restarted: a late marker fails here with where it stood.
        const drained = await awaitDrainedAfterResume({ source, target, kafka, connect, pipeline }, TABLE, KEY, await ctx.workload.mark(), lagMs);
        expect(drained.drained, drained.reason).toBe(true);
      });
    };

    test.skipIf(!variant.runs)(`procedure ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const workload = await setUp({ source, target, pipeline });
      const ctx: Context = { dialect: variant.dialect, source, target, workload };
      await stepsOneToSeven(ctx, { connect, pipeline, kafka });

      await runbookStep(`8. ${procedure.step(8).title}`, async () => {
        const workload = ctx.workload;
        workload.setShape(writesSplitName);
        await runSql(source, procedure.stepSql(8, { side: 'source', dialect: variant.dialect }), 'drop customer_name on the source');
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        await attachJson('sink drained past the source DDL', drained);
        expect(drained.drained).toBe(true);
        await runSql(target, procedure.stepSql(8, { side: 'target' }), 'drop customer_name on the replica');
      });

      await runbookStep('Nothing lost: every acknowledged name in first_name/last_name, final reconciliation', async () => {
        const closed = await closeOutWorkload(ctx.workload, source, target, { table: TABLE }, { onlyColumns: ['name'] });
        const only = { onlyColumns: ['name', 'first_name', 'last_name'] };
        const split = await checkHistory(historyThroughSplit(closed.history), target, only);
        const before = await checkHistory(historyThroughSplit(ctx.before!), target, only);
        await attachJson('every acknowledged name, split (after the window, before it)', { split, before });
        expect(before.pass, `acknowledged names written before the window lost: ${verdictSummary(before)}`).toBe(true);
        expect(closed.converged, JSON.stringify(closed.report.tables[0]?.diffCounts)).toBe(true);
        expect(closed.verdict.pass, verdictSummary(closed.verdict)).toBe(true);
        expect(split.pass, `acknowledged names lost by the migration: ${verdictSummary(split)}`).toBe(true);
        expect(closed.targetColumns.map((c) => c.column_name)).toEqual(closed.sourceColumns.map((c) => c.column_name));
        expect(await readDlq(kafka, pipeline.dlqTopic)).toEqual([]);
      });
    });

    test.skipIf(!variant.runs)(`rolled back after step 7 ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const workload = await setUp({ source, target, pipeline });
      const ctx: Context = { dialect: variant.dialect, source, target, workload };
      await stepsOneToSeven(ctx, { connect, pipeline, kafka });

      ctx.workload.setShape(writesFullName);
      await runbookStep('Rollback: on the source', () => runSql(source, rollback.blocks({ lang: 'sql', side: 'source', dialect: variant.dialect }).map((b) => b.value).join('\n'), 'rollback on the source'));
      await runbookStep('Rollback: on the replica', async () => {
        const drained = await awaitDrained(target, TABLE, KEY, await ctx.workload.mark());
        await attachJson('sink drained past the source DDL', drained);
        expect(drained.drained).toBe(true);
        await runSql(target, rollback.blocks({ lang: 'sql', side: 'target' }).map((b) => b.value).join('\n'), 'rollback on the replica');
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const closed = await closeOutWorkload(ctx.workload, source, target, { table: TABLE });
        const before = await checkHistory(ctx.before!, target);
        await attachJson('writes before the window', before);
        expect(before.pass, verdictSummary(before)).toBe(true);
        expect(closed.converged, JSON.stringify(closed.report.tables[0]?.diffCounts)).toBe(true);
        expect(closed.verdict.pass, verdictSummary(closed.verdict)).toBe(true);
        expect(closed.targetColumns.map((c) => c.column_name)).toEqual(closed.sourceColumns.map((c) => c.column_name));
        expect(await readDlq(kafka, pipeline.dlqTopic)).toEqual([]);
      });
    });
  }
});


/**
 * runbooks/schema-evolution.md — Rollback Procedures: Rollback Decision Tree.
 * One test per branch. Each makes the branch's condition happen for real after a schema change on
 * customers (Scenario 1's ADD COLUMN email_secondary), then carries out the branch's actions in the
 * tree's order, as the tree lists them, while a workload writes to the table. The outcome: the sink
 * RUNNING, the replica equal to the source (columns included), every acknowledged write in it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import type { PostgresTools, StackEndpoints } from '../../harness/env/stack.js';
import type { Pipeline } from '../../harness/fixtures/pipeline.js';
import { summariseState, type ConnectClient, type ConnectorStatus } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { assertClaim, type Claim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS, describeTable, lagSloMs, resetSampleTables, runSql } from '../../harness/scenario/kit.js';
import { decisionTree, pauseConnectorOnly, restartFailedTasks, runShellLine, type ShellContext, type TreeBranch } from '../../harness/scenario/rollback-kit.js';
import { describe, expect, kafkaReader, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { reconcileSessions, type SqlSession } from '../../harness/verify/reconcile/index.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'rollback-decision-tree');
const TABLE = 'customers';
const KEY = 'customer_id';
const COLUMN = 'email_secondary';
// Scenario 1's change and its rollback (PostgreSQL source).
const CHANGE_SQL = `ALTER TABLE public.${TABLE} ADD COLUMN ${COLUMN} VARCHAR(255) NULL`;
const SOURCE_ROLLBACK_SQL = `ALTER TABLE public.${TABLE} DROP COLUMN IF EXISTS ${COLUMN}`;
const REPLICA_ROLLBACK_SQL = `ALTER TABLE ${TABLE} DROP COLUMN IF EXISTS ${COLUMN}`;
/** Stand-in for the tree's "within 1 hour": several lag SLOs of watching, every poll healthy. */
const MONITOR_WINDOW_MS = 3 * lagSloMs();
/** How wide the minor branch's source column becomes, and a value only the wider column holds. */
const WIDE = 400;
const LONG_NAME = 'x'.repeat(300);

const tree = decisionTree(section.codeBlocks.find((b) => b.lang === 'text')!);
function branch(pattern: RegExp): TreeBranch {
  const found = tree.find((b) => pattern.test(b.condition));
  if (!found) throw new Error(`${section.file} [${section.id}] has no branch matching ${pattern}; branches: ${tree.map((b) => b.condition).join(' | ')}`);
  return found;
}
function branchClaim(b: TreeBranch): Claim {
  return { runbook: section.runbook, file: section.file, sectionId: section.id, sectionTitle: section.title, line: b.line, text: `${b.condition} → ${b.actions.join('; ')}` };
}

interface Fixtures {
  source: SqlSession;
  target: SqlSession;
  pipeline: Pipeline;
  connect: ConnectClient;
  kafka: ReturnType<typeof kafkaReader>;
  endpoints: StackEndpoints;
  pgTools: PostgresTools;
}

/** What every branch starts from: sample tables, the pipeline, the change applied, a workload writing the new shape. */
async function start(fx: Fixtures, options: { workloadShape?: (key: number, n: number) => Record<string, string> } = {}) {
  const { source, target, pipeline } = fx;
  await resetSampleTables(source, target);
  await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
  const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
  expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
  const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 20 });
  // A failed step must not leave the writer running into the next test's tables.
  onTestFinished(async () => void (await workload.stop()));
  return workload;
}

/** The outcome every branch must reach; `columnGone` for branches that roll the change back. */
async function outcome(fx: Fixtures, workload: Workload, expectColumn: boolean, b: TreeBranch) {
  const { source, target, connect, pipeline, kafka } = fx;
  await runbookStep(`Outcome of "${b.condition}": sink RUNNING, replica equal to the source, nothing lost`, async () => {
    const history = await workload.stop();
    const status = await connect.awaitConnectorState(pipeline.sinkName, 'RUNNING');
    await attachJson('sink status', status);
    const converged = await awaitConverged(source, target, [{ table: TABLE }]);
    await attachJson('reconciliation report', converged.report);
    const sourceColumns = (await describeTable(source, TABLE)).map((c) => c.column_name);
    const targetColumns = (await describeTable(target, TABLE)).map((c) => c.column_name);
    const verdict = await checkHistory(history, target, { onlyColumns: sourceColumns });
    const dlq = await kafka.count(pipeline.dlqTopic);
    await attachJson('acknowledged-write check', { ...verdict, dlqMessages: dlq, sourceColumns, targetColumns, errors: history.errors.slice(0, 20) });
    expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts)).toBe(true);
    expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
    expect(history.writes.length).toBeGreaterThan(0);
    expect(dlq, 'nothing went to the DLQ').toBe(0);
    assertClaim(
      branchClaim(b),
      targetColumns.includes(COLUMN) === expectColumn && sourceColumns.includes(COLUMN) === expectColumn,
      `after the actions: ${COLUMN} ${sourceColumns.includes(COLUMN) ? 'in' : 'not in'} the source, ${targetColumns.includes(COLUMN) ? 'in' : 'not in'} the replica (expected ${expectColumn ? 'in both' : 'in neither'})`,
    );
  });
}

/** Polls the sink over a window; true when every poll saw it RUNNING. */
async function healthyFor(fx: Fixtures, windowMs: number): Promise<{ healthy: boolean; polls: number; last: ConnectorStatus }> {
  let polls = 0;
  let last = await fx.connect.getConnectorStatus(fx.pipeline.sinkName);
  try {
    await pollUntil({ what: 'the sink to leave RUNNING', limitMs: windowMs, intervalMs: 1_000 }, async () => {
      last = await fx.connect.getConnectorStatus(fx.pipeline.sinkName);
      polls++;
      return { done: summariseState(last) !== 'RUNNING', seen: summariseState(last) };
    });
    return { healthy: false, polls, last };
  } catch {
    return { healthy: true, polls, last };
  }
}

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`no issues: keep monitoring, no rollback ${variant.label}`, async ({ source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 }) => {
      const fx: Fixtures = { source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 };
      const b = branch(/^No issues/i);
      const { source, target, kafka, pipeline } = fx;
      const workload = await start(fx);
      await runbookStep('Schema change deployed (Scenario 1: ADD COLUMN, nullable)', async () => {
        await runSql(source, CHANGE_SQL, 'the change on the source');
        workload.setShape((_, n) => ({ name: `writer ${n}`, [COLUMN]: `w${n}@example.com` }));
      });
      await runbookStep(`Condition: ${b.condition}`, async () => {
        const watched = await healthyFor(fx, MONITOR_WINDOW_MS);
        const dlq = await kafka.count(pipeline.dlqTopic);
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark(), lagSloMs());
        await attachJson('monitoring window', { windowSeconds: MONITOR_WINDOW_MS / 1000, polls: watched.polls, healthy: watched.healthy, dlqMessages: dlq, drainedWithinLagSlo: drained });
        expect(watched.healthy && dlq === 0 && drained.drained, 'no issue during the window').toBe(true);
      });
      for (const action of b.actions) {
        await runbookStep(action, async () => {
          expect(action).toMatch(/keep monitoring/i);
          await attachText('action', 'nothing rolled back; the change stays');
        });
      }
      await outcome(fx, workload, true, b);
    });

    test.skipIf(!variant.runs)(`minor issues: fix the replica schema only, restart failed tasks ${variant.label}`, async ({ source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 }) => {
      const fx: Fixtures = { source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 };
      const b = branch(/^Minor/i);
      const { source, target, connect, kafka, pipeline } = fx;
      const workload = await start(fx);
      await runbookStep('Schema change deployed: the source column widened (the sink never retypes the replica column)', async () => {
        await runSql(source, `ALTER TABLE public.${TABLE} ALTER COLUMN name TYPE VARCHAR(${WIDE})`, 'the change on the source');
        workload.setShape((_, n) => ({ name: n % 4 === 0 ? `${n} ${LONG_NAME}` : `writer ${n}` }));
      });
      await runbookStep(`Condition: ${b.condition}`, async () => {
        const failed = await pollUntil({ what: 'the sink task to fail on a value too long for the replica', limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const status = await connect.getConnectorStatus(pipeline.sinkName);
          return { done: summariseState(status) === 'FAILED', seen: summariseState(status), value: status };
        });
        const dlq = await kafka.count(pipeline.dlqTopic);
        await attachJson('sink status', failed);
        await attachJson('DLQ messages', { count: dlq });
        expect(failed.tasks.map((t) => t.state)).toEqual(['FAILED']);
      });
      for (const action of b.actions) {
        await runbookStep(action, async () => {
          if (/fix the replica schema/i.test(action)) await runSql(target, `ALTER TABLE ${TABLE} ALTER COLUMN name TYPE VARCHAR(${WIDE})`, 'widen the replica column to the source width');
          else if (/restart failed tasks/i.test(action)) {
            const restarted = await restartFailedTasks(connect, pipeline.sinkName);
            await attachJson('sink after restart --include-tasks --only-failed', restarted);
            expect(restarted.running, `sink not RUNNING after the restart: ${restarted.status.tasks.map((t) => t.trace?.split('\n').slice(0, 3).join(' ')).join(' | ')}`).toBe(true);
          }
          else throw new Error(`action not known to this scenario: ${action}`);
        });
      }
      await outcome(fx, workload, false, b);
    });

    test.skipIf(!variant.runs)(`major issues: connector FAILED, roll back both schemas ${variant.label}`, async ({ source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 }) => {
      const fx: Fixtures = { source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 };
      const b = branch(/^Major/i);
      const { source, target, connect, pipeline } = fx;
      const workload = await start(fx);
      await runbookStep('Schema change deployed: the replica column pre-created NOT NULL, the source column nullable', async () => {
        await runSql(target, `ALTER TABLE ${TABLE} ADD COLUMN ${COLUMN} VARCHAR(255) NOT NULL DEFAULT ''`, 'the replica side of the change (a mistake)');
        await runSql(source, CHANGE_SQL, 'the change on the source');
        // Half the writes leave the new column NULL: the replica refuses them.
        workload.setShape((_, n): Record<string, string> => (n % 2 ? { name: `writer ${n}`, [COLUMN]: `w${n}@example.com` } : { name: `writer ${n}` }));
      });
      await runbookStep(`Condition: ${b.condition}`, async () => {
        const failed = await pollUntil({ what: 'the sink task to fail on a NULL for the NOT NULL replica column', limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const status = await connect.getConnectorStatus(pipeline.sinkName);
          return { done: summariseState(status) === 'FAILED', seen: summariseState(status), value: status };
        });
        await attachJson('sink status', failed);
        expect(failed.tasks.map((t) => t.state)).toEqual(['FAILED']);
      });
      for (const action of b.actions) await runbookStep(action, () => rollbackAction(fx, workload, action));
      await outcome(fx, workload, false, b);
    });

    test.skipIf(!variant.runs)(`critical issues: corruption confirmed, restore and replay ${variant.label}`, async ({ source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 }) => {
      const fx: Fixtures = { source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 };
      const b = branch(/^Critical/i);
      const { source, target, kafka, pipeline } = fx;
      const workdir = mkdtempSync(path.join(tmpdir(), 'rh-tree-'));
      const workload = await start(fx);
      const state: CriticalState = { workdir, offset: -1 };
      try {
        await runbookStep('Before the change: backup of the replica table, the sink offset noted first', async () => {
          await workload.mark();
          const t = pipeline.topicOf(TABLE);
          const noted = await pollUntil({ what: `the sink's committed offset on ${t}`, limitMs: lagSloMs() * 2, intervalMs: 500 }, async () => {
            const p = (await kafka.sinkLag(pipeline.sinkName)).partitions.find((x) => x.topic === t);
            return { done: (p?.committed ?? 0) > 0, seen: JSON.stringify(p), value: p };
          });
          state.offset = noted!.committed;
          const dump = await runShellLine(shellOf(fx, state), `pg_dump "$TARGET_URL" --format=custom --table=${TABLE} --file=backup_${TABLE}.dump`);
          await attachJson('noted offset and dump', { noted, dump: { code: dump.code, stderr: dump.stderr } });
          expect(dump.code, dump.stderr).toBe(0);
        });
        await runbookStep('Schema change deployed (Scenario 1: ADD COLUMN, nullable)', async () => {
          await runSql(source, CHANGE_SQL, 'the change on the source');
          workload.setShape((_, n) => ({ name: `writer ${n}`, [COLUMN]: `w${n}@example.com` }));
        });
        await runbookStep(`Condition: ${b.condition}`, async () => {
          await awaitDrained(target, TABLE, KEY, await workload.mark());
          await runSql(target, `UPDATE ${TABLE} SET name = 'corrupted' WHERE ${KEY} < 1000000; DELETE FROM ${TABLE} WHERE ${KEY} = 2`, 'corruption on the replica');
          const report = await reconcileSessions(source, target, [{ table: TABLE, keyRange: { to: ['1000000'] } }]);
          await attachJson('reconciliation confirms the corruption', report);
          expect(report.tables[0]!.diffCounts.differing + report.tables[0]!.diffCounts.missingInTarget).toBeGreaterThan(0);
        });
        for (const action of b.actions) await runbookStep(action, () => rollbackAction(fx, workload, action, state));
      } finally {
        rmSync(workdir, { recursive: true, force: true });
      }
      await outcome(fx, workload, false, b);
    });
  }
});

interface CriticalState {
  workdir: string;
  offset: number;
}

function shellOf(fx: Fixtures, state: CriticalState): ShellContext {
  return {
    stateDir: inject('stackStateDir'),
    cwd: state.workdir,
    variables: { TARGET_URL: fx.endpoints.target.url },
    tools: { pg_dump: fx.pgTools.pgDump, pg_restore: fx.pgTools.pgRestore, psql: fx.pgTools.psql },
    word: (w) => w,
  };
}

/** One action of a rollback branch, recognised by its wording in the tree; an unknown action fails the test. */
async function rollbackAction(fx: Fixtures, workload: Workload, action: string, state?: CriticalState): Promise<void> {
  const { source, target, connect, pipeline, kafka } = fx;
  const both = [pipeline.sourceName, pipeline.sinkName];
  if (/^pause connectors/i.test(action)) {
    for (const name of both) await attachJson(`${name} paused`, await pauseConnectorOnly(connect, name));
  } else if (/roll back the replica schema/i.test(action)) {
    await runSql(target, REPLICA_ROLLBACK_SQL, 'rollback on the replica');
  } else if (/roll back the source schema/i.test(action)) {
    workload.setShape((_, n) => ({ name: `writer ${n}` }));
    await runSql(source, SOURCE_ROLLBACK_SQL, 'rollback on the source');
  } else if (/resume connectors/i.test(action) || /resume after validation/i.test(action)) {
    for (const name of both) {
      const status = await connect.getConnectorStatus(name);
      if (status.connector.state === 'PAUSED' || status.connector.state === 'STOPPED') await attachJson(`${name} resumed`, await connect.resumeConnector(name).catch((e: Error) => ({ error: e.message })));
    }
    if (/restart failed tasks/i.test(action) || /resume after validation/i.test(action)) {
      const status = await connect.getConnectorStatus(pipeline.sinkName);
      if (summariseState(status) === 'FAILED') {
        const restarted = await restartFailedTasks(connect, pipeline.sinkName);
        await attachJson('sink after restart --include-tasks --only-failed', restarted);
        expect(restarted.running, `sink not RUNNING after the restart: ${restarted.status.tasks.map((t) => t.trace?.split('\n').slice(0, 3).join(' ')).join(' | ')}`).toBe(true);
      }
    }
  } else if (/wait for the sink to drain/i.test(action)) {
    const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
    await attachJson('sink drained', drained);
    expect(drained.drained).toBe(true);
  } else if (/restore the replica table from backup/i.test(action) && state) {
    const restore = await runShellLine(shellOf(fx, state), `pg_restore --dbname="$TARGET_URL" --clean --if-exists backup_${TABLE}.dump`);
    await attachJson('pg_restore', { code: restore.code, stderr: restore.stderr });
    expect(restore.code, restore.stderr).toBe(0);
  } else if (/replay kafka from an offset/i.test(action) && state) {
    const topic = pipeline.topicOf(TABLE);
    await attachJson('sink stopped', await connect.stopConnector(pipeline.sinkName));
    await connect.patchOffsets(pipeline.sinkName, [{ partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: state.offset } }]);
    const rewound = (await kafka.sinkLag(pipeline.sinkName)).partitions.find((p) => p.topic === topic);
    await attachJson('sink offset after the reset', rewound);
    expect(rewound?.committed).toBe(state.offset);
  } else {
    throw new Error(`action not known to this scenario: ${action}`);
  }
}

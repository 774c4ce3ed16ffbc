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
import { type PostgresTools, type StackEndpoints } from '../../harness/env/stack.js';
import { type Pipeline } from '../../harness/fixtures/pipeline.js';
import { type ConnectClient, type ConnectorStatus, summariseState } from '../../harness/pipeline/connect-client.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { assertClaim, type Claim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { restartFailedTasks, watchState } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS, describeTable, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { decisionTree, runSql, type TreeBranch } from '../../harness/scenario/runbook-blocks.js';
import { runShellLine, type ShellContext } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
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

/** The scenario's own implementation of each action of a branch, in the tree's order, keyed by the action as the tree words it. */
type Actions = [action: string, run: () => Promise<void>][];

/**
 * Runs a branch's actions as one runbookStep each. The list must be the tree's, word for word and in order:
 * an edited tree makes this scenario out of date, and it says so rather than running the old actions.
 */
async function runActions(b: TreeBranch, actions: Actions): Promise<void> {
  expect(b.actions, `${section.file}:${b.line} "${b.condition}": the tree's actions, each implemented below`).toEqual(actions.map(([action]) => action));
  for (const [action, run] of actions) await runbookStep(action, run);
}

async function columnsOf(session: SqlSession): Promise<string[]> {
  return (await describeTable(session, TABLE)).map((c) => c.column_name);
}

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`no issues: keep monitoring, no rollback ${variant.label}`, async ({ source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 }) => {
      const fx: Fixtures = { source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 };
      const b = branch(/^No issues/i);
      const { source, target } = fx;
      const workload = await start(fx);
      await runbookStep('Schema change deployed (Scenario 1: ADD COLUMN, nullable)', async () => {
        await runSql(source, CHANGE_SQL, 'the change on the source');
        workload.setShape((_, n) => ({ name: `writer ${n}`, [COLUMN]: `w${n}@example.com` }));
      });
      await runbookStep(`Condition: ${b.condition}`, () => expectNoIssue(fx, workload, 'during the window'));
      await runActions(b, [
        ['Keep monitoring (no rollback)', async () => {
          await expectNoIssue(fx, workload, 'while monitoring goes on');
          expect(await columnsOf(source), 'nothing rolled back: the source keeps the column').toContain(COLUMN);
          expect(await columnsOf(target), 'nothing rolled back: the replica keeps the column').toContain(COLUMN);
        }],
      ]);
      await outcome(fx, workload, true, b);
    });

    test.skipIf(!variant.runs)(`minor issues: fix the replica schema only, restart failed tasks ${variant.label}`, async ({ source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 }) => {
      const fx: Fixtures = { source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 };
      const b = branch(/^Minor/i);
      const { source, target, kafka, pipeline } = fx;
      const workload = await start(fx);
      await runbookStep('Schema change deployed: the source column widened (the sink never retypes the replica column)', async () => {
        await runSql(source, `ALTER TABLE public.${TABLE} ALTER COLUMN name TYPE VARCHAR(${WIDE})`, 'the change on the source');
        workload.setShape((_, n) => ({ name: n % 4 === 0 ? `${n} ${LONG_NAME}` : `writer ${n}` }));
      });
      await runbookStep(`Condition: ${b.condition}`, async () => {
        const failed = await awaitSinkFailed(fx, 'the sink task to fail on a value too long for the replica');
        const dlq = await kafka.count(pipeline.dlqTopic);
        await attachJson('DLQ messages', { count: dlq });
        expect(failed.tasks.map((t) => t.state)).toEqual(['FAILED']);
      });
      const nameWidth = async (session: SqlSession) => (await describeTable(session, TABLE)).find((c) => c.column_name === 'name')?.character_maximum_length;
      await runActions(b, [
        ['Fix the replica schema only', async () => {
          await runSql(target, `ALTER TABLE ${TABLE} ALTER COLUMN name TYPE VARCHAR(${WIDE})`, 'widen the replica column to the source width');
          expect(await nameWidth(target), 'the replica column as wide as the source').toBe(String(WIDE));
          expect(await nameWidth(source), 'the source left as it is').toBe(String(WIDE));
        }],
        ['Restart failed tasks (restart --include-tasks --only-failed)', () => restartFailed(fx)],
      ]);
      await outcome(fx, workload, false, b);
    });

    test.skipIf(!variant.runs)(`major issues: connector FAILED, roll back both schemas ${variant.label}`, async ({ source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 }) => {
      const fx: Fixtures = { source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 };
      const b = branch(/^Major/i);
      const { source, target } = fx;
      const workload = await start(fx);
      await runbookStep('Schema change deployed: the replica column pre-created NOT NULL, the source column nullable', async () => {
        await runSql(target, `ALTER TABLE ${TABLE} ADD COLUMN ${COLUMN} VARCHAR(255) NOT NULL DEFAULT ''`, 'the replica side of the change (a mistake)');
        await runSql(source, CHANGE_SQL, 'the change on the source');
        // Half the writes leave the new column NULL: the replica refuses them.
        workload.setShape((_, n): Record<string, string> => (n % 2 ? { name: `writer ${n}`, [COLUMN]: `w${n}@example.com` } : { name: `writer ${n}` }));
      });
      await runbookStep(`Condition: ${b.condition}`, async () => {
        const failed = await awaitSinkFailed(fx, 'the sink task to fail on a NULL for the NOT NULL replica column');
        expect(failed.tasks.map((t) => t.state)).toEqual(['FAILED']);
      });
      await runActions(b, [
        ['Pause connectors', () => pauseConnectors(fx)],
        ['Roll back the replica schema', () => rollBackReplica(fx)],
        ['Roll back the source schema', () => rollBackSource(fx, workload)],
        ['Resume connectors, restart failed tasks', () => resumeConnectors(fx)],
        ['Wait for the sink to drain', () => awaitSinkDrained(fx, workload)],
        ['Roll back the replica schema again (the sink re-adds a column that queued events carry)', () => rollBackReplica(fx)],
      ]);
      await outcome(fx, workload, false, b);
    });

    test.skipIf(!variant.runs)(`critical issues: corruption confirmed, restore and replay ${variant.label}`, async ({ source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 }) => {
      const fx: Fixtures = { source: s0, target: t0, pipeline: p0, connect: c0, kafka: k0, endpoints: e0, pgTools: g0 };
      const b = branch(/^Critical/i);
      const { source, target, kafka, pipeline, connect } = fx;
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
          const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
          expect(drained.drained, 'the replica caught up with the change before the corruption').toBe(true);
          await runSql(target, `UPDATE ${TABLE} SET name = '${CORRUPTED}' WHERE ${KEY} < 1000000; DELETE FROM ${TABLE} WHERE ${KEY} = ${DELETED_KEY}`, 'corruption on the replica');
          const report = await reconcileSessions(source, target, [{ table: TABLE, keyRange: { to: ['1000000'] } }]);
          await attachJson('reconciliation confirms the corruption', report);
          expect(report.tables[0]!.diffCounts.differing + report.tables[0]!.diffCounts.missingInTarget).toBeGreaterThan(0);
        });
        await runActions(b, [
          ['Pause connectors', () => pauseConnectors(fx)],
          ['Restore the replica table from backup', async () => {
            const restore = await runShellLine(shellOf(fx, state), `pg_restore --dbname="$TARGET_URL" --clean --if-exists backup_${TABLE}.dump`);
            await attachJson('pg_restore', { code: restore.code, stderr: restore.stderr });
            expect(restore.code, restore.stderr).toBe(0);
            const [left] = await target.query(`SELECT count(*) FILTER (WHERE name = '${CORRUPTED}')::int AS corrupted, count(*) FILTER (WHERE ${KEY} = ${DELETED_KEY})::int AS deleted_back FROM ${TABLE}`);
            await attachJson('replica after the restore', left);
            expect({ corrupted: Number(left?.corrupted), deletedBack: Number(left?.deleted_back) }, 'the backup undid the corruption: no corrupted row, the deleted row back').toEqual({ corrupted: 0, deletedBack: 1 });
          }],
          ['Roll back the source schema', () => rollBackSource(fx, workload)],
          ['Replay Kafka from an offset (Point-in-Time Recovery)', async () => {
            const topic = pipeline.topicOf(TABLE);
            await attachJson('sink stopped', await connect.stopConnector(pipeline.sinkName));
            await connect.patchOffsets(pipeline.sinkName, [{ partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: state.offset } }]);
            const rewound = (await kafka.sinkLag(pipeline.sinkName)).partitions.find((p) => p.topic === topic);
            await attachJson('sink offset after the reset', rewound);
            expect(rewound?.committed).toBe(state.offset);
          }],
          ['Resume after validation', () => resumeConnectors(fx)],
          ['Wait for the sink to drain', () => awaitSinkDrained(fx, workload)],
          ['Roll back the replica schema (the replay re-adds the column to the restored table)', () => rollBackReplica(fx)],
        ]);
      } finally {
        rmSync(workdir, { recursive: true, force: true });
      }
      await outcome(fx, workload, false, b);
    });
  }
});

/** What the corruption writes on the replica, and the seed key it deletes there. */
const CORRUPTED = 'corrupted';
const DELETED_KEY = 2;

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

/** No issue: the sink RUNNING at every poll of a window, nothing in the DLQ, a write made now in the replica within the lag SLO. */
async function expectNoIssue(fx: Fixtures, workload: Workload, when: string): Promise<void> {
  const watched = await watchState(fx.connect, fx.pipeline.sinkName, 'RUNNING', MONITOR_WINDOW_MS);
  const dlq = await fx.kafka.count(fx.pipeline.dlqTopic);
  const drained = await awaitDrained(fx.target, TABLE, KEY, await workload.mark(), lagSloMs());
  await attachJson(`monitoring ${when}`, { windowSeconds: MONITOR_WINDOW_MS / 1000, polls: watched.polls, healthy: watched.stayed, left: watched.left, dlqMessages: dlq, drainedWithinLagSlo: drained });
  expect(watched.stayed, `the sink RUNNING at every poll ${when} (left for: ${watched.left})`).toBe(true);
  expect(dlq, `nothing in the DLQ ${when}`).toBe(0);
  expect(drained.drained, `a write reached the replica within the lag SLO ${when}`).toBe(true);
}

async function awaitSinkFailed(fx: Fixtures, what: string): Promise<ConnectorStatus> {
  const failed = await pollUntil({ what, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
    const status = await fx.connect.getConnectorStatus(fx.pipeline.sinkName);
    return { done: summariseState(status) === 'FAILED', seen: summariseState(status), value: status };
  });
  await attachJson('sink status', failed);
  return failed;
}

async function pauseConnectors(fx: Fixtures): Promise<void> {
  for (const name of [fx.pipeline.sourceName, fx.pipeline.sinkName]) {
    // A FAILED task stays FAILED under a pause; the client waits for the rest to be PAUSED.
    const status = await fx.connect.pauseConnector(name);
    await attachJson(`${name} paused`, status);
    expect(status.connector.state, `${name} paused`).toBe('PAUSED');
  }
}

async function rollBackReplica(fx: Fixtures): Promise<void> {
  await runSql(fx.target, REPLICA_ROLLBACK_SQL, 'rollback on the replica');
  expect(await columnsOf(fx.target), `${COLUMN} gone from the replica`).not.toContain(COLUMN);
}

async function rollBackSource(fx: Fixtures, workload: Workload): Promise<void> {
  workload.setShape((_, n) => ({ name: `writer ${n}` }));
  await runSql(fx.source, SOURCE_ROLLBACK_SQL, 'rollback on the source');
  expect(await columnsOf(fx.source), `${COLUMN} gone from the source`).not.toContain(COLUMN);
}

async function restartFailed(fx: Fixtures): Promise<void> {
  const restarted = await restartFailedTasks(fx.connect, fx.pipeline.sinkName);
  await attachJson('sink after restart --include-tasks --only-failed', restarted);
  expect(restarted.running, `sink not RUNNING after the restart: ${restarted.error ?? ''} ${restarted.status.tasks.map((t) => t.trace?.split('\n').slice(0, 3).join(' ')).join(' | ')}`).toBe(true);
}

/** Resumes both connectors (a resume leaves a FAILED task FAILED), restarts a failed sink task, and both must run. */
async function resumeConnectors(fx: Fixtures): Promise<void> {
  for (const name of [fx.pipeline.sourceName, fx.pipeline.sinkName]) {
    const before = await fx.connect.getConnectorStatus(name);
    if (before.connector.state !== 'PAUSED' && before.connector.state !== 'STOPPED') continue;
    const failedTask = before.tasks.some((t) => t.state === 'FAILED');
    await attachJson(`${name} resumed`, await fx.connect.resumeConnector(name, failedTask ? 'FAILED' : 'RUNNING'));
  }
  if (summariseState(await fx.connect.getConnectorStatus(fx.pipeline.sinkName)) === 'FAILED') await restartFailed(fx);
  for (const name of [fx.pipeline.sourceName, fx.pipeline.sinkName]) {
    expect(summariseState(await fx.connect.awaitConnectorState(name, 'RUNNING')), `${name} after the resume`).toBe('RUNNING');
  }
}

async function awaitSinkDrained(fx: Fixtures, workload: Workload): Promise<void> {
  const drained = await awaitDrained(fx.target, TABLE, KEY, await workload.mark());
  await attachJson('sink drained', drained);
  expect(drained.drained, 'a write made after the resume reached the replica').toBe(true);
}

/**
 * npm run bench:migration — a cutover and a rollback through the pooler, RUNS times on one embedded stack, with the
 * application client writing and reading throughout (Execute Cutover with every step, then the corrected Emergency
 * Rollback). Per run: cutover time (pause → resume), the client's longest write and read pause, its failed requests
 * over the whole run, the rollback's RTO (pause → resume on the source), and the history checker's verdict on the
 * source. Then, RUNS times, the initial snapshot of a table of BENCH_SNAPSHOT_ROWS rows (default 1,000,000): schema
 * copied as Create Target Database does, both connectors deployed, timed until the target holds every row and the
 * table matches by checksum (rows/s). Prints min / median / max against the goals; never fails on a missed goal.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pollUntil } from '../harness/core/poll.js';
import { LocalStack, type StartedLocalStack } from '../harness/env/local/local-stack.js';
import { Pipeline } from '../harness/fixtures/pipeline.js';
import { cutover } from '../harness/migrate/cutover.js';
import { MARKER_TABLE } from '../harness/migrate/drain.js';
import { rollback } from '../harness/migrate/rollback.js';
import { copySchema } from '../harness/migrate/schema-copy.js';
import { ConnectClient } from '../harness/pipeline/connect-client.js';
import { topicMessageCount } from '../harness/pipeline/kafka-admin.js';
import { APP_KEY, APP_TABLE, awaitAcknowledged, cutoverInputs, prepareAppTable, restoreStack } from '../harness/scenario/cutover-rehearsal.js';
import { checkHistory } from '../harness/verify/history.js';
import { openSession, reconcileSessions, type SqlSession } from '../harness/verify/reconcile/index.js';
import { AppClient } from '../harness/workload/app-client.js';
import type { StepEvent } from '../harness/migrate/steps.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Which measurements run: cutover (cutover and rollback through the pooler), snapshot (the initial snapshot). */
const PARTS = (process.env.BENCH_PARTS ?? 'cutover,snapshot').split(',').map((p) => p.trim());
const unknownPart = PARTS.find((p) => p !== 'cutover' && p !== 'snapshot');
if (unknownPart) {
  process.stderr.write(`bench:migration: BENCH_PARTS names '${unknownPart}': use cutover, snapshot or both (comma-separated)\n`);
  process.exit(2);
}
const SEED_ROWS = Number(process.env.BENCH_SEED_ROWS ?? 10_000);
const SNAPSHOT_ROWS = Number(process.env.BENCH_SNAPSHOT_ROWS ?? 1_000_000);
const SNAPSHOT_TABLE = 'bench_snapshot';
const WRITES_PER_PHASE = 40;
const LIMIT_MS = 120_000;
/** The snapshot's limit: 1,000 rows/s at least (half the slowest rate seen here, under load). */
const SNAPSHOT_LIMIT_MS = Math.max(LIMIT_MS, SNAPSHOT_ROWS);
const GOALS: Record<string, string> = { 'cutover time (s)': '≤ 30', 'longest write pause (s)': '≤ 5', 'longest read pause (s)': '', 'failed client requests': '0', 'rollback RTO (s)': '≤ 30' };
const SNAPSHOT_METRICS = ['snapshot time (s)', 'snapshot throughput (rows/s)', 'source connector into Kafka (rows/s)'] as const;

interface RunFigures {
  'cutover time (s)': number;
  'longest write pause (s)': number;
  'longest read pause (s)': number;
  'failed client requests': number;
  'rollback RTO (s)': number;
  historyPass: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type SnapshotFigures = Record<(typeof SNAPSHOT_METRICS)[number], number>;

/** One initial snapshot of SNAPSHOT_ROWS rows, from the deploy until the target table matches the source. */
async function snapshotRun(stack: StartedLocalStack, connect: ConnectClient, source: SqlSession, target: SqlSession): Promise<SnapshotFigures> {
  const endpoints = stack.endpoints;
  for (const side of [source, target]) await side.query(`DROP TABLE IF EXISTS ${SNAPSHOT_TABLE}`);
  await source.query(`CREATE TABLE ${SNAPSHOT_TABLE} (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, note text, created_at timestamptz NOT NULL DEFAULT now())`);
  await source.query(`INSERT INTO ${SNAPSHOT_TABLE} (id, customer, amount, note) SELECT g, 'customer ' || (g % 5000), (g % 100000) / 100.0, 'seeded row ' || g FROM generate_series(1, ${SNAPSHOT_ROWS}) g`);
  await source.query(`ANALYZE ${SNAPSHOT_TABLE}`);
  await copySchema(endpoints.source, endpoints.target, { pgDump: stack.postgresTools.pgDump, psql: stack.postgresTools.psql, tables: [`public.${SNAPSHOT_TABLE}`], limitMs: LIMIT_MS });
  const pipeline = new Pipeline(endpoints, connect, source);
  try {
    const started = Date.now();
    await pipeline.deploy({ tables: [SNAPSHOT_TABLE] });
    const topic = pipeline.topicOf(SNAPSHOT_TABLE);
    // Both ends: when the source connector has every row in Kafka, and when the sink has every row in the target.
    let inKafkaSeconds: number | undefined;
    await pollUntil({ what: `the target's ${SNAPSHOT_TABLE} to hold all ${SNAPSHOT_ROWS} rows of the snapshot`, limitMs: SNAPSHOT_LIMIT_MS, intervalMs: 1_000 }, async () => {
      if (inKafkaSeconds === undefined && (await topicMessageCount(endpoints.kafka.bootstrap, topic).catch(() => 0)) >= SNAPSHOT_ROWS) inKafkaSeconds = (Date.now() - started) / 1000;
      const [row] = await target.query(`SELECT count(*)::text AS n FROM ${SNAPSHOT_TABLE}`);
      return { done: Number(row!.n) >= SNAPSHOT_ROWS, seen: `${row!.n} rows in the target, ${inKafkaSeconds === undefined ? 'not all' : 'all'} in ${topic}` };
    });
    const seconds = (Date.now() - started) / 1000;
    // Counted is not carried: every row compared by checksum before the figure counts.
    const r = await reconcileSessions(source, target, [{ table: SNAPSHOT_TABLE }]);
    if (!r.summary.match) throw new Error(`${SNAPSHOT_TABLE}: the snapshot's rows differ from the source's: ${JSON.stringify(r.tables[0]?.diffCounts)}`);
    return { 'snapshot time (s)': seconds, 'snapshot throughput (rows/s)': SNAPSHOT_ROWS / seconds, 'source connector into Kafka (rows/s)': SNAPSHOT_ROWS / (inKafkaSeconds ?? seconds) };
  } finally {
    await pipeline.teardown();
    for (const side of [source, target]) await side.query(`DROP TABLE IF EXISTS ${SNAPSHOT_TABLE}`);
  }
}

async function main(): Promise<void> {
  const stack = await new LocalStack().withStateDir(mkdtempSync(path.join(os.tmpdir(), 'rh-bench-migration-'))).start();
  const endpoints = stack.endpoints;
  const connect = new ConnectClient(endpoints.connect.url);
  const source = await openSession(endpoints.source.url, 'source', { connections: 2 });
  const target = await openSession(endpoints.target.url, 'target', { connections: 2 });
  const runs: RunFigures[] = [];
  const snapshots: SnapshotFigures[] = [];
  try {
    for (let i = 0; i < (PARTS.includes('cutover') ? RUNS : 0); i++) {
      await prepareAppTable(source, target, endpoints, stack.postgresTools, SEED_ROWS);
      const pipeline = new Pipeline(endpoints, connect, source);
      await pipeline.deploy({ tables: [APP_TABLE, MARKER_TABLE] });
      await pollUntil({ what: `${APP_TABLE} snapshot to match`, limitMs: LIMIT_MS, intervalMs: 500 }, async () => {
        const r = await reconcileSessions(source, target, [{ table: APP_TABLE }]);
        return { done: r.summary.match, seen: `target rows ${r.summary.targetRows} of ${r.summary.sourceRows}` };
      });
      const client = AppClient.start({ url: endpoints.pooler!.url, table: APP_TABLE, keyColumn: APP_KEY, shape: (n) => ({ customer: `c${n % 50}`, amount: `${n % 1000}.25`, note: `write ${n}` }) });
      const events: StepEvent[] = [];
      let reverse;
      try {
        await awaitAcknowledged(client, endpoints.source.database, WRITES_PER_PHASE, LIMIT_MS);
        const started = Date.now();
        const cut = await cutover({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events) });
        reverse = cut.reverse;
        if (!cut.ok) throw new Error(`cutover failed at ${cut.failed?.name}: ${cut.failed?.error}`);
        await awaitAcknowledged(client, endpoints.target.database, WRITES_PER_PHASE, LIMIT_MS, started);
        const rollbackStarted = Date.now();
        const back = await rollback({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events), reverse });
        if (!back.ok) throw new Error(`rollback failed at ${back.failed?.name}: ${back.failed?.error}`);
        await awaitAcknowledged(client, endpoints.source.database, WRITES_PER_PHASE, LIMIT_MS, Date.now());
        const summary = await client.stop();
        // The pauses the client saw from the cutover's start until the rollback began (not the tail until stop).
        const window = client.summary(client.between(started - 1000, rollbackStarted), rollbackStarted);
        const verdict = await checkHistory(client.history(), source);
        const figures: RunFigures = {
          'cutover time (s)': cut.cutoverSeconds!,
          'longest write pause (s)': window.longestWritePause.longestMs / 1000,
          'longest read pause (s)': window.longestReadPause.longestMs / 1000,
          'failed client requests': summary.failedRequests,
          'rollback RTO (s)': back.rtoSeconds!,
          historyPass: verdict.pass,
        };
        runs.push(figures);
        process.stderr.write(`run ${i + 1}: ${JSON.stringify(figures)}; slowest cutover step: ${cut.steps.reduce((a, b) => (b.seconds > a.seconds ? b : a)).name}\n`);
      } finally {
        if (!client.stopped) await client.stop();
        await restoreStack(endpoints, source, target, connect, reverse);
        await pipeline.teardown();
      }
    }
    for (let i = 0; i < (PARTS.includes('snapshot') ? RUNS : 0); i++) {
      const figures = await snapshotRun(stack, connect, source, target);
      snapshots.push(figures);
      process.stderr.write(`snapshot run ${i + 1}: ${JSON.stringify(figures)}\n`);
    }
  } finally {
    await source.close();
    await target.close();
    await stack.stop();
  }
  const names = Object.keys(GOALS) as (keyof typeof GOALS)[];
  const parts = [
    ...(runs.length ? [`${runs.length} cutover + rollback runs, ${SEED_ROWS} seeded rows, client at 20 writes/s + 20 reads/s through PgBouncer`] : []),
    ...(snapshots.length ? [`${snapshots.length} initial snapshots of ${SNAPSHOT_ROWS} rows`] : []),
  ];
  const lines = [`migration bench: ${parts.join('; ')}`, '', '| metric | min | median | max | goal |', '|---|---|---|---|---|'];
  for (const name of runs.length ? names : []) {
    const xs = runs.map((r) => r[name as keyof RunFigures] as number);
    lines.push(`| ${name} | ${Math.min(...xs).toFixed(2)} | ${median(xs).toFixed(2)} | ${Math.max(...xs).toFixed(2)} | ${GOALS[name]} |`);
  }
  if (runs.length) lines.push(`| history checker on the source | ${runs.filter((r) => r.historyPass).length} of ${runs.length} pass | | | all |`);
  for (const name of snapshots.length ? SNAPSHOT_METRICS : []) {
    const xs = snapshots.map((r) => r[name]);
    lines.push(`| ${name}, ${SNAPSHOT_ROWS} rows | ${Math.min(...xs).toFixed(name.includes('rows/s') ? 0 : 1)} | ${median(xs).toFixed(name.includes('rows/s') ? 0 : 1)} | ${Math.max(...xs).toFixed(name.includes('rows/s') ? 0 : 1)} | |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench:migration: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

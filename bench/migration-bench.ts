/**
 * npm run bench:migration — a cutover and a rollback through the pooler, RUNS times on one embedded stack, with the
 * application client writing and reading throughout (Execute Cutover with every step, then the corrected Emergency
 * Rollback). Per run: cutover time (pause → resume), the client's longest write and read pause, its failed requests
 * over the whole run, the rollback's RTO (pause → resume on the source), and the history checker's verdict on the
 * source. Prints min / median / max against the goals; never fails on a missed goal (it is a benchmark).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pollUntil } from '../harness/core/poll.js';
import { LocalStack } from '../harness/env/local/local-stack.js';
import { Pipeline } from '../harness/fixtures/pipeline.js';
import { cutover } from '../harness/migrate/cutover.js';
import { MARKER_TABLE } from '../harness/migrate/drain.js';
import { rollback } from '../harness/migrate/rollback.js';
import { ConnectClient } from '../harness/pipeline/connect-client.js';
import { APP_KEY, APP_TABLE, awaitAcknowledged, cutoverInputs, prepareAppTable, restoreStack } from '../harness/scenario/cutover-rehearsal.js';
import { checkHistory } from '../harness/verify/history.js';
import { openSession, reconcileSessions } from '../harness/verify/reconcile/index.js';
import { AppClient } from '../harness/workload/app-client.js';
import type { StepEvent } from '../harness/migrate/steps.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEED_ROWS = Number(process.env.BENCH_SEED_ROWS ?? 10_000);
const WRITES_PER_PHASE = 40;
const LIMIT_MS = 120_000;
const GOALS: Record<string, string> = { 'cutover time (s)': '≤ 30', 'longest write pause (s)': '≤ 5', 'longest read pause (s)': '', 'failed client requests': '0', 'rollback RTO (s)': '≤ 30' };

interface RunFigures {
  'cutover time (s)': number;
  'longest write pause (s)': number;
  'longest read pause (s)': number;
  'failed client requests': number;
  'rollback RTO (s)': number;
  historyPass: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const stack = await new LocalStack().withStateDir(mkdtempSync(path.join(os.tmpdir(), 'rh-bench-migration-'))).start();
  const endpoints = stack.endpoints;
  const connect = new ConnectClient(endpoints.connect.url);
  const source = await openSession(endpoints.source.url, 'source', { connections: 2 });
  const target = await openSession(endpoints.target.url, 'target', { connections: 2 });
  const runs: RunFigures[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
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
  } finally {
    await source.close();
    await target.close();
    await stack.stop();
  }
  const names = Object.keys(GOALS) as (keyof typeof GOALS)[];
  const lines = [`migration bench: ${runs.length} runs, ${SEED_ROWS} seeded rows, client at 20 writes/s + 20 reads/s through PgBouncer`, '', '| metric | min | median | max | goal |', '|---|---|---|---|---|'];
  for (const name of names) {
    const xs = runs.map((r) => r[name as keyof RunFigures] as number);
    lines.push(`| ${name} | ${Math.min(...xs).toFixed(2)} | ${median(xs).toFixed(2)} | ${Math.max(...xs).toFixed(2)} | ${GOALS[name]} |`);
  }
  lines.push(`| history checker on the source | ${runs.filter((r) => r.historyPass).length} of ${runs.length} pass | | | all |`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench:migration: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

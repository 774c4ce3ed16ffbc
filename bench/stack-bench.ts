/**
 * npm run bench:stack — the embedded stack's speed and memory, over RUNS cold runs:
 *   cold start   `up` (start + sample tables + both connectors RUNNING)
 *   first row    connector deploy → the first snapshot row in the target
 *   lag p95      heartbeat lag while a writer inserts ~RATE rows/s
 *   peak RSS     sum over every process of the stack's process groups, sampled every 250 ms
 * Prints a table (min / median / max) and the goals; never fails on a missed goal.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pollUntil } from '../harness/core/poll.js';
import { LocalStack, type StartedLocalStack } from '../harness/env/local/local-stack.js';
import { createSampleTables, defaultConnectors } from '../harness/env/sample-pipeline.js';
import { ConnectClient } from '../harness/pipeline/connect-client.js';
import { DEFAULT_HEARTBEAT_TABLE, ensureHeartbeatTable, sampleHeartbeatLag } from '../harness/verify/lag.js';
import { openSession } from '../harness/verify/reconcile/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const LAG_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 15);

/** Resident memory of every process whose process group is one of the stack's (PostgreSQL backends included). */
function stackRssBytes(groups: Set<number>): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (!groups.has(pgrp)) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      if (rss) total += Number(rss[1]) * 1024;
    } catch {
      // process ended between listing and reading
    }
  }
  return total;
}

interface RunResult {
  coldStart: number;
  firstRow: number;
  lagP95: number;
  lagP50: number;
  peakRssGiB: number;
  writeRate: number;
}

async function oneRun(): Promise<RunResult> {
  const t0 = performance.now();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rh-bench-'));
  const stack: StartedLocalStack = await new LocalStack().withStateDir(stateDir).start();
  const groups = new Set(Object.values(stack.state.processes).map((p) => p.pid));
  let peak = stackRssBytes(groups);
  const rssTimer = setInterval(() => (peak = Math.max(peak, stackRssBytes(groups))), 250);
  const source = await openSession(stack.endpoints.source.url, 'source', { connections: 2 });
  const target = await openSession(stack.endpoints.target.url, 'target', { connections: 2 });
  try {
    await createSampleTables(stack.endpoints);
    await ensureHeartbeatTable({ source });
    await source.query('CREATE TABLE bench_writes (id bigint PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())');
    const connect = new ConnectClient(stack.endpoints.connect.url);
    const { source: src, sink } = defaultConnectors(stack.endpoints, { tables: ['customers', 'orders', 'products', DEFAULT_HEARTBEAT_TABLE, 'bench_writes'] });
    const deployedAt = performance.now();
    await connect.putConnectorConfig(src.name, src.config);
    await connect.putConnectorConfig(sink.name, sink.config);
    const coldStart = (performance.now() - t0) / 1000;
    await pollUntil({ what: 'the first snapshot row in target customers', limitMs: 60_000, intervalMs: 20 }, async () => {
      const rows = await target.query('SELECT count(*)::text AS n FROM customers').catch(() => [{ n: '0' }]);
      return { done: Number(rows[0]!.n) > 0, seen: `${rows[0]!.n} rows` };
    });
    const firstRow = (performance.now() - deployedAt) / 1000;

    // Writer: batches every 100 ms to hold RATE rows/s, while the heartbeat samples the lag.
    let written = 0;
    let writing = true;
    const writerStarted = performance.now();
    const writer = (async () => {
      while (writing) {
        const tick = performance.now();
        const batch = Math.round(RATE / 10);
        await source.query(`INSERT INTO bench_writes (id, payload) SELECT g, md5(g::text) FROM generate_series(${written + 1}, ${written + batch}) g`);
        written += batch;
        const wait = 100 - (performance.now() - tick);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    await sampleHeartbeatLag({ source, target, durationMs: 3_000, intervalMs: 250 }); // warm-up, not counted
    const timeline = await sampleHeartbeatLag({ source, target, durationMs: LAG_SECONDS * 1000, intervalMs: 250 });
    writing = false;
    await writer;
    const writeRate = written / ((performance.now() - writerStarted) / 1000);
    return { coldStart, firstRow, lagP95: timeline.p95, lagP50: timeline.p50, peakRssGiB: peak / 2 ** 30, writeRate };
  } finally {
    clearInterval(rssTimer);
    await source.close();
    await target.close();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const results: RunResult[] = [];
for (let i = 1; i <= RUNS; i++) {
  process.stderr.write(`bench:stack run ${i}/${RUNS}\n`);
  results.push(await oneRun());
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! };
};
const rows: [string, keyof RunResult, string, string][] = [
  ['cold start (up → both connectors RUNNING)', 'coldStart', 's', '<= 15 s'],
  ['first replicated row after deploy', 'firstRow', 's', '<= 3 s'],
  [`heartbeat lag p50 at ~${RATE} rows/s`, 'lagP50', 's', ''],
  [`heartbeat lag p95 at ~${RATE} rows/s`, 'lagP95', 's', '<= 1 s'],
  ['achieved write rate', 'writeRate', 'rows/s', ''],
  ['peak RSS of the whole stack', 'peakRssGiB', 'GiB', '<= 3 GiB'],
];
console.log(`\nbench:stack — ${RUNS} runs, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`);
console.log('| metric | min | median | max | goal |');
console.log('|---|---|---|---|---|');
for (const [label, key, unit, goal] of rows) {
  const s = stats(results.map((r) => r[key]));
  const f = (v: number) => `${v.toFixed(key === 'writeRate' ? 0 : 2)} ${unit}`;
  console.log(`| ${label} | ${f(s.min)} | ${f(s.median)} | ${f(s.max)} | ${goal} |`);
}

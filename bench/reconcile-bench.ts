/**
 * npm run bench:reconcile — a benchmark, not a test. Two embedded PostgreSQL instances hold the same table
 * (BENCH_ROWS rows, default 10,000,000, several column types); measured in one run:
 *   1. the limit: one in-database full hash scan of one side, SELECT sum(hashtextextended(t::text, 0)) FROM t
 *      (PostgreSQL's default plan, which may use parallel workers; and again on one process for reference);
 *   2. our reconcile on the identical pair, then with one differing row;
 *   3. reladiff (pip install reladiff, in a venv under ~/.cache) on the same two states;
 *   4. sparse keys: BENCH_SPARSE_ROWS tables (default 1,003 and 1,000,000 rows) whose bigint keys are spread over the
 *      whole signed 64-bit range, as Snowflake-style ids are, identical and with one differing row.
 * Prints a table and the goals: identical <= 1.5x limit, >= 3x faster than reladiff, one-row <= 2x identical.
 * BENCH_PARTS=dense,reladiff,sparse picks the parts (default all). BENCH_BASELINE=<another checkout> also times that
 * checkout's reconcile on the same data (before/after on one machine, same load); a reconcile that does not finish in
 * BENCH_RECONCILE_TIMEOUT_S (default 600) is reported as such and its connections are terminated.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCommand } from '../harness/core/subprocess.js';
import { reconcile as ourReconcile, type ReconcileReport, type ReconcileRequest } from '../harness/verify/reconcile/index.js';
import { startPostgresInstance, type PostgresInstance } from '../test/support/postgres-instance.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const DIFF_ID = Math.floor(ROWS * 0.7654321);
const RELADIFF_VENV = process.env.RELADIFF_VENV ?? path.join(os.homedir(), '.cache', 'rh-reladiff-venv');
const RELADIFF_TIMEOUT_MS = Number(process.env.RELADIFF_TIMEOUT_S ?? 1800) * 1000;
const PARTS = new Set((process.env.BENCH_PARTS ?? 'dense,reladiff,sparse').split(',').map((p) => p.trim()));
const SPARSE_ROWS = (process.env.BENCH_SPARSE_ROWS ?? '1003,1000000').split(',').map(Number).filter((n) => n > 0);
const BASELINE = process.env.BENCH_BASELINE;
const RECONCILE_TIMEOUT_MS = Number(process.env.BENCH_RECONCILE_TIMEOUT_S ?? 600) * 1000;
const SETTINGS = { shared_buffers: '2GB', max_wal_size: '8GB', checkpoint_timeout: '30min', synchronous_commit: 'off', work_mem: '64MB' };

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

async function timed<T>(label: string, fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  log(`${label}: ${seconds.toFixed(2)} s`);
  return { seconds, value };
}

/** Keys 1..rows (a sequence) or, sparse, g * an odd constant mod 2^64 shifted to signed: distinct, spread over all of int8. */
const sparseKey = (g: string) => `((${g})::numeric * 11400714819323198485 % 18446744073709551616 - 9223372036854775808)::bigint`;

async function load(db: PostgresInstance, table = 'bench_pair', rows = ROWS, sparse = false): Promise<void> {
  await db.sql(`CREATE TABLE ${table} (
      id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2), status text, note varchar(64),
      created_at timestamptz, active bool, ref uuid)`);
  await db.sql(`INSERT INTO ${table}
      SELECT ${sparse ? sparseKey('g') : 'g'}, g % 100000, (g % 100000) / 100.0, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4],
             CASE WHEN g % 10 = 0 THEN NULL ELSE 'note ' || g END,
             timestamptz '2024-01-01 00:00:00+00' + g * interval '1.001 s', g % 3 = 0,
             ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid
        FROM generate_series(1, ${rows}) g`);
  await db.sql(`VACUUM (ANALYZE, FREEZE) ${table}`);
  await db.sql('CHECKPOINT');
}

/** The issue's limit hashes each row's text; ours hashes typed values without rendering text, which is cheaper. */
const TEXT_HASH_SCAN = 'SELECT sum(hashtextextended(t::text, 0)) FROM bench_pair t';
const NATIVE_HASH_SCAN = 'SELECT sum(hashint8extended(hash_record_extended(t, 0), 0)) FROM bench_pair t';

async function limitScan(db: PostgresInstance, parallel: boolean, scan = TEXT_HASH_SCAN): Promise<number> {
  const setting = parallel ? 'RESET max_parallel_workers_per_gather' : 'SET max_parallel_workers_per_gather = 0';
  // One warm-up pass so both measurements read from shared buffers / page cache, then the best of two.
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = await timed(`limit scan (${parallel ? 'default plan' : 'one process'}${scan === NATIVE_HASH_SCAN ? ', native row hash' : ''}) #${i}`, () => db.sql(`${setting}; ${scan}`));
    if (i > 0) runs.push(t.seconds);
  }
  await db.sql('RESET max_parallel_workers_per_gather');
  return Math.min(...runs);
}

type Reconcile = (request: ReconcileRequest) => Promise<ReconcileReport>;
interface Timed {
  seconds?: number;
  report?: ReconcileReport;
  failure?: string;
}

/** One reconcile, bounded: a run past the limit (or one that throws) is reported, and its connections are ended so it stops. */
async function ours(source: PostgresInstance, target: PostgresInstance, label: string, table = 'bench_pair', reconcile: Reconcile = ourReconcile): Promise<Timed> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), RECONCILE_TIMEOUT_MS)));
  const t0 = performance.now();
  try {
    const outcome = await Promise.race([reconcile({ sourceUrl: source.url, targetUrl: target.url, tables: [{ table }] }), limit]);
    const seconds = (performance.now() - t0) / 1000;
    if (outcome === 'timeout') {
      log(`reconcile (${label}): did not finish in ${RECONCILE_TIMEOUT_MS / 1000} s; ending its connections`);
      const end = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'runbook-harness-reconcile'";
      await Promise.all([source.sql(end), target.sql(end)]);
      return { failure: `did not finish in ${RECONCILE_TIMEOUT_MS / 1000} s` };
    }
    const r = outcome.tables[0]!;
    log(`reconcile (${label}): ${seconds.toFixed(2)} s`);
    log(`  match=${r.match} rows=${r.sourceRows}/${r.targetRows} chunks=${r.chunkStats.count} mean chunk=${r.chunkStats.meanSeconds.toFixed(2)} s differing=${JSON.stringify(r.differing.map((d) => d.key))}`);
    return { seconds, report: outcome };
  } catch (error) {
    const failure = `failed after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(error as Error).message.split('\n')[0]}`;
    log(`reconcile (${label}): ${failure}`);
    return { failure };
  } finally {
    clearTimeout(timer);
  }
}

async function baselineReconcile(): Promise<Reconcile | undefined> {
  if (!BASELINE) return undefined;
  const module = (await import(path.resolve(BASELINE, 'harness/verify/reconcile/index.ts'))) as { reconcile: Reconcile };
  log(`baseline: reconcile from ${BASELINE}`);
  return module.reconcile;
}

async function reladiffAvailable(): Promise<string | undefined> {
  const bin = path.join(RELADIFF_VENV, 'bin', 'reladiff');
  if (existsSync(bin)) return bin;
  log(`installing reladiff into ${RELADIFF_VENV} (python3 -m venv; pip install reladiff psycopg2-binary)`);
  try {
    await runCommand('python3', ['-m', 'venv', RELADIFF_VENV], { limitMs: 300_000 });
    await runCommand(path.join(RELADIFF_VENV, 'bin', 'pip'), ['install', '-q', 'reladiff', 'psycopg2-binary'], { limitMs: 600_000 });
    return existsSync(bin) ? bin : undefined;
  } catch (error) {
    log(`reladiff unavailable: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

async function reladiff(bin: string, source: PostgresInstance, target: PostgresInstance, label: string, extra: string[] = []): Promise<{ seconds: number; output: string } | undefined> {
  const columns = ['customer_id', 'amount', 'status', 'note', 'created_at', 'active', 'ref'].flatMap((c) => ['-c', c]);
  const pgUrl = (db: PostgresInstance) => db.url.replace('postgres://', 'postgresql://');
  try {
    const t = await timed(`reladiff (${label})`, () =>
      runCommand(bin, [pgUrl(source), 'bench_pair', pgUrl(target), 'bench_pair', '-k', 'id', ...columns, '--assume-unique-key', ...extra], { limitMs: RELADIFF_TIMEOUT_MS }),
    );
    const output = t.value.stdout.trim();
    log(`  reladiff output: ${output.split('\n').slice(0, 4).join(' | ') || '(no differences)'}`);
    return { seconds: t.seconds, output };
  } catch (error) {
    log(`  reladiff failed: ${(error as Error).message}`);
    return undefined;
  }
}

const fmt = (s: number | undefined) => (s === undefined ? 'n/a' : `${s.toFixed(2)} s`);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`);

const cell = (t: Timed) => (t.seconds === undefined ? `n/a (${t.failure})` : fmt(t.seconds));
const differingIds = (t: Timed) => t.report?.tables[0]!.differing.map((d) => String(d.key.id)) ?? [];

async function main(): Promise<void> {
  log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; rows: ${ROWS.toLocaleString('en-US')}; parts: ${[...PARTS].join(',')}`);
  const baseline = await baselineReconcile();
  const [source, target] = await Promise.all([startPostgresInstance({ settings: SETTINGS }), startPostgresInstance({ settings: SETTINGS })]);
  const rows = [['measurement', 'seconds', 'vs limit']];
  const goals: string[] = [];
  try {
    if (PARTS.has('dense')) {
      await timed('load both sides', () => Promise.all([load(source), load(target)]));
      const limitParallel = await limitScan(source, true);
      const limitSerial = await limitScan(source, false);
      const limitNative = await limitScan(source, true, NATIVE_HASH_SCAN);
      const identical = await ours(source, target, 'identical');
      const baseIdentical = baseline ? await ours(source, target, 'baseline, identical', 'bench_pair', baseline) : undefined;
      const bin = PARTS.has('reladiff') ? await reladiffAvailable() : undefined;
      const relIdentical = bin ? await reladiff(bin, source, target, 'identical') : undefined;
      // Our reconcile runs 2 chunks per side at once; give reladiff the same (-j 2, its default is 1).
      const relIdentical2 = bin ? await reladiff(bin, source, target, 'identical, -j 2', ['-j', '2']) : undefined;

      await target.sql(`UPDATE bench_pair SET status = 'refunded' WHERE id = ${DIFF_ID}`);
      await target.sql('VACUUM bench_pair');
      const oneRow = await ours(source, target, 'one differing row');
      const baseOneRow = baseline ? await ours(source, target, 'baseline, one differing row', 'bench_pair', baseline) : undefined;
      const relOneRow = bin ? await reladiff(bin, source, target, 'one differing row') : undefined;
      const relOneRow2 = bin ? await reladiff(bin, source, target, 'one differing row, -j 2', ['-j', '2']) : undefined;

      const found = differingIds(oneRow);
      const foundOk = identical.report?.summary.match === true && found.length === 1 && found[0] === String(DIFF_ID);
      const reladiffFound = relOneRow?.output.includes(String(DIFF_ID));
      rows.push(
        ['limit: sum(hashtextextended(t::text,0)), one side, default plan', fmt(limitParallel), '1.00x'],
        ['limit: same, max_parallel_workers_per_gather=0', fmt(limitSerial), ratio(limitSerial, limitParallel)],
        ['floor: our row hash (hash_record_extended) over one side, default plan', fmt(limitNative), ratio(limitNative, limitParallel)],
        ['reconcile, identical pair (both sides)', cell(identical), ratio(identical.seconds, limitParallel)],
        [`reconcile, one differing row (found id ${found.join(',') || 'none'})`, cell(oneRow), ratio(oneRow.seconds, limitParallel)],
      );
      if (baseIdentical && baseOneRow) {
        rows.push(
          ['baseline reconcile, identical pair', cell(baseIdentical), ratio(baseIdentical.seconds, limitParallel)],
          [`baseline reconcile, one differing row (found id ${differingIds(baseOneRow).join(',') || 'none'})`, cell(baseOneRow), ratio(baseOneRow.seconds, limitParallel)],
        );
      }
      if (bin) {
        rows.push(
          ['reladiff 0.6.0 hashdiff, identical pair', fmt(relIdentical?.seconds), ratio(relIdentical?.seconds, limitParallel)],
          [`reladiff 0.6.0 hashdiff, one differing row${reladiffFound ? ' (found it)' : ''}`, fmt(relOneRow?.seconds), ratio(relOneRow?.seconds, limitParallel)],
          ['reladiff -j 2, identical pair', fmt(relIdentical2?.seconds), ratio(relIdentical2?.seconds, limitParallel)],
          [`reladiff -j 2, one differing row${relOneRow2?.output.includes(String(DIFF_ID)) ? ' (found it)' : ''}`, fmt(relOneRow2?.seconds), ratio(relOneRow2?.seconds, limitParallel)],
        );
      }
      const fastest = (...xs: ({ seconds: number } | undefined)[]) => {
        const seconds = xs.filter((x): x is { seconds: number } => x !== undefined).map((x) => x.seconds);
        return seconds.length ? Math.min(...seconds) : undefined;
      };
      const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
      goals.push(
        `goal identical <= 1.5x limit (default plan): ${ratio(identical.seconds, limitParallel)} ${met((identical.seconds ?? Infinity) <= 1.5 * limitParallel)}` +
          `; vs the one-process limit: ${ratio(identical.seconds, limitSerial)}; vs one side scanned with our own row hash: ${ratio(identical.seconds, limitNative)}`,
        ...(bin ? [`goal >= 3x faster than reladiff (its faster setting): identical ${ratio(fastest(relIdentical, relIdentical2), identical.seconds)}, one row ${ratio(fastest(relOneRow, relOneRow2), oneRow.seconds)}`] : []),
        `goal one row <= 2x identical: ${ratio(oneRow.seconds, identical.seconds)} ${met((oneRow.seconds ?? Infinity) <= 2 * (identical.seconds ?? 0))}`,
        `correctness: identical matched=${identical.report?.summary.match}, one-row located=${foundOk}`,
      );
      if (PARTS.has('sparse')) await Promise.all([source.sql('DROP TABLE bench_pair'), target.sql('DROP TABLE bench_pair')]);
    }

    if (PARTS.has('sparse')) {
      for (const n of SPARSE_ROWS) {
        const table = `bench_sparse_${n}`;
        await timed(`load both sides (${n.toLocaleString('en-US')} sparse keys)`, () => Promise.all([load(source, table, n, true), load(target, table, n, true)]));
        const diffId = String((await source.sql(`SELECT ${sparseKey(String(Math.max(1, Math.floor(n * 0.7654321))))}::text AS id`)).rows[0].id);
        const label = `${n.toLocaleString('en-US')} rows, keys spread over the signed 64-bit range`;
        const runs: [string, Timed][] = [];
        runs.push([`reconcile, sparse keys, ${label}, identical`, await ours(source, target, `sparse ${n}, identical`, table)]);
        if (baseline) runs.push([`baseline reconcile, sparse keys, ${label}, identical`, await ours(source, target, `baseline, sparse ${n}, identical`, table, baseline)]);
        await target.sql(`UPDATE ${table} SET status = 'refunded' WHERE id = ${diffId}`);
        runs.push([`reconcile, sparse keys, ${label}, one differing row`, await ours(source, target, `sparse ${n}, one differing row`, table)]);
        if (baseline) runs.push([`baseline reconcile, sparse keys, ${label}, one differing row`, await ours(source, target, `baseline, sparse ${n}, one differing row`, table, baseline)]);
        for (const [what, t] of runs) {
          const ids = differingIds(t);
          const located = what.endsWith('identical') ? t.report?.summary.match === true : ids.length === 1 && ids[0] === diffId;
          const chunks = t.report ? `, ${t.report.tables[0]!.chunkStats.count} chunks` : '';
          rows.push([`${what}${t.report ? (located ? ' (correct' : ' (WRONG') + chunks + ')' : ''}`, cell(t), '']);
        }
        await Promise.all([source.sql(`DROP TABLE ${table}`), target.sql(`DROP TABLE ${table}`)]);
      }
    }

    const width = rows.reduce((w, r) => w.map((x, i) => Math.max(x, r[i]!.length)), [0, 0, 0]);
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
    const out = [
      `reconcile benchmark: ${PARTS.has('dense') ? `${ROWS.toLocaleString('en-US')} rows x 8 columns` : 'sparse keys only'}, two PostgreSQL 17 instances on one machine (${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`,
      line(rows[0]!),
      `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`,
      ...rows.slice(1).map(line),
      '',
      ...goals,
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}

await main();

/**
 * npm run bench:reconcile — a benchmark, not a test. Two embedded PostgreSQL instances hold the same table
 * (BENCH_ROWS rows, default 10,000,000, several column types); measured in one run:
 *   1. the limit: one in-database full hash scan of one side, SELECT sum(hashtextextended(t::text, 0)) FROM t
 *      (PostgreSQL's default plan, which may use parallel workers; and again on one process for reference);
 *   2. our reconcile on the identical pair, then with one differing row;
 *   3. reladiff (pip install reladiff, in a venv under ~/.cache) on the same two states.
 * Prints a table and the goals: identical <= 1.5x limit, >= 3x faster than reladiff, one-row <= 2x identical.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCommand } from '../harness/core/subprocess.js';
import { reconcile, type ReconcileReport } from '../harness/verify/reconcile/index.js';
import { startPostgresInstance, type PostgresInstance } from '../test/support/postgres-instance.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const DIFF_ID = Math.floor(ROWS * 0.7654321);
const RELADIFF_VENV = process.env.RELADIFF_VENV ?? path.join(os.homedir(), '.cache', 'rh-reladiff-venv');
const RELADIFF_TIMEOUT_MS = Number(process.env.RELADIFF_TIMEOUT_S ?? 1800) * 1000;
const SETTINGS = { shared_buffers: '2GB', max_wal_size: '8GB', checkpoint_timeout: '30min', synchronous_commit: 'off', work_mem: '64MB' };

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

async function timed<T>(label: string, fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  log(`${label}: ${seconds.toFixed(2)} s`);
  return { seconds, value };
}

async function load(db: PostgresInstance): Promise<void> {
  await db.sql(`CREATE TABLE bench_pair (
      id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2), status text, note varchar(64),
      created_at timestamptz, active bool, ref uuid)`);
  await db.sql(`INSERT INTO bench_pair
      SELECT g, g % 100000, (g % 100000) / 100.0, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4],
             CASE WHEN g % 10 = 0 THEN NULL ELSE 'note ' || g END,
             timestamptz '2024-01-01 00:00:00+00' + g * interval '1.001 s', g % 3 = 0,
             ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid
        FROM generate_series(1, ${ROWS}) g`);
  await db.sql('VACUUM (ANALYZE, FREEZE) bench_pair');
  await db.sql('CHECKPOINT');
}

/** The limit hashes each row's text; ours hashes typed values without rendering text, which is cheaper. */
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

async function ours(source: PostgresInstance, target: PostgresInstance, label: string): Promise<{ seconds: number; report: ReconcileReport }> {
  const t = await timed(`reconcile (${label})`, () => reconcile({ sourceUrl: source.url, targetUrl: target.url, tables: [{ table: 'bench_pair' }] }));
  const r = t.value.tables[0]!;
  log(`  match=${r.match} rows=${r.sourceRows}/${r.targetRows} chunks=${r.chunkStats.count} mean chunk=${r.chunkStats.meanSeconds.toFixed(2)} s differing=${JSON.stringify(r.differing.map((d) => d.key))}`);
  return { seconds: t.seconds, report: t.value };
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

async function main(): Promise<void> {
  log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; rows: ${ROWS.toLocaleString('en-US')}`);
  const [source, target] = await Promise.all([startPostgresInstance({ settings: SETTINGS }), startPostgresInstance({ settings: SETTINGS })]);
  try {
    await timed('load both sides', () => Promise.all([load(source), load(target)]));
    const limitParallel = await limitScan(source, true);
    const limitSerial = await limitScan(source, false);
    const limitNative = await limitScan(source, true, NATIVE_HASH_SCAN);
    const identical = await ours(source, target, 'identical');
    const bin = await reladiffAvailable();
    const relIdentical = bin ? await reladiff(bin, source, target, 'identical') : undefined;
    // Our reconcile runs 2 chunks per side at once; give reladiff the same (-j 2, its default is 1).
    const relIdentical2 = bin ? await reladiff(bin, source, target, 'identical, -j 2', ['-j', '2']) : undefined;

    await target.sql(`UPDATE bench_pair SET status = 'refunded' WHERE id = ${DIFF_ID}`);
    await target.sql('VACUUM bench_pair');
    const oneRow = await ours(source, target, 'one differing row');
    const relOneRow = bin ? await reladiff(bin, source, target, 'one differing row') : undefined;
    const relOneRow2 = bin ? await reladiff(bin, source, target, 'one differing row, -j 2', ['-j', '2']) : undefined;

    const found = oneRow.report.tables[0]!.differing.map((d) => d.key.id);
    const foundOk = identical.report.summary.match && found.length === 1 && found[0] === DIFF_ID;
    const reladiffFound = relOneRow?.output.includes(String(DIFF_ID));

    const rows = [
      ['measurement', 'seconds', 'vs limit'],
      ['limit: sum(hashtextextended(t::text,0)), one side, default plan', fmt(limitParallel), '1.00x'],
      ['limit: same, max_parallel_workers_per_gather=0', fmt(limitSerial), ratio(limitSerial, limitParallel)],
      ['floor: our row hash (hash_record_extended) over one side, default plan', fmt(limitNative), ratio(limitNative, limitParallel)],
      ['reconcile, identical pair (both sides)', fmt(identical.seconds), ratio(identical.seconds, limitParallel)],
      [`reconcile, one differing row (found id ${found.join(',') || 'none'})`, fmt(oneRow.seconds), ratio(oneRow.seconds, limitParallel)],
      ['reladiff 0.6.0 hashdiff, identical pair', fmt(relIdentical?.seconds), ratio(relIdentical?.seconds, limitParallel)],
      [`reladiff 0.6.0 hashdiff, one differing row${reladiffFound ? ' (found it)' : ''}`, fmt(relOneRow?.seconds), ratio(relOneRow?.seconds, limitParallel)],
      ['reladiff -j 2, identical pair', fmt(relIdentical2?.seconds), ratio(relIdentical2?.seconds, limitParallel)],
      [`reladiff -j 2, one differing row${relOneRow2?.output.includes(String(DIFF_ID)) ? ' (found it)' : ''}`, fmt(relOneRow2?.seconds), ratio(relOneRow2?.seconds, limitParallel)],
    ];
    const fastest = (...xs: ({ seconds: number } | undefined)[]) => {
      const seconds = xs.filter((x): x is { seconds: number } => x !== undefined).map((x) => x.seconds);
      return seconds.length ? Math.min(...seconds) : undefined;
    };
    const width = rows.reduce((w, r) => w.map((x, i) => Math.max(x, r[i]!.length)), [0, 0, 0]);
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
    const out = [
      `reconcile benchmark: ${ROWS.toLocaleString('en-US')} rows x 8 columns, two PostgreSQL 17 instances on one machine (${os.cpus().length} cores)`,
      line(rows[0]!),
      `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`,
      ...rows.slice(1).map(line),
      '',
      `goal identical <= 1.5x limit (default plan): ${ratio(identical.seconds, limitParallel)} ${identical.seconds <= 1.5 * limitParallel ? 'MET' : 'NOT MET'}` +
        `; vs the one-process limit: ${ratio(identical.seconds, limitSerial)}; vs one side scanned with our own row hash: ${ratio(identical.seconds, limitNative)}`,
      `goal >= 3x faster than reladiff (its faster setting): identical ${ratio(fastest(relIdentical, relIdentical2), identical.seconds)}, one row ${ratio(fastest(relOneRow, relOneRow2), oneRow.seconds)}`,
      `goal one row <= 2x identical: ${ratio(oneRow.seconds, identical.seconds)} ${oneRow.seconds <= 2 * identical.seconds ? 'MET' : 'NOT MET'}`,
      `correctness: identical matched=${identical.report.summary.match}, one-row located=${foundOk}`,
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}

await main();

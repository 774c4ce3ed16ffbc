/**
 * Sparse bigint keys on two real PostgreSQL instances: 1,003 Snowflake-style ids over 2^63 keys, signed keys from
 * -2^63 to 2^63-1, a dense corner in a sparse range, a composite key with a Snowflake part, a nullable --key and a
 * keyless table. Each pair is reconciled identical, then with one row missing, one extra and one differing planted
 * in the target; the report must name exactly those, with chunks planned from the keys that exist (equal-width
 * chunks over the 64-bit range never finished, or overflowed the stack building the report).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENSE_KEYS } from '../../harness/verify/reconcile/chunk-planner.js';
import { reconcile, type ReconcileOptions, type RowKey, type TableReport, type TableSpec } from '../../harness/verify/reconcile/index.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';
import { cornerKeys, INT8_MIN, signedKeys, snowflakeKeys } from './reconcile-sparse-keys.js';

/** A few seconds of work; the old planner did not finish in ten minutes. */
const TIMEOUT_MS = 60_000;

let source: PostgresInstance;
let target: PostgresInstance;
let outputDir: string;

interface Damage {
  missing: bigint;
  extra: bigint;
  differing: bigint;
}

interface Case {
  table: string;
  keys: bigint[];
  damage: (keys: bigint[]) => Damage;
}

const midKey = (a: bigint, b: bigint) => a + (b - a) / 2n;

/** Planted in the target: the row at index i deleted, one at j changed, a new key between two neighbours added. */
const plantAt = (i: number, j: number, k: number) => (keys: bigint[]): Damage => ({ missing: keys[i]!, differing: keys[j]!, extra: midKey(keys[k]!, keys[k + 1]!) });

const CASES: Case[] = [
  { table: 'snowflake_ids', keys: snowflakeKeys(1003, 11), damage: plantAt(137, 600, 880) },
  // The extra row at -2^63 + 1 sits next to the smallest key: the first chunk's open lower bound must see it.
  { table: 'signed_ids', keys: signedKeys(1003, 12), damage: (keys) => ({ missing: keys[1]!, differing: keys.at(-1)!, extra: INT8_MIN + 1n }) },
  // 5,000 consecutive keys around zero inside 500 keys spread over the rest: damage in the corner and in the spread.
  { table: 'corner_ids', keys: cornerKeys(5_000, 500, -2_500n, 13), damage: (keys) => ({ missing: keys[40]!, differing: keys[2_000]!, extra: midKey(keys.at(-20)!, keys.at(-19)!) }) },
];

function rowsOf(keys: bigint[], shardOf?: (i: number) => number) {
  return {
    ids: keys.map(String),
    shards: keys.map((_, i) => String(shardOf?.(i) ?? 0)),
    payloads: keys.map((k, i) => `row ${i} ${k % 9973n}`),
    amounts: keys.map((_, i) => (i * 1.25).toFixed(2)),
  };
}

async function loadSingle(db: PostgresInstance, table: string, keys: bigint[]): Promise<void> {
  const r = rowsOf(keys);
  await db.sql(`CREATE TABLE ${table} (id bigint PRIMARY KEY, payload text NOT NULL, amount numeric(12,2))`);
  await db.sql(`INSERT INTO ${table} SELECT * FROM unnest($1::bigint[], $2::text[], $3::numeric[])`, [r.ids, r.payloads, r.amounts]);
  await db.sql(`ANALYZE ${table}`);
}

async function plantDamage(db: PostgresInstance, table: string, d: Damage): Promise<void> {
  await db.sql(`DELETE FROM ${table} WHERE id = $1`, [String(d.missing)]);
  await db.sql(`UPDATE ${table} SET payload = payload || ' changed' WHERE id = $1`, [String(d.differing)]);
  await db.sql(`INSERT INTO ${table} VALUES ($1, 'extra', 0)`, [String(d.extra)]);
}

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgresInstance(), startPostgresInstance()]);
  outputDir = mkdtempSync(path.join(os.tmpdir(), 'rh-sparse-reports-'));
  for (const c of CASES) await Promise.all([loadSingle(source, c.table, c.keys), loadSingle(target, c.table, c.keys)]);
  for (const c of CASES) await Promise.all([loadSingle(source, `${c.table}_damaged`, c.keys), loadSingle(target, `${c.table}_damaged`, c.keys)]);
  for (const c of CASES) await plantDamage(target, `${c.table}_damaged`, c.damage(c.keys));
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (outputDir) rmSync(outputDir, { recursive: true, force: true });
});

/** How the report writes a key value: a JSON number when exact, else text. */
const reported = (k: bigint) => (Number.isSafeInteger(Number(k)) ? Number(k) : String(k));
const ids = (keys: RowKey[]) => keys.map((k) => k.id);

async function compare(spec: TableSpec, options: Partial<ReconcileOptions>): Promise<TableReport> {
  const report = await reconcile({ sourceUrl: source.url, targetUrl: target.url, tables: [spec], options });
  return report.tables[0]!;
}

/** The listed chunks tile the key space (all are listed here: fewer than 1,000). */
function expectTiled(r: TableReport): void {
  expect(r.chunks.length).toBe(r.chunkStats.count);
  expect(r.chunks[0]!.lower).toBeNull();
  expect(r.chunks.at(-1)!.upper).toBeNull();
  for (let i = 1; i < r.chunks.length; i++) expect(r.chunks[i]!.lower).toEqual(r.chunks[i - 1]!.upper);
}

const SMALL = { chunkSize: 50, chunkTimeSeconds: 0, rowFetchThreshold: 8, splitFanout: 4, maxDiffRows: 1000 };

describe.each([
  ['default options (10,000-row first chunk, 0.5 s chunk time)', {}],
  ['50-row chunks, bisection down to 8 rows', SMALL],
  ['50-row chunks, canonical hashing', { ...SMALL, hashMode: 'canonical' }],
] as [string, Partial<ReconcileOptions>][])('sparse bigint keys, %s', (_label, options) => {
  it.each(CASES)('$table: identical pair matches, chunks follow the rows', async ({ table, keys }) => {
    const r = await compare({ table }, options);
    expect(r.error).toBeUndefined();
    expect(r.match).toBe(true);
    expect([r.sourceRows, r.targetRows]).toEqual([keys.length, keys.length]);
    expectTiled(r);
    if (options.chunkSize) {
      // Each chunk holds at most budget / DENSE_KEYS rows, so their number follows the rows, not the 2^64 key width.
      expect(Math.max(...r.chunks.map((c) => Math.max(c.sourceRows, c.targetRows)))).toBeLessThanOrEqual(options.chunkSize / DENSE_KEYS);
      expect(r.chunkStats.count).toBeLessThanOrEqual(Math.ceil(keys.length / options.chunkSize) * 2 + 4);
    } else {
      // One row below min + 10,000, a chunk planned by the second worker before that was seen, then one walk to the end.
      expect(r.chunkStats.count).toBeLessThanOrEqual(4);
    }
  }, TIMEOUT_MS);

  it.each(CASES)('$table: the planted missing, extra and differing rows are located', async ({ table, keys, damage }) => {
    const d = damage(keys);
    const r = await compare({ table: `${table}_damaged` }, options);
    expect(r.error).toBeUndefined();
    expect(r.match).toBe(false);
    expect([r.sourceRows, r.targetRows]).toEqual([keys.length, keys.length]);
    expect(ids(r.missingInTarget)).toEqual([reported(d.missing)]);
    expect(ids(r.extraInTarget)).toEqual([reported(d.extra)]);
    expect(r.differing.map((x) => [x.key.id, x.columns])).toEqual([[reported(d.differing), ['payload']]]);
    expect(r.diffCounts).toEqual({ missingInTarget: 1, extraInTarget: 1, differing: 1 });
    expectTiled(r);
  }, TIMEOUT_MS);
});

describe('sparse keys, other key shapes', () => {
  const keys = snowflakeKeys(1003, 21);

  it('a key range over Snowflake ids compares only the rows inside it', async () => {
    const c = CASES[0]!;
    const d = c.damage(c.keys);
    const [from, to] = [c.keys[590]!, c.keys[610]!]; // holds the differing row (index 600) only
    const r = await compare({ table: `${c.table}_damaged`, keyRange: { from: [String(from)], to: [String(to)] } }, SMALL);
    expect(r.error).toBeUndefined();
    expect([r.sourceRows, r.targetRows]).toEqual([20, 20]);
    expect(r.differing.map((x) => x.key.id)).toEqual([reported(d.differing)]);
    expect(r.missingInTarget).toEqual([]);
    expect(r.extraInTarget).toEqual([]);
    expect(r.chunks[0]!.lower).toEqual([String(from)]);
    expect(r.chunks.at(-1)!.upper).toEqual([String(to)]);
  }, TIMEOUT_MS);

  it('a composite key (shard, Snowflake id) locates the planted rows', async () => {
    const load = async (db: PostgresInstance) => {
      const r = rowsOf(keys, (i) => i % 3);
      await db.sql('CREATE TABLE sharded_ids (shard int, id bigint, payload text NOT NULL, amount numeric(12,2), PRIMARY KEY (shard, id))');
      await db.sql('INSERT INTO sharded_ids SELECT * FROM unnest($1::int[], $2::bigint[], $3::text[], $4::numeric[])', [r.shards, r.ids, r.payloads, r.amounts]);
    };
    await Promise.all([load(source), load(target)]);
    const same = await compare({ table: 'sharded_ids' }, SMALL);
    expect(same.match).toBe(true);
    expect(Math.max(...same.chunks.map((c) => Math.max(c.sourceRows, c.targetRows)))).toBeLessThanOrEqual(SMALL.chunkSize);
    await target.sql('DELETE FROM sharded_ids WHERE shard = 1 AND id = $1', [String(keys[301])]); // 301 % 3 = 1
    await target.sql("UPDATE sharded_ids SET amount = amount + 1 WHERE shard = 2 AND id = $1", [String(keys[500])]);
    await target.sql("INSERT INTO sharded_ids VALUES (0, $1, 'extra', 0)", [String(midKey(keys[700]!, keys[701]!))]);
    const r = await compare({ table: 'sharded_ids' }, SMALL);
    expect(r.missingInTarget).toEqual([{ shard: 1, id: reported(keys[301]!) }]);
    expect(r.differing.map((x) => [x.key, x.columns])).toEqual([[{ shard: 2, id: reported(keys[500]!) }, ['amount']]]);
    expect(r.extraInTarget).toEqual([{ shard: 0, id: reported(midKey(keys[700]!, keys[701]!)) }]);
  }, TIMEOUT_MS);

  it('a nullable sparse --key: NULL-key rows are counted and the table does not match; the rest is compared', async () => {
    const load = async (db: PostgresInstance) => {
      const r = rowsOf(keys);
      await db.sql('CREATE TABLE external_ids (ext_id bigint, payload text NOT NULL, amount numeric(12,2))');
      await db.sql('INSERT INTO external_ids SELECT * FROM unnest($1::bigint[], $2::text[], $3::numeric[])', [r.ids, r.payloads, r.amounts]);
      await db.sql("INSERT INTO external_ids VALUES (NULL, 'no key yet', 0)");
    };
    await Promise.all([load(source), load(target)]);
    await target.sql("UPDATE external_ids SET payload = 'changed' WHERE ext_id = $1", [String(keys[999])]);
    const r = await compare({ table: 'external_ids', key: ['ext_id'] }, SMALL);
    expect(r.match).toBe(false);
    expect(r.warnings.some((w) => w.includes('1 source and 1 target rows have a NULL in the key'))).toBe(true);
    expect([r.sourceRows, r.targetRows]).toEqual([1003, 1003]);
    expect(r.differing.map((x) => x.key.ext_id)).toEqual([reported(keys[999]!)]);
  }, TIMEOUT_MS);

  it('a keyless table of sparse ids is compared in buckets and finds the missing copy', async () => {
    const load = async (db: PostgresInstance) => {
      await db.sql('CREATE TABLE keyless_ids (id bigint, payload text)');
      await db.sql("INSERT INTO keyless_ids SELECT unnest($1::bigint[]), 'p'", [keys.map(String)]);
    };
    await Promise.all([load(source), load(target)]);
    await target.sql('DELETE FROM keyless_ids WHERE id = $1', [String(keys[42])]);
    const r = await compare({ table: 'keyless_ids' }, SMALL);
    expect(r.keyless).toBe(true);
    expect(r.missingInTarget).toEqual([{ id: reported(keys[42]!), payload: 'p' }]);
    expect(r.extraInTarget).toEqual([]);
  }, TIMEOUT_MS);
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/runbook-harness.js', 'reconcile', ...args], { timeout: TIMEOUT_MS, env: { ...process.env, RUNBOOK_HARNESS_STATE_DIR: outputDir } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 2) : 0, stdout, stderr }),
    );
  });
}

describe('runbook-harness reconcile on 1,003 Snowflake ids', () => {
  it.each([
    { label: 'with --checksum', flags: ['--checksum'] },
    { label: 'without --checksum', flags: [] },
  ])('$label: exits 1 and names the planted rows', async ({ flags }) => {
    const c = CASES[0]!;
    const d = c.damage(c.keys);
    const r = await cli('--table', `${c.table}_damaged`, ...flags, '--report-format', 'json', '--source-url', source.url, '--target-url', target.url, '--output-dir', outputDir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const t = JSON.parse(r.stdout).tables[0];
    expect(t).toMatchObject({ sourceRows: 1003, targetRows: 1003, diffCounts: { missingInTarget: 1, extraInTarget: 1, differing: 1 } });
    expect(ids(t.missingInTarget)).toEqual([reported(d.missing)]);
    expect(ids(t.extraInTarget)).toEqual([reported(d.extra)]);
    expect(t.differing.map((x: { key: RowKey }) => x.key.id)).toEqual([reported(d.differing)]);
  }, TIMEOUT_MS + 5_000);
});

/**
 * Differential test: random tables, random damage (deletes, inserts, edits, swaps), ground truth computed here;
 * reconcile must report exactly the damaged keys (no false positive, no miss) in both hash modes, for an integer
 * key and a composite text key. Seeded, so a failure replays.
 */
import { prng } from '../support/prng.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile, type HashMode, type TableReport } from '../../harness/verify/reconcile/index.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';

let source: PostgresInstance;
let target: PostgresInstance;
beforeAll(async () => {
  [source, target] = await Promise.all([startPostgresInstance(), startPostgresInstance()]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

type Row = { region: string; id: number; a: number | null; s: string | null; n: string | null; ts: string | null; b: boolean | null };
const TEXTS = ['', ' ', 'a', 'a ', 'A', 'é', 'e\u0301', '😀', 'x|y', 'back\\slash', '\\N', 'NULL', 'tab\tnew\nline'];

function randomRow(rand: () => number, region: string, id: number): Row {
  const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const maybe = <T,>(v: T) => (rand() < 0.15 ? null : v);
  return {
    region,
    id,
    a: maybe(Math.floor(rand() * 1000) - 500),
    s: maybe(pick(TEXTS) + (rand() < 0.5 ? String(Math.floor(rand() * 10)) : '')),
    n: maybe((Math.floor(rand() * 100000) / 100).toFixed(2)),
    ts: maybe(new Date(Date.UTC(2024, 0, 1) + Math.floor(rand() * 1e10)).toISOString().replace('Z', '') + String(Math.floor(rand() * 1000)).padStart(3, '0') + '+00'),
    b: maybe(rand() < 0.5),
  };
}

/** A value different from v under every comparison rule used (no 1.10-vs-1.1 style equal pairs). */
function changed(rand: () => number, row: Row, column: keyof Row): Row {
  const r = { ...row };
  switch (column) {
    case 'a': r.a = r.a === null ? 0 : rand() < 0.3 ? null : r.a + 1; break;
    case 's': r.s = r.s === null ? '' : r.s === '' ? null : rand() < 0.5 ? r.s + ' ' : `${r.s}x`; break;
    case 'n': r.n = r.n === null ? '0.00' : (Number(r.n) + 0.01).toFixed(2); break;
    case 'ts': r.ts = r.ts === null ? '2024-01-01 00:00:00+00' : r.ts.replace(/(\d{3})\+00$/, (m, us) => `${String((Number(us) + 1) % 1000).padStart(3, '0')}+00`); break;
    case 'b': r.b = r.b === null ? true : rand() < 0.3 ? null : !r.b; break;
    default: break;
  }
  return r;
}

async function load(db: PostgresInstance, table: string, rows: Row[], compositeKey: boolean): Promise<void> {
  await db.sql(`CREATE TABLE ${table} (region text, id int, a int, s text, n numeric(10,2), ts timestamptz, b bool, PRIMARY KEY (${compositeKey ? 'region, id' : 'id'}))`);
  if (!rows.length) return;
  await db.sql(
    `INSERT INTO ${table} SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::numeric[], $6::timestamptz[], $7::bool[])`,
    [rows.map((r) => r.region), rows.map((r) => r.id), rows.map((r) => r.a), rows.map((r) => r.s), rows.map((r) => r.n), rows.map((r) => r.ts), rows.map((r) => r.b)],
  );
}

/** Damaged keys per suite, so the suite proves it exercised differences and not only identical pairs. */
const damaged = new Map<string, number>();

const keyOf = (r: Row, composite: boolean) => (composite ? JSON.stringify({ region: r.region, id: r.id }) : JSON.stringify({ id: r.id }));

describe.each<[HashMode, boolean]>([
  ['native', false],
  ['canonical', false],
  ['native', true],
  ['canonical', true],
])('randomized damage, %s hashing, composite key %s', (hashMode, composite) => {
  it.each(Array.from({ length: 6 }, (_, i) => i + 1))('round %i reports exactly the damaged keys', async (round) => {
    const rand = prng(round * 7919 + (composite ? 13 : 0) + (hashMode === 'native' ? 0 : 101));
    const regions = composite ? ['ap', 'eu', 'us'] : ['eu'];
    const sourceRows: Row[] = [];
    let nextId = 1;
    for (const region of regions) for (let i = 0; i < 150; i++) sourceRows.push(randomRow(rand, region, composite ? i + 1 : nextId++));
    const targetRows = sourceRows.map((r) => ({ ...r }));
    const expected = { missing: new Set<string>(), extra: new Set<string>(), differing: new Set<string>() };
    const touched = new Set<number>();
    const pickIndex = () => {
      for (;;) {
        const i = Math.floor(rand() * targetRows.length);
        if (!touched.has(i)) return (touched.add(i), i);
      }
    };
    for (let k = Math.floor(rand() * 4); k > 0; k--) targetRows[pickIndex()] = { ...targetRows[0]!, id: -1 }; // deleted below
    for (let k = Math.floor(rand() * 4); k > 0; k--) {
      const i = pickIndex();
      const column = (['a', 's', 'n', 'ts', 'b'] as const)[Math.floor(rand() * 5)]!;
      targetRows[i] = changed(rand, targetRows[i]!, column);
    }
    if (rand() < 0.5) {
      // swap one column's values between two rows that differ in it
      const i = pickIndex();
      const j = pickIndex();
      const [x, y] = [targetRows[i]!, targetRows[j]!];
      [targetRows[i], targetRows[j]] = [{ ...x, s: y.s }, { ...y, s: x.s }];
    }
    const survivors = targetRows.filter((r) => r.id !== -1);
    for (let k = Math.floor(rand() * 4); k > 0; k--) survivors.push(randomRow(rand, regions[Math.floor(rand() * regions.length)]!, 1000 + Math.floor(rand() * 1000) + k * 2000));

    const sourceByKey = new Map(sourceRows.map((r) => [keyOf(r, composite), r]));
    const targetByKey = new Map(survivors.map((r) => [keyOf(r, composite), r]));
    for (const [key, row] of sourceByKey) {
      const other = targetByKey.get(key);
      if (!other) expected.missing.add(key);
      else if (JSON.stringify(other) !== JSON.stringify(row)) expected.differing.add(key);
    }
    for (const key of targetByKey.keys()) if (!sourceByKey.has(key)) expected.extra.add(key);

    const table = `rnd_${hashMode}_${composite ? 'c' : 'i'}_${round}`;
    await Promise.all([load(source, table, sourceRows, composite), load(target, table, survivors, composite)]);
    const report = await reconcile({
      sourceUrl: source.url,
      targetUrl: target.url,
      tables: [{ table }],
      options: { hashMode, chunkSize: 40, chunkTimeSeconds: 0, rowFetchThreshold: 12, splitFanout: 3, maxDiffRows: 1000 },
    });
    const t: TableReport = report.tables[0]!;
    const keys = (list: Record<string, unknown>[]) => list.map((k) => JSON.stringify(composite ? { region: k.region, id: k.id } : { id: k.id })).sort();
    expect(t.error).toBeUndefined();
    expect(keys(t.missingInTarget)).toEqual([...expected.missing].sort());
    expect(keys(t.extraInTarget)).toEqual([...expected.extra].sort());
    expect(keys(t.differing.map((d) => d.key))).toEqual([...expected.differing].sort());
    expect(t.match).toBe(expected.missing.size + expected.extra.size + expected.differing.size === 0);
    const suite = `${hashMode}/${composite}`;
    damaged.set(suite, (damaged.get(suite) ?? 0) + expected.missing.size + expected.extra.size + expected.differing.size);
  });

  it('damaged at least a dozen keys across the rounds', () => {
    expect(damaged.get(`${hashMode}/${composite}`)).toBeGreaterThanOrEqual(12);
  });
});

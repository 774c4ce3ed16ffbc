/**
 * Adversarial pairs on two real PostgreSQL instances: each test asserts the exact set of differing keys, in both
 * hash modes (native PostgreSQL hashing and the canonical text used across engines).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile, type HashMode, type ReconcileOptions, type TableReport, type TableSpec } from '../../harness/verify/reconcile/index.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';

let source: PostgresInstance;
let target: PostgresInstance;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgresInstance(), startPostgresInstance()]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

async function pair(ddl: string, sourceSql: string, targetSql: string, targetDdl = ddl): Promise<void> {
  await source.sql(ddl + ';' + sourceSql);
  await target.sql(targetDdl + ';' + targetSql);
}

async function compare(spec: TableSpec | string, options: Partial<ReconcileOptions> = {}): Promise<TableReport> {
  const report = await reconcile({ sourceUrl: source.url, targetUrl: target.url, tables: [typeof spec === 'string' ? { table: spec } : spec], options });
  return report.tables[0]!;
}

const keysOf = (keys: Record<string, unknown>[]) => keys.map((k) => JSON.stringify(k)).sort();
const differingOf = (t: TableReport) => t.differing.map((d) => `${JSON.stringify(d.key)}:${d.columns.join(',')}`).sort();

describe.each<HashMode>(['native', 'canonical'])('reconcile, %s hashing', (hashMode) => {
  const t = (name: string) => `${name}_${hashMode}`;
  const opts = (more: Partial<ReconcileOptions> = {}) => ({ hashMode, ...more });

  it('finds no difference in an identical pair of many types', async () => {
    const ddl = `CREATE TABLE ${t('same')} (id int PRIMARY KEY, name text, price numeric(12,2), at timestamptz, ok bool, u uuid, b bytea, d date, f float8)`;
    const rows = `INSERT INTO ${t('same')} SELECT g, 'n' || g, g * 1.25, '2024-01-01'::timestamptz + g * interval '1.5 s', g % 2 = 0, md5(g::text)::uuid, decode(md5(g::text), 'hex'), date '2024-01-01' + g, g / 7.0 FROM generate_series(1, 5000) g`;
    await pair(ddl, rows, rows);
    const r = await compare(t('same'), opts({ chunkSize: 700, chunkTimeSeconds: 0 }));
    expect(r.error).toBeUndefined();
    expect(r.match).toBe(true);
    expect([r.sourceRows, r.targetRows]).toEqual([5000, 5000]);
    expect(r.chunkStats.count).toBeGreaterThan(5);
    expect(r.diffCounts).toEqual({ missingInTarget: 0, extraInTarget: 0, differing: 0 });
  });

  it('tells NULL from the empty string', async () => {
    const ddl = `CREATE TABLE ${t('nul')} (id int PRIMARY KEY, note text)`;
    await pair(ddl, `INSERT INTO ${t('nul')} VALUES (1, NULL), (2, ''), (3, NULL), (4, 'x')`, `INSERT INTO ${t('nul')} VALUES (1, ''), (2, NULL), (3, NULL), (4, 'x')`);
    const r = await compare(t('nul'), opts());
    expect(r.match).toBe(false);
    expect(differingOf(r)).toEqual(['{"id":1}:note', '{"id":2}:note']);
    expect(r.differing.find((d) => d.key.id === 1)).toMatchObject({ source: { note: null }, target: { note: '' } });
  });

  it('counts trailing spaces in varchar, not in char(n)', async () => {
    const ddl = `CREATE TABLE ${t('pad')} (id int PRIMARY KEY, v varchar(10), c char(5))`;
    await pair(ddl, `INSERT INTO ${t('pad')} VALUES (1, 'a', 'a'), (2, 'b ', 'b'), (3, 'c', 'c  ')`, `INSERT INTO ${t('pad')} VALUES (1, 'a ', 'a'), (2, 'b ', 'b   '), (3, 'c', 'c')`);
    const r = await compare(t('pad'), opts());
    expect(differingOf(r)).toEqual(['{"id":1}:v']);
  });

  it('treats 1.10 and 1.1 as equal at equal scale, and 1.10 vs 1.11 as a difference', async () => {
    const ddl = `CREATE TABLE ${t('num')} (id int PRIMARY KEY, fixed numeric(10,2), free numeric)`;
    await pair(
      ddl,
      `INSERT INTO ${t('num')} VALUES (1, 1.10, 1.10), (2, 2.5, 2.50), (3, 1.10, 7)`,
      `INSERT INTO ${t('num')} VALUES (1, 1.1, 1.1), (2, 2.50, 2.5), (3, 1.11, 7)`,
    );
    const r = await compare(t('num'), opts());
    expect(differingOf(r)).toEqual(['{"id":3}:fixed']);
  });

  it('renders numerics at the declared scale when only one side declares it', async () => {
    await pair(
      `CREATE TABLE ${t('scale')} (id int PRIMARY KEY, amount numeric(10,2))`,
      `INSERT INTO ${t('scale')} VALUES (1, 1.10), (2, 3.00), (3, 4.20)`,
      `INSERT INTO ${t('scale')} VALUES (1, 1.1), (2, 3), (3, 4.2001)`,
      `CREATE TABLE ${t('scale')} (id int PRIMARY KEY, amount numeric)`,
    );
    const r = await compare(t('scale'), opts());
    expect(differingOf(r)).toEqual(['{"id":3}:amount']);
  });

  it('reports lost timestamp precision and accepts the same instant written in another offset', async () => {
    await pair(
      `CREATE TABLE ${t('ts')} (id int PRIMARY KEY, at timestamp(6), tz timestamptz)`,
      `INSERT INTO ${t('ts')} VALUES (1, '2024-05-01 10:00:00.123456', '2024-05-01 10:00:00+00'), (2, '2024-05-01 10:00:00.123', '2024-05-01 12:00:00+02')`,
      `INSERT INTO ${t('ts')} VALUES (1, '2024-05-01 10:00:00.123456', '2024-05-01 12:00:00+02'), (2, '2024-05-01 10:00:00.123', '2024-05-01 10:00:00+00')`,
      `CREATE TABLE ${t('ts')} (id int PRIMARY KEY, at timestamp(3), tz timestamptz)`,
    );
    const r = await compare(t('ts'), opts());
    expect(differingOf(r)).toEqual(['{"id":1}:at']);
    expect(r.differing[0]!.target.at).toMatch(/10:00:00\.123/);
  });

  it('compares unicode as stored (NFC vs NFD differ, identical emoji do not)', async () => {
    const ddl = `CREATE TABLE ${t('uni')} (id int PRIMARY KEY, s text)`;
    await pair(
      ddl,
      `INSERT INTO ${t('uni')} VALUES (1, U&'caf\\00E9'), (2, '😀 Grüße'), (3, '日本語')`,
      `INSERT INTO ${t('uni')} VALUES (1, U&'cafe\\0301'), (2, '😀 Grüße'), (3, '日本語 ')`,
    );
    const r = await compare(t('uni'), opts());
    expect(differingOf(r)).toEqual(['{"id":1}:s', '{"id":3}:s']);
  });

  it('sees two values swapped between rows', async () => {
    const ddl = `CREATE TABLE ${t('swap')} (id int PRIMARY KEY, a int, b text)`;
    const base = `INSERT INTO ${t('swap')} SELECT g, g * 10, 'v' || g FROM generate_series(1, 3000) g`;
    await pair(ddl, base, `${base}; UPDATE ${t('swap')} SET a = CASE id WHEN 1200 THEN 17000 ELSE 12000 END WHERE id IN (1200, 1700)`);
    const r = await compare(t('swap'), opts({ chunkSize: 1000, chunkTimeSeconds: 0 }));
    expect(differingOf(r)).toEqual(['{"id":1200}:a', '{"id":1700}:a']);
  });

  it('finds a row moved across a chunk boundary as one missing and one extra key', async () => {
    const ddl = `CREATE TABLE ${t('moved')} (id int PRIMARY KEY, v text)`;
    const base = `INSERT INTO ${t('moved')} SELECT g, 'v' || g FROM generate_series(1, 2000) g WHERE g <> 1001`;
    await pair(ddl, `${base}; INSERT INTO ${t('moved')} VALUES (1001, 'moving')`, `${base}; UPDATE ${t('moved')} SET id = 1001 WHERE id = 1000; INSERT INTO ${t('moved')} VALUES (1000, 'moving')`);
    // source: 1000 'v1000', 1001 'moving'; target: 1000 'moving', 1001 'v1000' -> with fixed 1000-key chunks the
    // pair straddles the boundary at 1001, so both chunks disagree.
    const r = await compare(t('moved'), opts({ chunkSize: 1000, chunkTimeSeconds: 0 }));
    expect(differingOf(r)).toEqual(['{"id":1000}:v', '{"id":1001}:v']);
    expect(r.chunkStats.mismatched).toBe(2);
  });

  it('reports missing and extra rows, and a table that is empty on one side', async () => {
    const ddl = `CREATE TABLE ${t('gap')} (id bigint PRIMARY KEY, v text)`;
    await pair(ddl, `INSERT INTO ${t('gap')} SELECT g, 'x' FROM generate_series(1, 500) g WHERE g <> 250`, `INSERT INTO ${t('gap')} SELECT g, 'x' FROM generate_series(1, 501) g WHERE g <> 10`);
    const r = await compare(t('gap'), opts({ chunkSize: 100, chunkTimeSeconds: 0 }));
    expect(keysOf(r.missingInTarget)).toEqual(['{"id":10}']);
    expect(keysOf(r.extraInTarget)).toEqual(['{"id":250}', '{"id":501}']);
    expect(r.differing).toEqual([]);

    const empty = `CREATE TABLE ${t('halfempty')} (id int PRIMARY KEY)`;
    await pair(empty, `INSERT INTO ${t('halfempty')} SELECT generate_series(1, 5000)`, '');
    const h = await compare(t('halfempty'), opts({ maxDiffRows: 10 }));
    expect([h.sourceRows, h.targetRows, h.diffCounts.missingInTarget, h.missingInTarget.length, h.truncated]).toEqual([5000, 0, 5000, 10, true]);
  });

  it('matches two empty tables', async () => {
    await pair(`CREATE TABLE ${t('empty')} (id int PRIMARY KEY, v text)`, '', '');
    const r = await compare(t('empty'), opts());
    expect([r.match, r.sourceRows, r.targetRows, r.error]).toEqual([true, 0, 0, undefined]);
  });

  it('compares a keyless table as a multiset, duplicates included', async () => {
    const ddl = `CREATE TABLE ${t('bag')} (a int, b text)`;
    await pair(ddl, `INSERT INTO ${t('bag')} VALUES (1, 'x'), (1, 'x'), (2, 'y'), (3, NULL)`, `INSERT INTO ${t('bag')} VALUES (1, 'x'), (2, 'y'), (2, 'y'), (3, '')`);
    const r = await compare(t('bag'), opts());
    expect(r.keyless).toBe(true);
    expect(r.warnings.join()).toMatch(/no primary key/);
    expect(keysOf(r.missingInTarget)).toEqual(['{"a":1,"b":"x"}', '{"a":3,"b":null}']);
    expect(keysOf(r.extraInTarget)).toEqual(['{"a":2,"b":"y"}', '{"a":3,"b":""}']);

    const same = `CREATE TABLE ${t('bag2')} (a int, b text)`;
    await pair(same, `INSERT INTO ${t('bag2')} VALUES (1, 'x'), (1, 'x'), (2, 'y')`, `INSERT INTO ${t('bag2')} VALUES (2, 'y'), (1, 'x'), (1, 'x')`);
    expect((await compare(t('bag2'), opts())).match).toBe(true);
  });

  it('lists a key duplicated in a target without a primary key as extra', async () => {
    await pair(
      `CREATE TABLE ${t('dupkey')} (id int PRIMARY KEY, v text)`,
      `INSERT INTO ${t('dupkey')} VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')`,
      `INSERT INTO ${t('dupkey')} VALUES (1, 'a'), (2, 'b'), (2, 'b'), (3, 'x'), (4, 'd'), (4, 'e')`,
      `CREATE TABLE ${t('dupkey')} (id int, v text)`,
    );
    const r = await compare(t('dupkey'), opts());
    expect(keysOf(r.extraInTarget)).toEqual(['{"id":2}', '{"id":4}']);
    expect(differingOf(r)).toEqual(['{"id":3}:v']);
    expect(r.missingInTarget).toEqual([]);
  });

  it('does not call a table matching when rows with a NULL --key were left out', async () => {
    const ddl = `CREATE TABLE ${t('nullkey')} (id int PRIMARY KEY, email text, v int)`;
    const rows = `INSERT INTO ${t('nullkey')} VALUES (1, 'a@x', 1), (2, NULL, 2), (3, 'c@x', 3)`;
    await pair(ddl, rows, rows.replace('(2, NULL, 2)', '(2, NULL, 20)'));
    const r = await compare({ table: t('nullkey'), key: ['email'] }, opts());
    expect(r.match).toBe(false);
    expect(r.warnings.join()).toMatch(/1 source and 1 target rows have a NULL in the key \(email\)/);
    expect([r.missingInTarget, r.extraInTarget, r.differing, r.sourceRows]).toEqual([[], [], [], 2]);
    expect((await compare({ table: t('nullkey') }, opts())).differing.map((d) => d.key)).toEqual([{ id: 2 }]);
  });

  it('walks composite and text keys', async () => {
    const ddl = `CREATE TABLE ${t('comp')} (region text, n int, v text, PRIMARY KEY (region, n))`;
    const base = `INSERT INTO ${t('comp')} SELECT r, g, r || g FROM unnest(ARRAY['eu','us','ap']) r, generate_series(1, 700) g`;
    await pair(ddl, `${base}; DELETE FROM ${t('comp')} WHERE region = 'us' AND n = 5`, `${base}; UPDATE ${t('comp')} SET v = 'changed' WHERE region = 'eu' AND n = 699; DELETE FROM ${t('comp')} WHERE region = 'ap' AND n = 1`);
    const r = await compare(t('comp'), opts({ chunkSize: 250, chunkTimeSeconds: 0, rowFetchThreshold: 40, splitFanout: 4 }));
    expect(r.keyColumns).toEqual(['region', 'n']);
    expect(keysOf(r.missingInTarget)).toEqual(['{"region":"ap","n":1}']);
    expect(keysOf(r.extraInTarget)).toEqual(['{"region":"us","n":5}']);
    expect(differingOf(r)).toEqual(['{"region":"eu","n":699}:v']);
    expect(r.chunkStats.count).toBeGreaterThan(5);
  });

  it('keeps chunk bounds consistent when the two sides collate a text key differently', async () => {
    // en-x-icu orders a < B < c; the databases' C.UTF-8 orders B < a < c. Bounds walked on one side must select
    // the same rows on the other, or rows would show up as missing in one chunk and extra in the next.
    const keys = ['a', 'B', 'c', 'D', 'e', 'F', 'g', 'H', 'i', 'J', 'k', 'L'];
    const values = keys.map((k, i) => `('${k}', ${i})`).join(', ');
    await pair(
      `CREATE TABLE ${t('coll')} (k text COLLATE "en-x-icu" PRIMARY KEY, v int)`,
      `INSERT INTO ${t('coll')} VALUES ${values}`,
      `INSERT INTO ${t('coll')} VALUES ${values}; UPDATE ${t('coll')} SET v = -1 WHERE k = 'F'`,
      `CREATE TABLE ${t('coll')} (k text PRIMARY KEY, v int)`,
    );
    const r = await compare(t('coll'), opts({ chunkSize: 3, chunkTimeSeconds: 0, rowFetchThreshold: 2, splitFanout: 2 }));
    expect(r.chunkStats.count).toBeGreaterThanOrEqual(4);
    expect(r.missingInTarget).toEqual([]);
    expect(r.extraInTarget).toEqual([]);
    expect(differingOf(r)).toEqual(['{"k":"F"}:v']);
    expect(r.warnings.join()).toMatch(/text key source\.k is compared in the "C" collation/);
  });

  it('ignores and maps columns, and limits to a key range', async () => {
    await pair(
      `CREATE TABLE ${t('map')} (id int PRIMARY KEY, full_name text, v int)`,
      `INSERT INTO ${t('map')} SELECT g, 'n' || g, g FROM generate_series(1, 100) g`,
      `INSERT INTO ${t('map')} SELECT g, 'n' || g, CASE WHEN g IN (10, 90) THEN -1 ELSE g END, g % 2 = 0 FROM generate_series(1, 100) g`,
      `CREATE TABLE ${t('map')} (id int PRIMARY KEY, name text, v int, __deleted bool)`,
    );
    const spec = { table: t('map'), columnMap: { full_name: 'name' }, ignoreColumns: ['__deleted'] };
    const r = await compare(spec, opts());
    expect(r.comparedColumns).toEqual(['id', 'full_name', 'v']);
    expect(differingOf(r)).toEqual(['{"id":10}:v', '{"id":90}:v']);
    const ranged = await compare({ ...spec, keyRange: { from: ['50'], to: ['100'] } }, opts());
    expect(differingOf(ranged)).toEqual(['{"id":90}:v']);
    expect(ranged.sourceRows).toBe(50);
    const unmapped = await compare({ table: t('map') }, opts());
    expect([unmapped.match, unmapped.columnsMissingInTarget, unmapped.columnsOnlyInTarget]).toEqual([false, ['full_name'], ['name', '__deleted']]);
  });

  it('folds an unquoted table name like PostgreSQL and rejects a key range of the wrong width', async () => {
    const ddl = `CREATE TABLE ${t('folded')} (id int PRIMARY KEY)`;
    await pair(ddl, `INSERT INTO ${t('folded')} VALUES (1)`, `INSERT INTO ${t('folded')} VALUES (1)`);
    expect((await compare(t('Folded'), opts())).match).toBe(true);
    const wide = await compare({ table: t('folded'), keyRange: { from: ['1', '2'] } }, opts());
    expect(wide.error).toBe('--from-key has 2 value(s) but the key (id) has 1 column(s); give one value per key column');
  });

  it('reports a table missing on one side as an error, not a mismatch', async () => {
    await source.sql(`CREATE TABLE ${t('only_src')} (id int PRIMARY KEY)`);
    const r = await compare(t('only_src'), opts());
    expect(r.match).toBe(false);
    expect(r.error).toMatch(new RegExp(`table ${t('only_src')} not found in the target \\(postgres://postgres:\\*\\*\\*@`));
  });
});

describe('reconcile at scale', () => {
  it('finds the one differing row in 1,000,000', async () => {
    const ddl = `CREATE TABLE big (id int PRIMARY KEY, a int, s text, x numeric(12,3), at timestamptz)`;
    const rows = `INSERT INTO big SELECT g, g % 1000, 'row ' || g, g / 3.0, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 1000000) g`;
    await pair(ddl, rows, `${rows}; UPDATE big SET s = 'row 777777 ' WHERE id = 777777`);
    await Promise.all([source.sql('VACUUM ANALYZE big'), target.sql('VACUUM ANALYZE big')]);
    const r = await compare('big');
    expect([r.sourceRows, r.targetRows]).toEqual([1_000_000, 1_000_000]);
    expect(differingOf(r)).toEqual(['{"id":777777}:s']);
    expect(r.missingInTarget).toEqual([]);
    expect(r.extraInTarget).toEqual([]);
  });
});

describe('keyless at scale', () => {
  it('finds a duplicated and a changed row among 200,000 keyless rows', async () => {
    const ddl = `CREATE TABLE bag_big (a int, b text)`;
    const rows = `INSERT INTO bag_big SELECT g % 150000, 'v' || g FROM generate_series(1, 200000) g`;
    await pair(ddl, rows, `${rows}; INSERT INTO bag_big VALUES (42, 'v42'); UPDATE bag_big SET b = 'changed' WHERE b = 'v199999'`);
    const r = await compare('bag_big');
    expect([r.sourceRows, r.targetRows]).toEqual([200000, 200001]);
    expect(keysOf(r.missingInTarget)).toEqual(['{"a":49999,"b":"v199999"}']);
    expect(keysOf(r.extraInTarget)).toEqual(['{"a":42,"b":"v42"}', '{"a":49999,"b":"changed"}']);
  });
});

describe('reconcile errors', () => {
  it('names the endpoint without the password when the credentials are wrong', async () => {
    const wrong = source.url.replace(source.password, 'not-the-password');
    const failure = await reconcile({ sourceUrl: wrong, targetUrl: target.url, tables: [{ table: 'x' }] }).catch((e: Error) => e);
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toMatch(/^cannot connect to source database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/harness: password authentication failed/);
    expect(message).not.toContain('not-the-password');
    expect(message).not.toContain('\n');
  });

  it('names the endpoint when nothing listens there', async () => {
    const failure = await reconcile({ sourceUrl: source.url, targetUrl: 'postgres://u:secret@127.0.0.1:1/db', tables: [{ table: 'x' }] }).catch((e: Error) => e);
    expect((failure as Error).message).toMatch(/^cannot connect to target database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: .*ECONNREFUSED/);
  });
});

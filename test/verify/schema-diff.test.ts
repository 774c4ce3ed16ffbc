/** Schema drift as typed findings: PostgreSQL pairs for real, SQL Server -> PostgreSQL on introspected shapes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type ColumnInfo, type SqlSession, type TableInfo } from '../../harness/verify/reconcile/index.js';
import { diffSchemas, diffTableSchema, normalizeDefault } from '../../harness/verify/schema-diff.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';

let sourceDb: PostgresInstance;
let targetDb: PostgresInstance;
let source: SqlSession;
let target: SqlSession;

beforeAll(async () => {
  [sourceDb, targetDb] = await Promise.all([startPostgresInstance(), startPostgresInstance()]);
  [source, target] = await Promise.all([openSession(sourceDb.url, 'source'), openSession(targetDb.url, 'target')]);
});
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
  await Promise.all([sourceDb?.stop(), targetDb?.stop()]);
});

const kinds = (findings: { kind: string; severity: string; column?: string }[]) => findings.map((f) => `${f.severity}:${f.kind}:${f.column ?? ''}`).sort();

describe('schema diff, PostgreSQL -> PostgreSQL', () => {
  it('finds no drift between identical tables', async () => {
    const ddl = "CREATE TABLE same_t (id int PRIMARY KEY, name varchar(40) NOT NULL DEFAULT 'x', amount numeric(10,2), at timestamptz DEFAULT now())";
    await Promise.all([sourceDb.sql(ddl), targetDb.sql(ddl)]);
    const diff = await diffTableSchema(source, target, 'same_t');
    expect(diff).toMatchObject({ match: true, findings: [] });
  });

  it('reports every kind of drift with its severity', async () => {
    await sourceDb.sql(`CREATE TABLE drift (id int, region text, name varchar(40) NOT NULL, amount numeric(12,4), note text, at timestamp(6), big int, gone text, PRIMARY KEY (id, region))`);
    await targetDb.sql(`CREATE TABLE drift (id int PRIMARY KEY, region text, name varchar(20) NOT NULL DEFAULT 'n/a', amount numeric(12,2), note text NOT NULL, at timestamp(3), big bigint, __deleted text)`);
    const diff = await diffTableSchema(source, target, 'drift');
    expect(diff.match).toBe(false);
    expect(kinds(diff.findings)).toEqual([
      'error:column-missing-in-target:gone',
      'error:length-narrowed:name',
      'error:nullability-mismatch:note',
      'error:numeric-narrowed:amount',
      'error:primary-key-mismatch:',
      'error:time-precision-narrowed:at',
      'warning:column-only-in-target:__deleted',
      'warning:default-mismatch:name',
      'warning:nullability-mismatch:region',
    ]);
    const pk = diff.findings.find((f) => f.kind === 'primary-key-mismatch');
    expect(pk).toMatchObject({ sourceKey: ['id', 'region'], targetKey: ['id'] });
  });

  it('follows renames and ignores, and reports a missing table as a finding', async () => {
    await sourceDb.sql('CREATE TABLE ren (id int PRIMARY KEY, full_name text)');
    await targetDb.sql('CREATE TABLE ren (id int PRIMARY KEY, name text, __deleted text)');
    expect((await diffTableSchema(source, target, 'ren', { columnMap: { full_name: 'name' }, ignoreColumns: ['__deleted'] })).findings).toEqual([]);
    const missing = await diffTableSchema(source, target, 'nowhere');
    expect(missing.match).toBe(false);
    expect(missing.findings).toEqual([expect.objectContaining({ kind: 'table-missing', side: 'source', severity: 'error' })]);
  });
});

describe('schema diff, SQL Server -> PostgreSQL type map', () => {
  const col = (name: string, dataType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({ name, dataType, sqlType: dataType, nullable: true, default: null, ...extra });
  const table = (name: string, columns: ColumnInfo[], primaryKey: string[]): TableInfo => ({ table: { schema: 'dbo', name }, columns, primaryKey });

  it('accepts the mapped types and flags the rest', () => {
    const src = table('orders', [
      col('id', 'int', { nullable: false }),
      col('flag', 'bit'),
      col('price', 'money'),
      col('total', 'decimal', { numericPrecision: 18, numericScale: 4, sqlType: 'decimal(18,4)' }),
      col('created', 'datetime', { default: '(getdate())' }),
      col('stamp', 'datetime2', { datetimePrecision: 7, sqlType: 'datetime2(7)' }),
      col('guid', 'uniqueidentifier'),
      col('name', 'nvarchar', { characterLength: 50, sqlType: 'nvarchar(50)' }),
      col('blob', 'varbinary'),
      col('wrong', 'int'),
    ], ['id']);
    const tgt = { ...table('orders', [
      col('id', 'int4', { nullable: false }),
      col('flag', 'bool'),
      col('price', 'numeric', { numericPrecision: 19, numericScale: 2, sqlType: 'numeric(19,2)' }),
      col('total', 'numeric', { numericPrecision: 18, numericScale: 4, sqlType: 'numeric(18,4)' }),
      col('created', 'timestamp', { datetimePrecision: 6, default: 'now()' }),
      col('stamp', 'timestamp', { datetimePrecision: 6 }),
      col('guid', 'text'),
      col('name', 'varchar', { characterLength: 50 }),
      col('blob', 'bytea'),
      col('wrong', 'text'),
    ], ['id']), table: { schema: 'public', name: 'orders' } };
    const diff = diffSchemas({ dialect: 'sqlserver', info: src }, { dialect: 'postgres', info: tgt });
    expect(kinds(diff.findings)).toEqual(['error:numeric-narrowed:price', 'error:type-mismatch:wrong']);
    expect(diff.findings.find((f) => f.kind === 'type-mismatch')).toMatchObject({ expectedTargetTypes: ['int4', 'int8'] });
  });

  it('normalises defaults across engines', () => {
    expect(normalizeDefault('((0))')).toBe(normalizeDefault('0'));
    expect(normalizeDefault('(getdate())')).toBe(normalizeDefault('now()'));
    expect(normalizeDefault("(N'abc')")).toBe(normalizeDefault("'abc'::text"));
    expect(normalizeDefault("'abc'")).not.toBe(normalizeDefault("'abd'"));
  });
});

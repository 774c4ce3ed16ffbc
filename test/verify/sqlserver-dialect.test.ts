/**
 * SQL Server -> PostgreSQL comparisons. There is no SQL Server on this machine, so the T-SQL is tested on its text;
 * the PostgreSQL half of the canonical contract (same text, same SHA-256-derived hash) is run for real.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildComparePlan, type ComparePlan } from '../../harness/verify/reconcile/compare-plan.js';
import { postgresCanonicalText, postgresDialect, postgresRowHash } from '../../harness/verify/reconcile/postgres-dialect.js';
import { sqlServerCanonicalText, sqlServerDialect, sqlServerTrimZeros } from '../../harness/verify/reconcile/sqlserver-dialect.js';
import type { ColumnInfo, TableInfo } from '../../harness/verify/reconcile/reconcile-types.js';
import { openSession } from '../../harness/verify/reconcile/session-open.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';

const col = (name: string, dataType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({ name, dataType, sqlType: dataType, nullable: true, default: null, ...extra });

const sqlServerOrders: TableInfo = {
  table: { schema: 'dbo', name: 'orders' },
  primaryKey: ['region', 'order_id'],
  columns: [
    col('region', 'nvarchar', { sqlType: 'nvarchar(10)', characterLength: 10, nullable: false }),
    col('order_id', 'int', { nullable: false }),
    col('amount', 'decimal', { sqlType: 'decimal(12,2)', numericPrecision: 12, numericScale: 2 }),
    col('paid', 'bit'),
    col('created', 'datetime'),
    col('updated', 'datetime2', { sqlType: 'datetime2(7)', datetimePrecision: 7 }),
    col('at_offset', 'datetimeoffset', { sqlType: 'datetimeoffset(7)' }),
    col('ref', 'uniqueidentifier'),
    col('code', 'nchar', { sqlType: 'nchar(5)', characterLength: 5 }),
    col('blob', 'varbinary', { sqlType: 'varbinary(max)' }),
    col('weird]name', 'int'),
  ],
};
const postgresOrders: TableInfo = {
  table: { schema: 'public', name: 'orders' },
  primaryKey: ['region', 'order_id'],
  columns: [
    col('region', 'varchar', { sqlType: 'character varying(10)', characterLength: 10, nullable: false }),
    col('order_id', 'int4', { sqlType: 'integer', nullable: false }),
    col('amount', 'numeric', { sqlType: 'numeric(12,2)', numericPrecision: 12, numericScale: 2 }),
    col('paid', 'bool', { sqlType: 'boolean' }),
    col('created', 'timestamp', { sqlType: 'timestamp(6) without time zone' }),
    col('updated', 'timestamp', { sqlType: 'timestamp(6) without time zone' }),
    col('at_offset', 'timestamptz', { sqlType: 'timestamp with time zone' }),
    col('ref', 'text'),
    col('code', 'text'),
    col('blob', 'bytea'),
    col('weird]name', 'int4', { sqlType: 'integer' }),
    col('__deleted', 'text'),
  ],
};

function plan(): ComparePlan {
  const result = buildComparePlan({ table: 'orders', ignoreColumns: ['__deleted'] }, { dialect: 'sqlserver', info: sqlServerOrders }, { dialect: 'postgres', info: postgresOrders });
  if ('error' in result) throw new Error(result.error);
  return result.plan;
}
const columnOf = (p: ComparePlan['source'], name: string) => p.columns.find((c) => c.column.name === name)!;

describe('SQL Server dialect (generated T-SQL, not executed here)', () => {
  it('chooses canonical hashing and binary key collation across engines', () => {
    const p = plan();
    expect(p.source.hashMode).toBe('canonical');
    expect(p.target.hashMode).toBe('canonical');
    expect(p.source.binaryKeyCollation).toBe(true);
    expect(p.keyColumns).toEqual(['region', 'order_id']);
    expect(p.columnsOnlyInTarget).toEqual([]);
  });

  it('renders each type to the canonical text', () => {
    const s = plan().source;
    expect(sqlServerCanonicalText(columnOf(s, 'order_id'))).toBe('CONVERT(varchar(20), [order_id])');
    expect(sqlServerCanonicalText(columnOf(s, 'amount'))).toBe('CONVERT(varchar(60), CAST([amount] AS decimal(38,2)))');
    expect(sqlServerCanonicalText(columnOf(s, 'paid'))).toBe('CONVERT(varchar(1), [paid])');
    expect(sqlServerCanonicalText(columnOf(s, 'created'))).toBe('CONVERT(varchar(26), CAST(CAST([created] AS datetime2(3)) AS datetime2(6)), 121)');
    expect(sqlServerCanonicalText(columnOf(s, 'updated'))).toBe('CONVERT(varchar(26), CAST([updated] AS datetime2(6)), 121)');
    expect(sqlServerCanonicalText(columnOf(s, 'at_offset'))).toBe("CONVERT(varchar(26), CAST(SWITCHOFFSET([at_offset], '+00:00') AS datetime2(6)), 121)");
    expect(sqlServerCanonicalText(columnOf(s, 'ref'))).toBe('LOWER(CONVERT(varchar(36), [ref]))');
    expect(sqlServerCanonicalText(columnOf(s, 'code'))).toBe('RTRIM(CAST([code] AS nvarchar(max)))');
    expect(sqlServerCanonicalText(columnOf(s, 'region'))).toBe('CAST([region] AS nvarchar(max))');
    expect(sqlServerCanonicalText(columnOf(s, 'blob'))).toBe('LOWER(CONVERT(varchar(max), [blob], 2))');
    expect(sqlServerCanonicalText(columnOf(s, 'weird]name'))).toBe('CONVERT(varchar(20), [weird]]name])');
    expect(sqlServerTrimZeros('v')).toBe("CASE WHEN CHARINDEX('.', v) > 0 THEN REPLACE(RTRIM(REPLACE(REPLACE(RTRIM(REPLACE(v, '0', ' ')), ' ', '0'), '.', ' ')), ' ', '.') ELSE v END");
  });

  it('hashes SHA-256 of the UTF-8 row text, first 8 bytes as bigint, summed exactly', () => {
    const p = plan();
    const sql = sqlServerDialect.checksum(p.source, {}).sql;
    expect(sql).toMatch(/^SELECT CAST\(COUNT_BIG\(\*\) AS varchar\(20\)\) AS cnt, CAST\(ISNULL\(SUM\(CAST\(CAST\(SUBSTRING\(HASHBYTES\('SHA2_256', CAST\(\(/);
    expect(sql).toContain('COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max))), 1, 8) AS bigint) AS decimal(38,0))), 0) AS varchar(40)) AS hsum FROM [dbo].[orders]');
    expect(sql).toContain("ISNULL(REPLACE(REPLACE(CAST(CONVERT(varchar(20), [order_id]) AS nvarchar(max)), N'\\', N'\\\\'), N'|', N'\\|'), N'\\N') + N'|' + ");
  });

  it('expands composite key ranges (no row-value comparison in T-SQL)', () => {
    const p = plan();
    const { sql, params } = sqlServerDialect.checksum(p.source, { lower: ['eu', '10'], upper: ['us', '5'] });
    expect(sql).toContain(
      ' WHERE (([region] COLLATE Latin1_General_100_BIN2 > CAST(@p1 AS nvarchar(10))) OR ([region] COLLATE Latin1_General_100_BIN2 = CAST(@p1 AS nvarchar(10)) AND [order_id] >= CAST(@p2 AS bigint)))' +
        ' AND (([region] COLLATE Latin1_General_100_BIN2 < CAST(@p3 AS nvarchar(10))) OR ([region] COLLATE Latin1_General_100_BIN2 = CAST(@p3 AS nvarchar(10)) AND [order_id] < CAST(@p4 AS bigint)))',
    );
    expect(params).toEqual(['eu', '10', 'us', '5']);
    const walk = sqlServerDialect.keyAtOffset(p.source, { lower: ['eu', '10'] }, 5000).sql;
    expect(walk).toMatch(/ORDER BY \[region\] COLLATE Latin1_General_100_BIN2, \[order_id\] OFFSET 5000 ROWS FETCH NEXT 1 ROWS ONLY$/);
    expect(walk).toContain('CAST([region] AS nvarchar(max)) AS k0, CAST([order_id] AS nvarchar(max)) AS k1');
    // The PostgreSQL side orders text keys in the C collation to agree with BIN2.
    expect(postgresDialect.keyAtOffset(p.target, {}, 10).sql).toContain('ORDER BY "region" COLLATE "C", "order_id" OFFSET 10 LIMIT 1');
  });

  it('fetches rows with TOP and orders them by key', () => {
    const sql = sqlServerDialect.fetchRows(plan().source, {}, 25).sql;
    expect(sql).toMatch(/^SELECT TOP \(25\) /);
    expect(sql).toMatch(/ORDER BY \[region\] COLLATE Latin1_General_100_BIN2, \[order_id\]$/);
  });
});

describe('canonical text, PostgreSQL half (run for real)', () => {
  let db: PostgresInstance;
  beforeAll(async () => {
    db = await startPostgresInstance();
  });
  afterAll(async () => db?.stop());

  it('produces the canonical strings the T-SQL expressions are written to produce', async () => {
    const t = plan().target;
    const probe = async (name: string, literal: string) => {
      const { rows } = await db.sql(`SELECT ${postgresCanonicalText(columnOf(t, name), literal)} AS v`);
      return rows[0].v as string | null;
    };
    expect(await probe('order_id', '42::int4')).toBe('42');
    expect(await probe('amount', '1.5::numeric(12,2)')).toBe('1.50');
    expect(await probe('amount', '-0.5::numeric(12,2)')).toBe('-0.50');
    expect(await probe('paid', 'true')).toBe('1');
    expect(await probe('paid', 'NULL::bool')).toBeNull();
    expect(await probe('created', "'2024-05-01 10:11:12.997'::timestamp")).toBe('2024-05-01 10:11:12.997000');
    expect(await probe('at_offset', "'2024-05-01 12:00:00.5+02'::timestamptz")).toBe('2024-05-01 10:00:00.500000');
    expect(await probe('ref', "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'")).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(await probe('code', "'ab   '::text")).toBe('ab');
    expect(await probe('region', "'eu '::text")).toBe('eu ');
    expect(await probe('blob', "'\\xDEADbeef'::bytea")).toBe('deadbeef');
    const time = { ...columnOf(t, 'order_id'), kind: 'time' as const, column: col('t', 'time') };
    expect((await db.sql(`SELECT ${postgresCanonicalText(time, "'10:11:12.5'::time")} AS v`)).rows[0].v).toBe('10:11:12.500000');
    expect(sqlServerCanonicalText({ ...time, column: col('t', 'time') })).toBe('CONVERT(varchar(15), CAST([t] AS time(6)))');
  });

  it('hashes the row text exactly as SHA-256 over UTF-8, first 8 bytes, signed big-endian', async () => {
    const t = plan().target;
    await db.sql(`CREATE TABLE orders (region varchar(10), order_id int, amount numeric(12,2), paid bool, created timestamp(6), updated timestamp(6),
                  at_offset timestamptz, ref text, code text, blob bytea, "weird]name" int, __deleted text, PRIMARY KEY (region, order_id))`);
    await db.sql(`INSERT INTO orders VALUES ('e|u\\', 7, 2.5, NULL, '2024-01-02 03:04:05', NULL, NULL, '', 'x  ', NULL, 9, 'false')`);
    const { rows } = await db.sql(`SELECT (${postgresRowHash(t)})::text AS h FROM orders`);
    const text = 'e\\|u\\\\|7|2.50|\\N|2024-01-02 03:04:05.000000|\\N|\\N||x|\\N|9';
    const expected = createHash('sha256').update(Buffer.from(text, 'utf8')).digest().readBigInt64BE(0).toString();
    expect(rows[0].h).toBe(expected);
  });
});

describe('SQL Server session', () => {
  it('fails with one line naming the endpoint, password redacted, when nothing listens', async () => {
    const failure = await openSession('mssql://sa:S3cret!pw@127.0.0.1:1/warehouse_source', 'source', { connectTimeoutMs: 3_000 }).catch((e: Error) => e);
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toMatch(/^cannot connect to source database mssql:\/\/sa:\*\*\*@127\.0\.0\.1:1\/warehouse_source: /);
    expect(message).not.toContain('S3cret');
    expect(message).not.toContain('\n');
  });
});

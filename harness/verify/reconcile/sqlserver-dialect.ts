/**
 * T-SQL for the SQL Server side of a cross-engine comparison (always canonical mode). NOT RUN ON THIS MACHINE: there
 * is no SQL Server here; the statement text is unit-tested (test/verify/sqlserver-dialect.test.ts) and runs for
 * real only in the container environment. Needs SQL Server 2019+ (UTF-8 collations, so HASHBYTES sees the same
 * UTF-8 bytes PostgreSQL's convert_to(..., 'UTF8') produces).
 */
import type { ColumnInfo, KeyRange, TableInfo, TableName } from './reconcile-types.js';
import type { PlannedColumn, SidePlan, SqlDialect, SqlText } from './sql-dialect.js';
import type { SqlSession } from './sql-session.js';

const quote = (identifier: string) => `[${identifier.replace(/]/g, ']]')}]`;

/** The canonical text of one value; must equal postgresCanonicalText byte for byte (see canonical-kind.ts). */
export function sqlServerCanonicalText(pc: PlannedColumn, expr = quote(pc.column.name)): string {
  const { kind, rule } = pc;
  if ((kind === 'decimal' || kind === 'integer' || kind === 'money') && rule.decimalScale !== undefined) {
    return `CONVERT(varchar(60), CAST(${expr} AS decimal(38,${rule.decimalScale})))`;
  }
  switch (kind) {
    case 'integer':
      return `CONVERT(varchar(20), ${expr})`;
    case 'decimal':
    case 'money':
      return sqlServerTrimZeros(`CONVERT(varchar(60), ${expr})`);
    case 'float':
      // Style 3: 17 significant digits. PostgreSQL prints the shortest round-trip form, so floats can differ in text
      // while equal in value; the engine warns about float columns in cross-engine comparisons.
      return `CONVERT(varchar(32), ${expr}, 3)`;
    case 'bool':
      return `CONVERT(varchar(1), ${expr})`;
    case 'text':
    case 'char': {
      const text = rule.trimTrailingSpaces ? `RTRIM(CAST(${expr} AS nvarchar(max)))` : `CAST(${expr} AS nvarchar(max))`;
      return rule.lowerCase ? `LOWER(${text})` : text;
    }
    case 'uuid':
      return `LOWER(CONVERT(varchar(36), ${expr}))`;
    case 'date':
      return `CONVERT(varchar(10), ${expr}, 23)`;
    case 'timestamp':
      return `CONVERT(varchar(26), CAST(${expr} AS datetime2(6)), 121)`;
    case 'datetime':
      // datetime ticks are 1/300 s; the JDBC driver (and so Debezium) sees them rounded to milliseconds.
      return `CONVERT(varchar(26), CAST(CAST(${expr} AS datetime2(3)) AS datetime2(6)), 121)`;
    case 'timestamptz':
      return `CONVERT(varchar(26), CAST(SWITCHOFFSET(${expr}, '+00:00') AS datetime2(6)), 121)`;
    case 'time':
      return `CONVERT(varchar(15), CAST(${expr} AS time(6)))`;
    case 'binary':
      return `LOWER(CONVERT(varchar(max), ${expr}, 2))`;
    default:
      return `CAST(${expr} AS nvarchar(max))`;
  }
}

/** Trailing fractional zeros and a bare trailing point removed, like PostgreSQL's trim_scale (1.50 -> 1.5, 2.00 -> 2). */
export function sqlServerTrimZeros(v: string): string {
  const noZeros = `REPLACE(RTRIM(REPLACE(${v}, '0', ' ')), ' ', '0')`;
  return `CASE WHEN CHARINDEX('.', ${v}) > 0 THEN REPLACE(RTRIM(REPLACE(${noZeros}, '.', ' ')), ' ', '.') ELSE ${v} END`;
}

function rowText(parts: string[]): string {
  return parts
    .map((p) => `ISNULL(REPLACE(REPLACE(CAST(${p} AS nvarchar(max)), N'\\', N'\\\\'), N'|', N'\\|'), N'\\N')`)
    .join(` + N'|' + `);
}

/** First 8 bytes of SHA-256 over the UTF-8 bytes, as a signed big-endian bigint (same as PostgreSQL's bit(64) cast). */
export function sqlServerRowHash(plan: SidePlan): string {
  const text = rowText(plan.columns.map((pc) => sqlServerCanonicalText(pc)));
  return `CAST(SUBSTRING(HASHBYTES('SHA2_256', CAST((${text}) COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max))), 1, 8) AS bigint)`;
}

function keyColumn(plan: SidePlan, i: number): PlannedColumn {
  return plan.columns[plan.keyIndexes[i]!]!;
}

function keyExpr(plan: SidePlan, i: number): string {
  const pc = keyColumn(plan, i);
  const q = quote(pc.column.name);
  return pc.binaryCollation ? `${q} COLLATE Latin1_General_100_BIN2` : q;
}

function keyParam(plan: SidePlan, i: number, n: number): string {
  const pc = keyColumn(plan, i);
  if (pc.kind === 'integer') return `CAST(@p${n} AS bigint)`;
  if (pc.kind === 'binary') return `CONVERT(varbinary(max), @p${n}, 1)`;
  return `CAST(@p${n} AS ${pc.column.sqlType})`;
}

/** SQL Server has no row-value comparison: (a,b) >= (x,y) becomes a > x OR (a = x AND b >= y). */
function tupleCompare(plan: SidePlan, op: '>=' | '<', firstParam: number): string {
  const strict = op === '>=' ? '>' : '<';
  const n = plan.keyIndexes.length;
  const alternatives: string[] = [];
  for (let i = 0; i < n; i++) {
    const equalPrefix = Array.from({ length: i }, (_, j) => `${keyExpr(plan, j)} = ${keyParam(plan, j, firstParam + j)}`);
    const last = `${keyExpr(plan, i)} ${i === n - 1 ? op : strict} ${keyParam(plan, i, firstParam + i)}`;
    alternatives.push([...equalPrefix, last].join(' AND '));
  }
  return n === 1 ? alternatives[0]! : `(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
}

/** Rows with a NULL key belong to no key range, so every ranged query skips them (row counts do not). */
function nullKeyFilter(plan: SidePlan): string[] {
  return plan.keyIndexes.filter((idx) => plan.columns[idx]!.column.nullable).map((idx) => `${quote(plan.columns[idx]!.column.name)} IS NOT NULL`);
}

function where(plan: SidePlan, range: KeyRange, extra: string[] = nullKeyFilter(plan)): SqlText {
  const clauses: string[] = [];
  const params: (string | null)[] = [];
  if (range.lower) {
    clauses.push(tupleCompare(plan, '>=', params.length + 1));
    params.push(...range.lower);
  }
  if (range.upper) {
    clauses.push(tupleCompare(plan, '<', params.length + 1));
    params.push(...range.upper);
  }
  clauses.push(...extra);
  return { sql: clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '', params };
}

function keyList(plan: SidePlan): string {
  return plan.keyIndexes.map((_, i) => keyExpr(plan, i)).join(', ');
}

/** Key values as text that CAST(@p AS type) reads back exactly (style 121 keeps all fractional digits). */
function keyOutputs(plan: SidePlan): string {
  return plan.keyIndexes
    .map((idx, i) => {
      const pc = plan.columns[idx]!;
      const q = quote(pc.column.name);
      const text =
        pc.kind === 'timestamp' || pc.kind === 'datetime' || pc.kind === 'timestamptz' ? `CONVERT(nvarchar(40), ${q}, 121)`
        : pc.kind === 'binary' ? `CONVERT(nvarchar(max), ${q}, 1)`
        : `CAST(${q} AS nvarchar(max))`;
      return `${text} AS k${i}`;
    })
    .join(', ');
}

export const sqlServerDialect: SqlDialect = {
  name: 'sqlserver',
  defaultSchema: 'dbo',
  quote,
  tableRef: (t: TableName) => `${quote(t.schema)}.${quote(t.name)}`,

  async introspect(session: SqlSession, table: TableName): Promise<TableInfo | undefined> {
    const rows = await session.query(
      `SELECT c.name AS name, ty.name AS data_type,
              CAST(c.is_nullable AS varchar(1)) AS nullable, dc.definition AS default_expr,
              CAST(c.precision AS varchar(10)) AS numeric_precision, CAST(c.scale AS varchar(10)) AS numeric_scale,
              CAST(c.max_length AS varchar(10)) AS max_length, CAST(ic.key_ordinal AS varchar(10)) AS pk_position,
              CAST(c.collation_name AS nvarchar(128)) AS collation_name
         FROM sys.columns c
         JOIN sys.tables t ON t.object_id = c.object_id
         JOIN sys.schemas s ON s.schema_id = t.schema_id
         JOIN sys.types ty ON ty.user_type_id = c.user_type_id
         LEFT JOIN sys.default_constraints dc ON dc.object_id = c.default_object_id
         LEFT JOIN sys.indexes i ON i.object_id = t.object_id AND i.is_primary_key = 1
         LEFT JOIN sys.index_columns ic ON ic.object_id = t.object_id AND ic.index_id = i.index_id AND ic.column_id = c.column_id
        WHERE s.name = @p1 AND t.name = @p2
        ORDER BY c.column_id`,
      [table.schema, table.name],
    );
    if (rows.length === 0) return undefined;
    const columns: ColumnInfo[] = rows.map((r) => {
      const dataType = r.data_type!.toLowerCase();
      const precision = Number(r.numeric_precision);
      const scale = Number(r.numeric_scale);
      const maxLength = Number(r.max_length);
      const charLength = maxLength === -1 ? undefined : dataType.startsWith('n') ? maxLength / 2 : maxLength;
      const sqlType =
        dataType === 'decimal' || dataType === 'numeric' ? `${dataType}(${precision},${scale})`
        : ['varchar', 'nvarchar', 'char', 'nchar', 'varbinary', 'binary'].includes(dataType) ? `${dataType}(${maxLength === -1 ? 'max' : charLength})`
        : ['datetime2', 'datetimeoffset', 'time'].includes(dataType) ? `${dataType}(${scale})`
        : dataType;
      return {
        name: r.name!,
        dataType,
        sqlType,
        nullable: r.nullable === '1',
        default: r.default_expr ?? null,
        numericPrecision: ['decimal', 'numeric'].includes(dataType) ? precision : undefined,
        numericScale: ['decimal', 'numeric'].includes(dataType) ? scale : undefined,
        characterLength: ['varchar', 'nvarchar', 'char', 'nchar'].includes(dataType) ? charLength : undefined,
        datetimePrecision: ['datetime2', 'datetimeoffset', 'time'].includes(dataType) ? scale : undefined,
        collation: r.collation_name ?? undefined,
      };
    });
    const primaryKey = rows
      .filter((r) => r.pk_position !== null && r.pk_position !== '0')
      .sort((a, b) => Number(a.pk_position) - Number(b.pk_position))
      .map((r) => r.name!);
    return { table, columns, primaryKey };
  },

  checksum(plan, range) {
    const w = where(plan, range);
    return {
      sql: `SELECT CAST(COUNT_BIG(*) AS varchar(20)) AS cnt, CAST(ISNULL(SUM(CAST(${sqlServerRowHash(plan)} AS decimal(38,0))), 0) AS varchar(40)) AS hsum FROM ${this.tableRef(plan.table)}${w.sql}`,
      params: w.params,
    };
  },

  count(plan, range) {
    const w = where(plan, range, []);
    return { sql: `SELECT CAST(COUNT_BIG(*) AS varchar(20)) AS cnt FROM ${this.tableRef(plan.table)}${w.sql}`, params: w.params };
  },

  nullKeyCount(plan) {
    const anyNull = plan.keyIndexes.map((idx) => `${quote(plan.columns[idx]!.column.name)} IS NULL`).join(' OR ');
    return { sql: `SELECT CAST(COUNT_BIG(*) AS varchar(20)) AS cnt FROM ${this.tableRef(plan.table)} WHERE ${anyNull}`, params: [] };
  },

  keyBounds(plan, range) {
    const w = where(plan, range);
    const k = quote(keyColumn(plan, 0).column.name);
    return { sql: `SELECT CAST(MIN(${k}) AS varchar(20)) AS lo, CAST(MAX(${k}) AS varchar(20)) AS hi FROM ${this.tableRef(plan.table)}${w.sql}`, params: w.params };
  },

  keyAtOffset(plan, range, offset) {
    const w = where(plan, range);
    return {
      sql: `SELECT ${keyOutputs(plan)} FROM ${this.tableRef(plan.table)}${w.sql} ORDER BY ${keyList(plan)} OFFSET ${Math.max(0, Math.floor(offset))} ROWS FETCH NEXT 1 ROWS ONLY`,
      params: w.params,
    };
  },

  splitPoints(plan, range, step) {
    const w = where(plan, range);
    const outs = plan.keyIndexes.map((_, i) => `k${i}`).join(', ');
    return {
      sql: `SELECT ${outs} FROM (SELECT ${keyOutputs(plan)}, ROW_NUMBER() OVER (ORDER BY ${keyList(plan)}) AS rn FROM ${this.tableRef(plan.table)}${w.sql}) s
             WHERE rn > 1 AND (rn - 1) % ${Math.max(1, Math.floor(step))} = 0 ORDER BY rn`,
      params: w.params,
    };
  },

  fetchRows(plan, range, limit) {
    const w = where(plan, range);
    const keyText = rowText(plan.keyIndexes.map((idx) => sqlServerCanonicalText(plan.columns[idx]!)));
    const values = plan.columns.flatMap((pc, i) => [`${sqlServerCanonicalText(pc)} AS c${i}`, `${sqlServerCanonicalText(pc)} AS d${i}`]);
    const top = limit !== undefined ? `TOP (${limit}) ` : '';
    return {
      sql: `SELECT ${top}${keyOutputs(plan)}, ${keyText} AS keytext, CAST(${sqlServerRowHash(plan)} AS varchar(20)) AS h, ${values.join(', ')}
              FROM ${this.tableRef(plan.table)}${w.sql} ORDER BY ${keyList(plan)}`,
      params: w.params,
    };
  },

  bucketChecksums(plan, buckets) {
    return {
      sql: `SELECT CAST(h % ${buckets} AS varchar(20)) AS b, CAST(COUNT_BIG(*) AS varchar(20)) AS cnt, CAST(SUM(CAST(h AS decimal(38,0))) AS varchar(40)) AS hsum
              FROM (SELECT ${sqlServerRowHash(plan)} AS h FROM ${this.tableRef(plan.table)}) s GROUP BY h % ${buckets}`,
      params: [],
    };
  },

  hashCounts(plan, buckets, only) {
    const list = only.map((b) => Math.trunc(b)).join(', ') || 'NULL';
    return {
      sql: `SELECT CAST(h AS varchar(20)) AS h, CAST(COUNT_BIG(*) AS varchar(20)) AS n FROM (SELECT ${sqlServerRowHash(plan)} AS h FROM ${this.tableRef(plan.table)}) s
             WHERE h % ${buckets} IN (${list}) GROUP BY h`,
      params: [],
    };
  },

  rowsWithHashes(plan, hashes) {
    const display = plan.columns.map((pc, i) => `${sqlServerCanonicalText(pc)} AS d${i}`);
    const list = hashes.filter((h) => /^-?\d+$/.test(h)).join(', ') || 'NULL';
    return {
      sql: `SELECT h, ${plan.columns.map((_, i) => `d${i}`).join(', ')} FROM (SELECT CAST(${sqlServerRowHash(plan)} AS varchar(20)) AS h, ${display.join(', ')} FROM ${this.tableRef(plan.table)}) s
             WHERE CAST(h AS bigint) IN (${list})`,
      params: [],
    };
  },
};

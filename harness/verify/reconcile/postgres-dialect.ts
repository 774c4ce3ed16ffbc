import type { ColumnInfo, KeyRange, TableInfo, TableName } from './reconcile-types.js';
import type { PlannedColumn, SidePlan, SqlDialect, SqlText } from './sql-dialect.js';
import type { SqlSession } from './sql-session.js';

/** Types whose values PostgreSQL can hash to 64 bits directly (extended hash support) in native mode. */
export const POSTGRES_NATIVE_HASH_TYPES = new Set([
  'int2', 'int4', 'int8', 'oid', 'numeric', 'float4', 'float8', 'bool', 'text', 'varchar', 'bpchar', 'name', 'citext',
  'uuid', 'date', 'timestamp', 'timestamptz', 'time', 'timetz', 'interval', 'bytea', 'jsonb', 'inet', 'cidr', 'macaddr',
]);

/** Collations that order by bytes (for UTF-8, the same order as code points) are one class: 'bytewise'. */
export function postgresCollationClass(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const bytewise = /^(default:)?(C|POSIX|C\.UTF-?8|C\.utf-?8|ucs_basic|pg_c_utf8)(:.*)?$/;
  const locale = name.startsWith('default:') ? name.split(':')[2] : undefined;
  if (bytewise.test(name) && (!locale || /^(C|C\.UTF-?8)$/i.test(locale))) return 'bytewise';
  return name;
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/** The canonical text of one value (see canonical-kind.ts for the rules). */
export function postgresCanonicalText(pc: PlannedColumn, expr = quote(pc.column.name)): string {
  const { kind, rule } = pc;
  if ((kind === 'decimal' || kind === 'integer') && rule.decimalScale !== undefined) return `(${expr})::numeric(1000,${rule.decimalScale})::text`;
  switch (kind) {
    case 'integer':
      return `(${expr})::text`;
    case 'decimal':
      return `trim_scale(${expr})::text`;
    case 'float':
      return `(${expr})::float8::text`;
    case 'bool':
      return `CASE ${expr} WHEN true THEN '1' WHEN false THEN '0' END`;
    case 'text':
    case 'char': {
      const text = rule.trimTrailingSpaces ? `rtrim((${expr})::text, ' ')` : `(${expr})::text`;
      return rule.lowerCase ? `lower(${text})` : text;
    }
    case 'uuid':
      return `lower((${expr})::text)`;
    case 'date':
      return `to_char(${expr}, 'YYYY-MM-DD')`;
    case 'timestamp':
      return `to_char(${expr}, 'YYYY-MM-DD HH24:MI:SS.US')`;
    case 'timestamptz':
      return `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')`;
    case 'time':
      return `to_char(${expr}, 'HH24:MI:SS.US')`;
    case 'binary':
      return `encode(${expr}, 'hex')`;
    default:
      return `(${expr})::text`;
  }
}

/** Escapes the separator so the row text is unambiguous; NULL becomes \N, distinct from ''. */
function rowText(parts: string[]): string {
  return parts.map((p) => `coalesce(replace(replace(${p}, '\\', '\\\\'), '|', '\\|'), '\\N')`).join(` || '|' || `);
}

function sha64(textExpr: string): string {
  return `('x' || left(encode(sha256(convert_to(${textExpr}, 'UTF8')), 'hex'), 16))::bit(64)::bigint`;
}

function valueExpr(pc: PlannedColumn, plan: SidePlan): string {
  return plan.hashMode === 'native' && pc.native ? quote(pc.column.name) : postgresCanonicalText(pc);
}

export function postgresRowHash(plan: SidePlan): string {
  if (plan.hashMode === 'native') {
    // The final hashint8extended matters: hash_record_extended combines fields linearly, so a plain sum of it would
    // not see two values swapped between rows.
    return `hashint8extended(hash_record_extended(ROW(${plan.columns.map((pc) => valueExpr(pc, plan)).join(', ')}), 0), 0)`;
  }
  return sha64(rowText(plan.columns.map((pc) => postgresCanonicalText(pc))));
}

function keyExpr(plan: SidePlan, i: number): string {
  const pc = plan.columns[plan.keyIndexes[i]!]!;
  const q = quote(pc.column.name);
  return pc.binaryCollation ? `${q} COLLATE "C"` : q;
}

function keyList(plan: SidePlan): string {
  return plan.keyIndexes.map((_, i) => keyExpr(plan, i)).join(', ');
}

function keyParam(plan: SidePlan, i: number, n: number): string {
  const pc = plan.columns[plan.keyIndexes[i]!]!;
  // Integer keys compare as bigint: a chunk bound may be max+1, past the column's own range.
  const type = pc.kind === 'integer' ? 'int8' : pc.column.sqlType;
  return `$${n}::${type}`;
}

function tupleCompare(plan: SidePlan, op: '>=' | '<', values: string[], firstParam: number): string {
  if (plan.keyIndexes.length === 1) return `${keyExpr(plan, 0)} ${op} ${keyParam(plan, 0, firstParam)}`;
  const params = values.map((_, i) => keyParam(plan, i, firstParam + i));
  return `(${keyList(plan)}) ${op} (${params.join(', ')})`;
}

/** Key columns this side allows NULL in: rows with a NULL key belong to no key range, so every ranged query skips them. */
function nullKeyFilter(plan: SidePlan): string[] {
  return plan.keyIndexes.filter((idx) => plan.columns[idx]!.column.nullable).map((idx) => `${quote(plan.columns[idx]!.column.name)} IS NOT NULL`);
}

function where(plan: SidePlan, range: KeyRange, extra: string[] = nullKeyFilter(plan)): SqlText {
  const clauses: string[] = [];
  const params: (string | null)[] = [];
  if (range.lower) {
    clauses.push(tupleCompare(plan, '>=', range.lower, params.length + 1));
    params.push(...range.lower);
  }
  if (range.upper) {
    clauses.push(tupleCompare(plan, '<', range.upper, params.length + 1));
    params.push(...range.upper);
  }
  clauses.push(...extra);
  return { sql: clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '', params };
}

function keyOutputs(plan: SidePlan): string {
  return plan.keyIndexes.map((idx, i) => `(${quote(plan.columns[idx]!.column.name)})::text AS k${i}`).join(', ');
}

function keyText(plan: SidePlan): string {
  return rowText(plan.keyIndexes.map((idx) => postgresCanonicalText(plan.columns[idx]!)));
}

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  defaultSchema: 'public',
  quote,
  tableRef: (t: TableName) => `${quote(t.schema)}.${quote(t.name)}`,

  async introspect(session: SqlSession, table: TableName): Promise<TableInfo | undefined> {
    const rows = await session.query(
      `SELECT a.attname AS name, t.typname AS data_type, format_type(a.atttypid, a.atttypmod) AS sql_type,
              (NOT a.attnotnull)::text AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default_expr,
              information_schema._pg_numeric_precision(a.atttypid, a.atttypmod) AS numeric_precision,
              information_schema._pg_numeric_scale(a.atttypid, a.atttypmod) AS numeric_scale,
              information_schema._pg_char_max_length(a.atttypid, a.atttypmod) AS char_length,
              information_schema._pg_datetime_precision(a.atttypid, a.atttypmod) AS datetime_precision,
              CASE WHEN a.attcollation = 0 THEN NULL
                   WHEN co.collname = 'default' THEN 'default:' || (SELECT d.datcollate || ':' || coalesce(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale', '')
                                                                    FROM pg_database d WHERE d.datname = current_database())
                   ELSE co.collname END AS collation_name,
              (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk_position
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
         LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        ORDER BY a.attnum`,
      [table.schema, table.name],
    );
    if (rows.length === 0) return undefined;
    const num = (v: string | null | undefined) => (v === null || v === undefined ? undefined : Number(v));
    const columns: ColumnInfo[] = rows.map((r) => ({
      name: r.name!,
      dataType: r.data_type!,
      sqlType: r.sql_type!,
      nullable: r.nullable === 'true',
      default: r.default_expr ?? null,
      numericPrecision: num(r.numeric_precision),
      numericScale: num(r.numeric_scale),
      characterLength: num(r.char_length),
      datetimePrecision: num(r.datetime_precision),
      collation: postgresCollationClass(r.collation_name ?? undefined),
    }));
    const primaryKey = rows
      .filter((r) => r.pk_position !== null)
      .sort((a, b) => Number(a.pk_position) - Number(b.pk_position))
      .map((r) => r.name!);
    return { table, columns, primaryKey };
  },

  checksum(plan, range) {
    const w = where(plan, range);
    return { sql: `SELECT count(*) AS cnt, coalesce(sum(${postgresRowHash(plan)}), 0) AS hsum FROM ${this.tableRef(plan.table)}${w.sql}`, params: w.params };
  },

  count(plan, range) {
    const w = where(plan, range, []); // row counts include rows with a NULL key
    return { sql: `SELECT count(*) AS cnt FROM ${this.tableRef(plan.table)}${w.sql}`, params: w.params };
  },

  nullKeyCount(plan) {
    const anyNull = plan.keyIndexes.map((idx) => `${quote(plan.columns[idx]!.column.name)} IS NULL`).join(' OR ');
    return { sql: `SELECT count(*) AS cnt FROM ${this.tableRef(plan.table)} WHERE ${anyNull}`, params: [] };
  },

  keyBounds(plan, range) {
    const w = where(plan, range);
    const k = quote(plan.columns[plan.keyIndexes[0]!]!.column.name);
    return { sql: `SELECT min(${k})::text AS lo, max(${k})::text AS hi FROM ${this.tableRef(plan.table)}${w.sql}`, params: w.params };
  },

  keyAtOffset(plan, range, offset) {
    const w = where(plan, range);
    return {
      sql: `SELECT ${keyOutputs(plan)} FROM ${this.tableRef(plan.table)}${w.sql} ORDER BY ${keyList(plan)} OFFSET ${Math.max(0, Math.floor(offset))} LIMIT 1`,
      params: w.params,
    };
  },

  splitPoints(plan, range, step) {
    const w = where(plan, range);
    const outs = plan.keyIndexes.map((_, i) => `k${i}`).join(', ');
    return {
      sql: `SELECT ${outs} FROM (SELECT ${keyOutputs(plan)}, row_number() OVER (ORDER BY ${keyList(plan)}) AS rn FROM ${this.tableRef(plan.table)}${w.sql}) s
             WHERE rn > 1 AND (rn - 1) % ${Math.max(1, Math.floor(step))} = 0 ORDER BY rn`,
      params: w.params,
    };
  },

  fetchRows(plan, range, limit) {
    const w = where(plan, range);
    const compare = plan.columns.map((pc, i) =>
      plan.hashMode === 'native' && pc.native ? `hash_record_extended(ROW(${quote(pc.column.name)}), 0)::text AS c${i}` : `${postgresCanonicalText(pc)} AS c${i}`,
    );
    const display = plan.columns.map((pc, i) => (plan.hashMode === 'native' ? `(${quote(pc.column.name)})::text AS d${i}` : `${postgresCanonicalText(pc)} AS d${i}`));
    return {
      sql: `SELECT ${keyOutputs(plan)}, ${keyText(plan)} AS keytext, (${postgresRowHash(plan)})::text AS h, ${[...compare, ...display].join(', ')}
              FROM ${this.tableRef(plan.table)}${w.sql} ORDER BY ${keyList(plan)}${limit !== undefined ? ` LIMIT ${limit}` : ''}`,
      params: w.params,
    };
  },

  bucketChecksums(plan, buckets) {
    return {
      sql: `SELECT (h % ${buckets})::text AS b, count(*) AS cnt, sum(h) AS hsum FROM (SELECT ${postgresRowHash(plan)} AS h FROM ${this.tableRef(plan.table)}) s GROUP BY 1`,
      params: [],
    };
  },

  hashCounts(plan, buckets, only) {
    return {
      sql: `SELECT h::text AS h, count(*) AS n FROM (SELECT ${postgresRowHash(plan)} AS h FROM ${this.tableRef(plan.table)}) s WHERE h % ${buckets} = ANY($1::int8[]) GROUP BY h`,
      params: [`{${only.map((b) => Math.trunc(b)).join(',')}}`],
    };
  },

  rowsWithHashes(plan, hashes) {
    const display = plan.columns.map((pc, i) => `${postgresCanonicalText(pc)} AS d${i}`);
    return {
      sql: `SELECT h, ${plan.columns.map((_, i) => `d${i}`).join(', ')} FROM (SELECT (${postgresRowHash(plan)})::text AS h, ${display.join(', ')} FROM ${this.tableRef(plan.table)}) s
             WHERE h = ANY($1::text[])`,
      params: [`{${hashes.join(',')}}`],
    };
  },
};


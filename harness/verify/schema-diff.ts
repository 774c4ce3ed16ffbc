/**
 * Schema drift between source and target: columns, types (against the stated type map), lengths/precision,
 * nullability, defaults and primary key. Each drift is a typed finding; `match` is false when any finding is an
 * error. Warnings (defaults, extra target columns, a looser NOT NULL) do not fail it.
 */
import { dialectFor, parseTableName } from './reconcile/table-reconcile.js';
import { POSTGRES_TO_POSTGRES_WIDENINGS, SQLSERVER_IMPLIED_SCALE, SQLSERVER_TO_POSTGRES } from './schema-type-map.js';
import type { ColumnInfo, DialectName, TableInfo } from './reconcile/reconcile-types.js';
import type { SqlSession } from './reconcile/sql-session.js';

export type Severity = 'error' | 'warning';

export type SchemaFinding = { severity: Severity; message: string } & (
  | { kind: 'table-missing'; side: 'source' | 'target' }
  | { kind: 'column-missing-in-target'; column: string }
  | { kind: 'column-only-in-target'; column: string }
  | { kind: 'type-mismatch'; column: string; sourceType: string; targetType: string; expectedTargetTypes: string[] }
  | { kind: 'length-narrowed'; column: string; sourceLength: number; targetLength: number }
  | { kind: 'numeric-narrowed'; column: string; source: { precision?: number; scale?: number }; target: { precision?: number; scale?: number } }
  | { kind: 'time-precision-narrowed'; column: string; sourcePrecision: number; targetPrecision: number }
  | { kind: 'nullability-mismatch'; column: string; sourceNullable: boolean; targetNullable: boolean }
  | { kind: 'default-mismatch'; column: string; sourceDefault: string | null; targetDefault: string | null }
  | { kind: 'primary-key-mismatch'; sourceKey: string[]; targetKey: string[] }
);

export interface SchemaDiff {
  table: string;
  targetTable: string;
  sourceDialect: DialectName;
  targetDialect: DialectName;
  match: boolean;
  findings: SchemaFinding[];
}

export interface SchemaDiffOptions {
  ignoreColumns?: string[];
  /** Renamed columns: source name -> target name. */
  columnMap?: Record<string, string>;
}

/** Comparable default text across engines: ((0)) -> 0, getdate() -> now(), 'x'::text -> 'x', N'x' -> 'x'. */
export function normalizeDefault(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  let s = text.trim().toLowerCase();
  while (/^\(.*\)$/.test(s) && balanced(s.slice(1, -1))) s = s.slice(1, -1).trim();
  s = s.replace(/::[a-z0-9_ ."]+(\(\d+(,\d+)?\))?/g, '').replace(/\bn'/g, "'");
  if (/^(getdate|sysdatetime|sysutcdatetime|getutcdate|current_timestamp|now|transaction_timestamp|localtimestamp)(\(\))?$/.test(s)) return 'now()';
  if (/^(newid|newsequentialid|gen_random_uuid|uuid_generate_v4)\(\)$/.test(s)) return 'random-uuid()';
  if (s === "'0'" || s === 'false') return '0';
  if (s === "'1'" || s === 'true') return '1';
  return s.replace(/^'(.*)'$/, '$1');
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

function expectedTypes(sourceDialect: DialectName, targetDialect: DialectName, source: ColumnInfo): string[] {
  if (sourceDialect === 'sqlserver' && targetDialect === 'postgres') return SQLSERVER_TO_POSTGRES[source.dataType] ?? [];
  if (sourceDialect === targetDialect) return POSTGRES_TO_POSTGRES_WIDENINGS[source.dataType] ?? [source.dataType];
  return [];
}

function precisionFindings(sourceDialect: DialectName, s: ColumnInfo, t: ColumnInfo): SchemaFinding[] {
  const findings: SchemaFinding[] = [];
  const implied = sourceDialect === 'sqlserver' ? SQLSERVER_IMPLIED_SCALE[s.dataType] : undefined;
  const sPrecision = implied?.precision ?? s.numericPrecision;
  const sScale = implied?.scale ?? s.numericScale;
  if (t.dataType === 'numeric' && t.numericScale !== undefined && sScale !== undefined && sPrecision !== undefined) {
    const tIntDigits = (t.numericPrecision ?? 0) - t.numericScale;
    if (t.numericScale < sScale || tIntDigits < sPrecision - sScale) {
      findings.push({
        kind: 'numeric-narrowed', severity: 'error', column: s.name,
        source: { precision: sPrecision, scale: sScale }, target: { precision: t.numericPrecision, scale: t.numericScale },
        message: `${s.name}: ${s.sqlType} does not fit ${t.sqlType} (values would be rounded or rejected)`,
      });
    }
  }
  if (s.characterLength !== undefined && t.characterLength !== undefined && t.characterLength < s.characterLength) {
    findings.push({ kind: 'length-narrowed', severity: 'error', column: s.name, sourceLength: s.characterLength, targetLength: t.characterLength, message: `${s.name}: target length ${t.characterLength} < source length ${s.characterLength}` });
  }
  const sTime = implied?.datetimePrecision ?? s.datetimePrecision;
  if (sTime !== undefined && t.datetimePrecision !== undefined && t.datetimePrecision < Math.min(sTime, 6)) {
    findings.push({ kind: 'time-precision-narrowed', severity: 'error', column: s.name, sourcePrecision: sTime, targetPrecision: t.datetimePrecision, message: `${s.name}: target keeps ${t.datetimePrecision} fractional digits, source has ${sTime}` });
  }
  return findings;
}

/** Pure comparison of two introspected tables. */
export function diffSchemas(source: { dialect: DialectName; info: TableInfo }, target: { dialect: DialectName; info: TableInfo }, options: SchemaDiffOptions = {}): SchemaDiff {
  const ignored = new Set((options.ignoreColumns ?? []).map((c) => c.toLowerCase()));
  const map = options.columnMap ?? {};
  const targetByName = new Map(target.info.columns.map((c) => [c.name.toLowerCase(), c]));
  const findings: SchemaFinding[] = [];
  const used = new Set<string>();
  const targetNameOf = (sourceName: string) => (map[sourceName] ?? sourceName).toLowerCase();

  for (const s of source.info.columns) {
    if (ignored.has(s.name.toLowerCase())) continue;
    const t = targetByName.get(targetNameOf(s.name));
    if (!t) {
      findings.push({ kind: 'column-missing-in-target', severity: 'error', column: s.name, message: `column ${s.name} (${s.sqlType}) is missing in the target` });
      continue;
    }
    used.add(t.name.toLowerCase());
    const expected = expectedTypes(source.dialect, target.dialect, s);
    if (!expected.includes(t.dataType)) {
      findings.push({ kind: 'type-mismatch', severity: 'error', column: s.name, sourceType: s.sqlType, targetType: t.sqlType, expectedTargetTypes: expected, message: `${s.name}: ${s.sqlType} -> ${t.sqlType}, expected one of ${expected.join(', ') || '(no mapping known)'}` });
    } else {
      findings.push(...precisionFindings(source.dialect, s, t));
    }
    if (s.nullable !== t.nullable) {
      const severity: Severity = s.nullable && !t.nullable ? 'error' : 'warning';
      findings.push({ kind: 'nullability-mismatch', severity, column: s.name, sourceNullable: s.nullable, targetNullable: t.nullable, message: `${s.name}: ${s.nullable ? 'NULL' : 'NOT NULL'} in the source, ${t.nullable ? 'NULL' : 'NOT NULL'} in the target${severity === 'error' ? ' (source NULLs would be rejected)' : ''}` });
    }
    const sd = normalizeDefault(s.default);
    const td = normalizeDefault(t.default);
    if (sd !== td) {
      findings.push({ kind: 'default-mismatch', severity: 'warning', column: s.name, sourceDefault: s.default ?? null, targetDefault: t.default ?? null, message: `${s.name}: default ${s.default ?? 'none'} in the source, ${t.default ?? 'none'} in the target` });
    }
  }
  for (const t of target.info.columns) {
    if (!used.has(t.name.toLowerCase()) && !ignored.has(t.name.toLowerCase())) {
      findings.push({ kind: 'column-only-in-target', severity: 'warning', column: t.name, message: `column ${t.name} exists only in the target` });
    }
  }
  const sourceKey = source.info.primaryKey.map((k) => targetNameOf(k));
  const targetKey = target.info.primaryKey.map((k) => k.toLowerCase());
  if (sourceKey.join(',') !== targetKey.join(',')) {
    findings.push({ kind: 'primary-key-mismatch', severity: 'error', sourceKey: source.info.primaryKey, targetKey: target.info.primaryKey, message: `primary key (${source.info.primaryKey.join(', ') || 'none'}) in the source, (${target.info.primaryKey.join(', ') || 'none'}) in the target` });
  }
  return {
    table: `${source.info.table.schema}.${source.info.table.name}`,
    targetTable: `${target.info.table.schema}.${target.info.table.name}`,
    sourceDialect: source.dialect,
    targetDialect: target.dialect,
    match: !findings.some((f) => f.severity === 'error'),
    findings,
  };
}

/** Introspects both sides and diffs them; a missing table is a finding, not an exception. */
export async function diffTableSchema(sourceSession: SqlSession, targetSession: SqlSession, table: string, options: SchemaDiffOptions & { targetTable?: string } = {}): Promise<SchemaDiff> {
  const sd = dialectFor(sourceSession);
  const td = dialectFor(targetSession);
  const sourceName = parseTableName(table, sd.defaultSchema);
  const targetName = parseTableName(options.targetTable ?? sourceName.name, td.defaultSchema);
  const [s, t] = await Promise.all([sd.introspect(sourceSession, sourceName), td.introspect(targetSession, targetName)]);
  if (!s || !t) {
    const side = !s ? 'source' : 'target';
    const name = !s ? `${sourceName.schema}.${sourceName.name}` : `${targetName.schema}.${targetName.name}`;
    return {
      table: `${sourceName.schema}.${sourceName.name}`,
      targetTable: `${targetName.schema}.${targetName.name}`,
      sourceDialect: sourceSession.dialect,
      targetDialect: targetSession.dialect,
      match: false,
      findings: [{ kind: 'table-missing', side, severity: 'error', message: `table ${name} does not exist in the ${side}` }],
    };
  }
  return diffSchemas({ dialect: sourceSession.dialect, info: s }, { dialect: targetSession.dialect, info: t }, options);
}

/** Pairs source and target columns (ignore, rename), picks the key and the hash mode, and builds both side plans. */
import { canonicalRuleFor, valueKind } from './canonical-kind.js';
import { POSTGRES_NATIVE_HASH_TYPES } from './postgres-dialect.js';
import type { ColumnInfo, DialectName, HashMode, TableInfo, TableSpec } from './reconcile-types.js';
import type { PlannedColumn, SidePlan } from './sql-dialect.js';

export interface ComparePlan {
  source: SidePlan;
  target: SidePlan;
  /** Source names of the key columns; empty = keyless (compared as a multiset). */
  keyColumns: string[];
  comparedColumns: string[];
  columnsMissingInTarget: string[];
  columnsOnlyInTarget: string[];
  warnings: string[];
}

export type PlanResult = { plan: ComparePlan } | { error: string };

export function buildComparePlan(
  spec: TableSpec,
  source: { dialect: DialectName; info: TableInfo },
  target: { dialect: DialectName; info: TableInfo },
  forcedMode?: HashMode,
): PlanResult {
  const ignored = new Set((spec.ignoreColumns ?? []).map((c) => c.toLowerCase()));
  const columnMap = spec.columnMap ?? {};
  const targetByName = new Map(target.info.columns.map((c) => [c.name.toLowerCase(), c]));
  const pairs: { source: ColumnInfo; target: ColumnInfo }[] = [];
  const columnsMissingInTarget: string[] = [];
  const usedTarget = new Set<string>();
  for (const column of source.info.columns) {
    if (ignored.has(column.name.toLowerCase())) continue;
    const targetName = columnMap[column.name] ?? column.name;
    const match = targetByName.get(targetName.toLowerCase());
    if (!match || ignored.has(match.name.toLowerCase())) {
      columnsMissingInTarget.push(column.name);
      continue;
    }
    usedTarget.add(match.name.toLowerCase());
    pairs.push({ source: column, target: match });
  }
  const columnsOnlyInTarget = target.info.columns
    .filter((c) => !usedTarget.has(c.name.toLowerCase()) && !ignored.has(c.name.toLowerCase()))
    .map((c) => c.name);
  for (const from of Object.keys(columnMap)) {
    if (!source.info.columns.some((c) => c.name === from)) return { error: `--map names source column '${from}', which ${spec.table} does not have` };
  }

  const keyColumns = spec.key?.length ? spec.key : source.info.primaryKey;
  const keyIndexes: number[] = [];
  for (const name of keyColumns) {
    const index = pairs.findIndex((p) => p.source.name.toLowerCase() === name.toLowerCase());
    if (index < 0) {
      const why = ignored.has(name.toLowerCase()) ? 'is ignored' : columnsMissingInTarget.includes(name) ? 'is missing in the target' : 'does not exist in the source';
      return { error: `key column '${name}' of ${spec.table} ${why}; pick another key with --key` };
    }
    keyIndexes.push(index);
  }

  const crossEngine = source.dialect !== 'postgres' || target.dialect !== 'postgres';
  const hashMode: HashMode = forcedMode === 'native' && !crossEngine ? 'native' : forcedMode ?? (crossEngine ? 'canonical' : 'native');
  const warnings: string[] = [];
  if (forcedMode === 'native' && crossEngine) warnings.push('native hashing needs PostgreSQL on both sides; using canonical text hashing');

  // A text key is cut into ranges on one side and selected by the same bounds on the other, so both sides must order
  // it the same way: when their collations differ (always across engines), compare it in a binary collation, except
  // on a side whose column is bytewise already (so its index stays usable).
  const orderAgrees = (pair: { source: ColumnInfo; target: ColumnInfo }) =>
    !crossEngine && pair.source.collation === pair.target.collation;
  const side = (which: 'source' | 'target', dialect: DialectName): SidePlan => {
    const columns = pairs.map((pair, index): PlannedColumn => {
      const column = pair[which];
      const sameType = pair.source.dataType === pair.target.dataType && pair.source.sqlType === pair.target.sqlType;
      const kind = valueKind(dialect, column);
      const textKey = keyIndexes.includes(index) && (kind === 'text' || kind === 'char');
      return {
        column,
        reportName: pair.source.name,
        kind,
        rule: canonicalRuleFor({ dialect: source.dialect, column: pair.source }, { dialect: target.dialect, column: pair.target }),
        native: hashMode === 'native' && sameType && POSTGRES_NATIVE_HASH_TYPES.has(column.dataType),
        binaryCollation: textKey && !orderAgrees(pair) && column.collation !== 'bytewise',
      };
    });
    return { table: (which === 'source' ? source : target).info.table, keyIndexes, hashMode, columns, binaryKeyCollation: columns.some((c) => c.binaryCollation) };
  };
  const sourcePlan = side('source', source.dialect);
  const targetPlan = side('target', target.dialect);

  if (keyColumns.length === 0) warnings.push(`${spec.table} has no primary key and no --key: compared as a multiset of whole rows (duplicates counted, no per-column diff)`);
  if (columnsMissingInTarget.length) warnings.push(`columns missing in the target: ${columnsMissingInTarget.join(', ')}`);
  if (columnsOnlyInTarget.length) warnings.push(`columns only in the target, not compared: ${columnsOnlyInTarget.join(', ')} (list them in --ignore to silence this)`);
  if (crossEngine) {
    const floats = sourcePlan.columns.filter((pc) => pc.kind === 'float').map((pc) => pc.reportName);
    if (floats.length) warnings.push(`float columns ${floats.join(', ')}: SQL Server renders 17 digits, PostgreSQL the shortest exact form; equal values may show as differing`);
  }
  const slowKeys = [sourcePlan, targetPlan].flatMap((p, i) =>
    (i === 0 ? source.dialect : target.dialect) === 'postgres' ? p.columns.filter((c) => c.binaryCollation).map((c) => `${i === 0 ? 'source' : 'target'}.${c.column.name}`) : [],
  );
  if (slowKeys.length) {
    warnings.push(`text key ${slowKeys.join(', ')} is compared in the "C" collation so both sides agree on key order; an index in another collation cannot serve it (for big tables: CREATE INDEX ... (col COLLATE "C"))`);
  }
  const mixed = sourcePlan.columns.filter((pc, i) => hashMode === 'native' && !pc.native && targetPlan.columns[i]).map((pc) => pc.reportName);
  if (mixed.length) warnings.push(`columns compared through canonical text (types differ between sides or have no native hash): ${mixed.join(', ')}`);

  return {
    plan: {
      source: sourcePlan,
      target: targetPlan,
      keyColumns: keyIndexes.map((i) => pairs[i]!.source.name),
      comparedColumns: pairs.map((p) => p.source.name),
      columnsMissingInTarget,
      columnsOnlyInTarget,
      warnings,
    },
  };
}

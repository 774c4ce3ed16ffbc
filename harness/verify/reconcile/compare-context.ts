import type { ComparePlan } from './compare-plan.js';
import type { DiffCollector } from './diff-collector.js';
import type { KeyRange, ReconcileOptions, RowKey } from './reconcile-types.js';
import type { SidePlan, SqlDialect, SqlText } from './sql-dialect.js';
import type { SqlRow, SqlSession } from './sql-session.js';

export interface Side {
  session: SqlSession;
  dialect: SqlDialect;
  plan: SidePlan;
}

/** Everything one table's comparison needs, passed down to chunking, bisection and row comparison. */
export interface CompareContext {
  source: Side;
  target: Side;
  plan: ComparePlan;
  options: ReconcileOptions;
  diffs: DiffCollector;
  /** Single integer key: ranges can be split arithmetically. */
  integerKey: boolean;
}

export function run(side: Side, statement: SqlText): Promise<SqlRow[]> {
  return side.session.query(statement.sql, statement.params);
}

export interface RangeChecksum {
  rows: number;
  sum: string;
}

export async function checksumRange(side: Side, range: KeyRange): Promise<RangeChecksum> {
  const [row] = await run(side, side.dialect.checksum(side.plan, range));
  return { rows: Number(row?.cnt ?? 0), sum: normalizeDecimal(row?.hsum ?? '0') };
}

/** Sums come back as decimal text from either engine; strip signs of zero and leading zeros so they compare as text. */
export function normalizeDecimal(text: string): string {
  return BigInt(text.trim().replace(/\.0*$/, '')).toString();
}

/** The report form of a key or row: integers as numbers when exact, everything else as text. */
export function rowKeyFrom(side: Side, row: SqlRow, indexes: number[], prefix: 'k' | 'd', byPosition: boolean): RowKey {
  const key: RowKey = {};
  indexes.forEach((columnIndex, i) => {
    const pc = side.plan.columns[columnIndex]!;
    const value = row[`${prefix}${byPosition ? i : columnIndex}`] ?? null;
    key[pc.reportName] = pc.kind === 'integer' && value !== null && Number.isSafeInteger(Number(value)) ? Number(value) : value;
  });
  return key;
}

/** What the engine asks of a dialect: introspection and the text of every statement it runs. */
import type { CanonicalRule, ValueKind } from './canonical-kind.js';
import type { ColumnInfo, DialectName, HashMode, KeyRange, TableInfo, TableName } from './reconcile-types.js';
import type { SqlSession } from './sql-session.js';

export interface PlannedColumn {
  column: ColumnInfo;
  /** Name in reports: the source column name. */
  reportName: string;
  kind: ValueKind;
  rule: CanonicalRule;
  /** Native mode only: hash the value itself (same type both sides and the type has a 64-bit hash). */
  native: boolean;
  /** Key columns only: order and compare in a binary collation, because the two sides' collations may disagree. */
  binaryCollation: boolean;
}

/** One side of a comparison: its table, key and compared columns, aligned with the other side's plan. */
export interface SidePlan {
  table: TableName;
  /** Indexes into `columns` of the key columns, in key order. */
  keyIndexes: number[];
  columns: PlannedColumn[];
  hashMode: HashMode;
  /** Some text key column is ordered and compared in a binary collation on this side (see PlannedColumn). */
  binaryKeyCollation: boolean;
}

export interface SqlText {
  sql: string;
  params: (string | null)[];
}

export interface SqlDialect {
  readonly name: DialectName;
  readonly defaultSchema: string;
  quote(identifier: string): string;
  tableRef(table: TableName): string;
  introspect(session: SqlSession, table: TableName): Promise<TableInfo | undefined>;
  /** cnt, hsum (decimal text) for the rows in range. */
  checksum(plan: SidePlan, range: KeyRange): SqlText;
  /** cnt only. */
  count(plan: SidePlan, range: KeyRange): SqlText;
  /** cnt of rows with a NULL in any key column (key ranges never select them). */
  nullKeyCount(plan: SidePlan): SqlText;
  /** lo, hi of a single integer key in range (text). */
  keyBounds(plan: SidePlan, range: KeyRange): SqlText;
  /** The key (k0, k1, ...) at a zero-based offset from range.lower, or no row. */
  keyAtOffset(plan: SidePlan, range: KeyRange, offset: number): SqlText;
  /** Keys (k0, k1, ...) at every step-th row of the range, excluding the first row: split points. */
  splitPoints(plan: SidePlan, range: KeyRange, step: number): SqlText;
  /** Rows of a range: k0.. (bound text), keytext (canonical), h (row hash), c0.. (compare value), d0.. (display). */
  fetchRows(plan: SidePlan, range: KeyRange, limit?: number): SqlText;
  /** Keyless: b, cnt, hsum per bucket (row hash modulo `buckets`), in one scan. */
  bucketChecksums(plan: SidePlan, buckets: number): SqlText;
  /** Keyless: h, n (rows per row hash) for the rows in the listed buckets. */
  hashCounts(plan: SidePlan, buckets: number, only: number[]): SqlText;
  /** Keyless: h and d0.. for rows whose hash is in the list. */
  rowsWithHashes(plan: SidePlan, hashes: string[]): SqlText;
}

/** Options, plans and the report contract of the reconciliation engine (see harness/verify/README.md). */
export type DialectName = 'postgres' | 'sqlserver';

/** How row and column values are turned into hashes. */
export type HashMode =
  /** PostgreSQL on both sides, same column types: the type's own 64-bit hash (value semantics, no text rendering). */
  | 'native'
  /** Every value rendered to a canonical text on each side, then SHA-256 (first 8 bytes); works across engines. */
  | 'canonical';

export interface ColumnInfo {
  name: string;
  /** Lower-case base type name as the engine reports it (int4, numeric, nvarchar, datetime2, ...). */
  dataType: string;
  /** The full type as written in DDL (numeric(10,2), character varying(40), ...). */
  sqlType: string;
  numericPrecision?: number;
  numericScale?: number;
  characterLength?: number;
  /** Fractional-second digits of time types. */
  datetimePrecision?: number;
  /** Text columns: 'bytewise' (C, POSIX, C.UTF-8, ucs_basic, SQL Server *_BIN2) or the collation's name; decides key order. */
  collation?: string;
  nullable: boolean;
  default?: string | null;
}

export interface TableName {
  schema: string;
  name: string;
}

export interface TableInfo {
  table: TableName;
  columns: ColumnInfo[];
  primaryKey: string[];
}

/** A key value as text (drivers return text; the database casts it back), one entry per key column. */
export type KeyTuple = string[];

/** Lower bound inclusive, upper bound exclusive; undefined = open. */
export interface KeyRange {
  lower?: KeyTuple;
  upper?: KeyTuple;
}

export interface TableSpec {
  /** Source table: `name` or `schema.name`. */
  table: string;
  /** Target table when its name differs (default: same name, in the target's default schema). */
  targetTable?: string;
  /** Key columns (source names); default: the source primary key. */
  key?: string[];
  /** Columns left out of the comparison (source or target names), e.g. `__deleted`. */
  ignoreColumns?: string[];
  /** Renamed columns: source name -> target name. */
  columnMap?: Record<string, string>;
  /** Only rows with from <= key < to (values per key column, as text). */
  keyRange?: { from?: KeyTuple; to?: KeyTuple };
}

export interface ReconcileOptions {
  mode: 'checksum' | 'row-count';
  /** Rows in the first chunk (the runbook's --chunk-size); later chunks are sized toward chunkTimeSeconds. */
  chunkSize: number;
  /** Time target per chunk; 0 keeps every chunk at chunkSize rows. pt-table-checksum uses 0.5 s. */
  chunkTimeSeconds: number;
  /** Chunks in flight at once (each runs on one connection per side). */
  parallelism: number;
  /** A mismatching range at or below this many rows is fetched and compared row by row; above it, it is split. */
  rowFetchThreshold: number;
  /** Ways a mismatching range is split per bisection step. */
  splitFanout: number;
  /** Entries kept per diff list (missing, extra, differing); totals are always counted. */
  maxDiffRows: number;
  /** Force a hash mode (default: native for PostgreSQL on both sides, canonical otherwise). */
  hashMode?: HashMode;
}

export const DEFAULT_RECONCILE_OPTIONS: ReconcileOptions = {
  mode: 'checksum',
  chunkSize: 10_000,
  chunkTimeSeconds: 0.5,
  parallelism: 2,
  rowFetchThreshold: 2_000,
  splitFanout: 16,
  maxDiffRows: 100,
};

/** A row key in reports: key column (source name) -> value. Keyless tables use every column. */
export type RowKey = Record<string, string | number | null>;

export interface DifferingRow {
  key: RowKey;
  /** Source names of the columns whose values differ. */
  columns: string[];
  /** The differing columns' values on each side (canonical text, or the engine's text in native mode). */
  source: Record<string, string | null>;
  target: Record<string, string | null>;
}

export interface ChunkResult {
  index: number;
  lower: KeyTuple | null;
  upper: KeyTuple | null;
  sourceRows: number;
  targetRows: number;
  match: boolean;
  seconds: number;
}

export interface TableReport {
  table: string;
  targetTable: string;
  /** True only when both sides were compared and no difference was found. */
  match: boolean;
  /** Set when the table could not be compared (missing table, bad key, ...); match is then false. */
  error?: string;
  mode: 'checksum' | 'row-count';
  hashMode?: HashMode;
  keyColumns: string[];
  keyless: boolean;
  comparedColumns: string[];
  columnsMissingInTarget: string[];
  columnsOnlyInTarget: string[];
  sourceRows: number;
  targetRows: number;
  missingInTarget: RowKey[];
  extraInTarget: RowKey[];
  differing: DifferingRow[];
  /** Totals of the three lists; they exceed the list lengths when truncated is true. */
  diffCounts: { missingInTarget: number; extraInTarget: number; differing: number };
  truncated: boolean;
  chunks: ChunkResult[];
  chunkStats: { count: number; mismatched: number; listed: number; targetSeconds: number; meanSeconds: number; maxSeconds: number };
  warnings: string[];
  durationSeconds: number;
}

export interface ReconcileReport {
  reportVersion: 1;
  tool: 'runbook-harness reconcile';
  startedAt: string;
  finishedAt: string;
  source: { dialect: DialectName; endpoint: string };
  target: { dialect: DialectName; endpoint: string };
  options: ReconcileOptions;
  summary: {
    match: boolean;
    tables: number;
    matchedTables: number;
    mismatchedTables: number;
    erroredTables: number;
    sourceRows: number;
    targetRows: number;
    missingInTarget: number;
    extraInTarget: number;
    differing: number;
    durationSeconds: number;
  };
  tables: TableReport[];
}

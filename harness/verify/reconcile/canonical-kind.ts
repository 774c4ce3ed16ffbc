/**
 * Which canonical text a column is rendered to. The kind comes from each side's own type; the pair decides the
 * numeric scale and whether trailing spaces count. The rules (same on both engines):
 * - integers: decimal digits; bool/bit: '1' / '0';
 * - numerics: at the larger declared scale of the two sides (exact, never rounds a declared value); when a side
 *   declares no scale (PostgreSQL `numeric`), both sides trim trailing zeros instead (1.10 = 1.1, 4.20 != 4.2001);
 * - timestamps/datetime2/datetime: 'YYYY-MM-DD HH:MI:SS.ffffff' in UTC (datetime first rounded to its 3 digits);
 *   datetimeoffset/timestamptz converted to UTC; date 'YYYY-MM-DD'; time 'HH:MI:SS.ffffff';
 * - text as stored: trailing spaces count for text/varchar/nvarchar; for char(n)/nchar(n) on either side they do
 *   not (both engines pad those, so the padding carries no data);
 * - uuid/uniqueidentifier: lower-case with hyphens, also when the other side stores it as text (Debezium sends
 *   uniqueidentifier as a string); binary: lower-case hex;
 * - NULL is never equal to the empty string (it is a distinct marker in the row text).
 */
import type { ColumnInfo, DialectName } from './reconcile-types.js';

export type ValueKind =
  | 'integer'
  | 'decimal'
  | 'money'
  | 'float'
  | 'bool'
  | 'text'
  | 'char'
  | 'uuid'
  | 'date'
  | 'timestamp'
  | 'datetime'
  | 'timestamptz'
  | 'time'
  | 'binary'
  | 'other';

const KIND_BY_TYPE: Record<DialectName, Record<string, ValueKind>> = {
  postgres: {
    int2: 'integer', int4: 'integer', int8: 'integer', oid: 'integer',
    numeric: 'decimal',
    float4: 'float', float8: 'float',
    bool: 'bool',
    text: 'text', varchar: 'text', citext: 'text', name: 'text', json: 'text', jsonb: 'text', xml: 'text',
    bpchar: 'char',
    uuid: 'uuid',
    date: 'date', timestamp: 'timestamp', timestamptz: 'timestamptz', time: 'time',
    bytea: 'binary',
  },
  sqlserver: {
    tinyint: 'integer', smallint: 'integer', int: 'integer', bigint: 'integer',
    decimal: 'decimal', numeric: 'decimal', money: 'money', smallmoney: 'money',
    float: 'float', real: 'float',
    bit: 'bool',
    varchar: 'text', nvarchar: 'text', text: 'text', ntext: 'text', xml: 'text', sysname: 'text',
    char: 'char', nchar: 'char',
    uniqueidentifier: 'uuid',
    date: 'date', datetime2: 'timestamp', smalldatetime: 'timestamp', datetime: 'datetime', datetimeoffset: 'timestamptz', time: 'time',
    binary: 'binary', varbinary: 'binary', image: 'binary',
  },
};

export function valueKind(dialect: DialectName, column: ColumnInfo): ValueKind {
  return KIND_BY_TYPE[dialect][column.dataType] ?? 'other';
}

/** Pair-level rendering choices, identical on both sides. */
export interface CanonicalRule {
  /** Scale numerics are rendered at; undefined = trim trailing zeros. */
  decimalScale?: number;
  trimTrailingSpaces: boolean;
  /** A uuid on either side: text on the other side is lower-cased too. */
  lowerCase: boolean;
}

export function canonicalRuleFor(
  source: { dialect: DialectName; column: ColumnInfo },
  target: { dialect: DialectName; column: ColumnInfo },
): CanonicalRule {
  const sourceKind = valueKind(source.dialect, source.column);
  const targetKind = valueKind(target.dialect, target.column);
  const scaleOf = (side: { dialect: DialectName; column: ColumnInfo }, kind: ValueKind) =>
    kind === 'money' ? 4 : kind === 'decimal' ? side.column.numericScale : undefined;
  const decimalSides = [
    { side: source, kind: sourceKind },
    { side: target, kind: targetKind },
  ].filter(({ kind }) => kind === 'decimal' || kind === 'money');
  const scales = decimalSides.map(({ side, kind }) => scaleOf(side, kind));
  // One unconstrained side means values may carry any scale: only trimmed text compares them without rounding.
  const declared = scales.length > 0 && scales.every((s): s is number => typeof s === 'number');
  return {
    decimalScale: declared ? Math.max(...(scales as number[])) : undefined,
    trimTrailingSpaces: sourceKind === 'char' || targetKind === 'char',
    lowerCase: sourceKind === 'uuid' || targetKind === 'uuid',
  };
}

/** Numeric kinds that are rendered through the decimal rule when the other side is a decimal. */
export function isNumericKind(kind: ValueKind): boolean {
  return kind === 'decimal' || kind === 'money' || kind === 'integer';
}

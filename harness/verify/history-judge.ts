/**
 * The per-key judgement of the history checker, on plain data: one table's writes (of one or several writers)
 * against the rows the target holds. See history.ts for the verdict's meaning.
 */
import type { WriteAttempt } from '../workload/writer.js';

export type Row = Record<string, string>;
export type TargetRow = Record<string, string | null>;

export interface TableWrites {
  /** Every write attempted, in issue order (acknowledged, failed, indeterminate). */
  attempts: WriteAttempt[];
  /** Acknowledged final state per key (null: deleted); a caller may have mapped it through a schema change. */
  finalState: Map<number, Row | null>;
  /** Key ranges the writers own (inclusive): a row there that no write attempted is unexpected. */
  keySpaces: { first: number; last: number }[];
  excused: Set<number>;
}

export interface StaleKey {
  key: number;
  /** deleted: its last acknowledged write deleted it; never-written: no write of it was acknowledged (or could have applied); value: other values. */
  reason: 'deleted' | 'never-written' | 'value';
  /** What the last acknowledged write left (null: absent) and what the target holds. */
  expected: Row | null;
  actual: TargetRow;
  /** The compared columns that differ (value only). */
  columns: string[];
}

export interface RecoveredKey {
  key: number;
  /** The indeterminate write whose effect the target shows. */
  op: WriteAttempt['op'];
  seq: number;
}

export interface KeyJudgement {
  keysChecked: number;
  lost: number[];
  unexpected: number[];
  stale: StaleKey[];
  recovered: RecoveredKey[];
}

/** Columns of `row` (in `columns`) whose target value differs; `map` renames source → target columns. */
function differingColumns(row: Row, actual: TargetRow, columns: string[], map: Record<string, string>): string[] {
  return Object.keys(row).filter((c) => columns.includes(c) && (actual[map[c] ?? c] ?? null) !== row[c]);
}

export function judgeKeys(writes: TableWrites, target: Map<number, TargetRow>, columns: string[], map: Record<string, string> = {}): KeyJudgement {
  const byKey = new Map<number, WriteAttempt[]>();
  for (const a of writes.attempts) byKey.set(a.key, [...(byKey.get(a.key) ?? []), a]);
  const keys = [...new Set([...byKey.keys(), ...writes.finalState.keys()])].filter((k) => !writes.excused.has(k)).sort((a, b) => a - b);
  const verdict: KeyJudgement = { keysChecked: keys.length, lost: [], unexpected: [], stale: [], recovered: [] };
  for (const key of keys) {
    const expected = writes.finalState.get(key) ?? null; // never acknowledged: absent
    const actual = target.get(key);
    const differing = expected && actual ? differingColumns(expected, actual, columns, map) : [];
    if (expected ? actual && differing.length === 0 : !actual) continue;
    // An indeterminate write may have applied: present with the values it tried (or, a delete, absent).
    const shown = (byKey.get(key) ?? []).filter((a) => a.outcome === 'indeterminate').reverse().find((a) => (a.row === null ? !actual : actual && differingColumns(a.row, actual, columns, map).length === 0));
    if (shown) verdict.recovered.push({ key, op: shown.op, seq: shown.seq });
    else if (!actual) verdict.lost.push(key);
    else verdict.stale.push({ key, reason: expected ? 'value' : writes.finalState.has(key) ? 'deleted' : 'never-written', expected, actual, columns: differing });
  }
  const attempted = new Set(keys);
  for (const key of [...target.keys()].sort((a, b) => a - b)) {
    if (attempted.has(key) || writes.excused.has(key)) continue;
    if (writes.keySpaces.some((s) => key >= s.first && key <= s.last)) verdict.unexpected.push(key);
  }
  return verdict;
}

/**
 * The no-loss check: every acknowledged write of a workload must be in the target in its final state.
 * Keys the runbook sends to the DLQ are excused only when listed (and must then be found in the DLQ by
 * the scenario). Returns a verdict; never throws on a difference.
 */
import type { WorkloadHistory } from '../workload/writer.js';
import type { SqlSession } from './reconcile/index.js';

export interface HistoryVerdict {
  table: string;
  pass: boolean;
  acknowledgedWrites: number;
  keysChecked: number;
  /** Keys whose last acknowledged write was an insert/update but which the target lacks. */
  missing: number[];
  /** Keys deleted in the source but still in the target. */
  notDeleted: number[];
  /** Keys present with other values: key → column → { expected, actual }. */
  wrong: { key: number; column: string; expected: string; actual: string | null }[];
  /** Keys excused as DLQ-routed by the caller. */
  excused: number[];
  failedWrites: number;
  /** Columns compared (a subset of those written when onlyColumns was given). */
  comparedColumns: string[];
}

export interface HistoryCheckOptions {
  targetTable?: string;
  /** Renamed columns: source name → target name. */
  columnMap?: Record<string, string>;
  /** Keys the runbook routes to the DLQ; the scenario must find them there. */
  excusedKeys?: number[];
  /**
   * Compare only these columns: the source's final columns, when a procedure's rollback dropped a column
   * the workload wrote (its values are gone by design; reconciliation covers the schemas).
   */
  onlyColumns?: string[];
}

export async function checkHistory(history: WorkloadHistory, target: SqlSession, options: HistoryCheckOptions = {}): Promise<HistoryVerdict> {
  const table = options.targetTable ?? history.table;
  const map = options.columnMap ?? {};
  const excused = new Set(options.excusedKeys ?? []);
  const keys = [...history.finalState.keys()].filter((k) => !excused.has(k));
  const written = [...new Set([...history.finalState.values()].flatMap((row) => (row ? Object.keys(row) : [])))];
  const columns = options.onlyColumns ? written.filter((c) => options.onlyColumns!.includes(c)) : written;
  const quote = (n: string) => `"${n.replace(/"/g, '""')}"`;
  const targetColumns = columns.map((c) => map[c] ?? c);
  const present = new Map<number, Record<string, string | null>>();
  const cast = target.dialect === 'postgres' ? (c: string) => `${quote(c)}::text AS ${quote(c)}` : (c: string) => `CAST(${quote(c)} AS nvarchar(max)) AS ${quote(c)}`;
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const rows = await target.query(
      `SELECT ${quote(history.keyColumn)}${target.dialect === 'postgres' ? '::text' : ''} AS k${targetColumns.length ? ', ' + targetColumns.map(cast).join(', ') : ''} FROM ${quote(table)} WHERE ${quote(history.keyColumn)} IN (${batch.join(',')})`,
    );
    for (const row of rows) present.set(Number(row.k), row);
  }
  const verdict: HistoryVerdict = { table, pass: true, acknowledgedWrites: history.writes.length, keysChecked: keys.length, missing: [], notDeleted: [], wrong: [], excused: [...excused], failedWrites: history.errors.length, comparedColumns: columns };
  for (const key of keys) {
    const expected = history.finalState.get(key)!;
    const actual = present.get(key);
    if (expected === null) {
      if (actual) verdict.notDeleted.push(key);
      continue;
    }
    if (!actual) {
      verdict.missing.push(key);
      continue;
    }
    for (const [column, value] of Object.entries(expected)) {
      if (!columns.includes(column)) continue;
      const got = actual[map[column] ?? column] ?? null;
      if (got !== value) verdict.wrong.push({ key, column, expected: value, actual: got });
    }
  }
  verdict.pass = verdict.missing.length === 0 && verdict.notDeleted.length === 0 && verdict.wrong.length === 0;
  return verdict;
}

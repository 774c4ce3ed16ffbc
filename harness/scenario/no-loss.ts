/**
 * The "nothing lost" close-out of a scenario's workload: stop it, reconcile, and check every acknowledged write with
 * the history checker; plus the history rewritten through a column rename. Returns observations; only scenarios assert.
 */
import { attachJson } from '../report/step.js';
import { checkHistory, type HistoryVerdict, type TopicSource } from '../verify/history.js';
import { type ReconcileReport, type SqlSession, type TableSpec } from '../verify/reconcile/index.js';
import { type Workload, type WorkloadHistory } from '../workload/writer.js';
import { awaitConverged, type ColumnInfo, describeTable } from './replica-waits.js';

export interface NoLossObservation {
  history: WorkloadHistory;
  converged: boolean;
  report: ReconcileReport;
  verdict: HistoryVerdict;
  sourceColumns: ColumnInfo[];
  targetColumns: ColumnInfo[];
}

/**
 * Stops the workload and gathers the no-loss evidence: the reconciliation of `spec` until it converges, the
 * workload's history checked against the target (lost / unexpected / stale / recovered, on `onlyColumns`, default
 * the source's final columns; duplicated events too when `topic` is given), both tables' columns.
 */
export async function closeOutWorkload(
  workload: Workload,
  source: SqlSession,
  target: SqlSession,
  spec: TableSpec,
  options: { excusedKeys?: number[]; columnMap?: Record<string, string>; onlyColumns?: string[]; topic?: TopicSource } = {},
): Promise<NoLossObservation> {
  const history = await workload.stop();
  const { converged, report } = await awaitConverged(source, target, [spec]);
  await attachJson('reconciliation report', report);
  const sourceColumns = await describeTable(source, spec.table);
  const targetColumns = await describeTable(target, spec.targetTable ?? spec.table);
  const compared = options.onlyColumns ?? sourceColumns.map((c) => c.column_name);
  const verdict = await checkHistory(history, target, { onlyColumns: compared, excusedKeys: options.excusedKeys, columnMap: options.columnMap, targetTable: spec.targetTable, topic: options.topic });
  await attachJson('write history check', { ...verdict, errors: history.errors.slice(0, 20) });
  await attachJson('columns after the procedure', { source: sourceColumns, target: targetColumns });
  return { history, converged, report, verdict, sourceColumns, targetColumns };
}

/** A one-line summary of a history verdict for an assertion message. */
export function verdictSummary(verdict: HistoryVerdict): string {
  return JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) });
}

/**
 * A workload history seen through a rename: each key's final state is its last write (the workload writes every
 * column of its shape each time), with the old column's value under the new name when that write used the old name.
 * The no-loss check then asks: is every acknowledged value in the renamed column, whichever name it was written to?
 */
export function historyThroughRename(history: WorkloadHistory, from: string, to: string): WorkloadHistory {
  const finalState = new Map<number, Record<string, string> | null>();
  for (const write of history.writes) {
    if (write.row === null) {
      finalState.set(write.key, null);
      continue;
    }
    const { [from]: old, ...rest } = write.row;
    finalState.set(write.key, { ...rest, [to]: rest[to] ?? old! });
  }
  return { ...history, finalState };
}

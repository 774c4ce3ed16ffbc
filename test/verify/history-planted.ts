/** Planted workload histories for the history checker's tests: a list of writes with their outcomes. */
import type { Operation, WorkloadHistory, WriteAttempt, WriteOutcome } from '../../harness/workload/writer.js';

export type Planted = [Operation, number, Record<string, string> | null, WriteOutcome];

/** The history a writer would have recorded for these writes, owning keys first … first + 999. */
export function plantHistory(table: string, writes: Planted[], first = 1001): WorkloadHistory {
  const attempts: WriteAttempt[] = writes.map(([op, key, row, outcome], seq) => ({ seq, op, key, row, outcome, at: 1_000 + seq }));
  const finalState = new Map<number, Record<string, string> | null>();
  for (const a of attempts.filter((w) => w.outcome === 'ok')) finalState.set(a.key, a.row === null ? null : { ...(a.op === 'update' ? finalState.get(a.key) ?? {} : {}), ...a.row });
  return {
    table,
    keyColumn: 'id',
    attempts,
    writes: attempts.filter((a) => a.outcome === 'ok').map(({ op, key, row, at }) => ({ op, key, row, at })),
    errors: attempts.filter((a) => a.outcome !== 'ok').map((a) => ({ op: a.op, key: a.key, outcome: a.outcome as 'failed' | 'indeterminate', message: 'planted' })),
    finalState,
    keySpace: { first, last: first + 999 },
    durationSeconds: 1,
  };
}

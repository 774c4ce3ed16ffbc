/**
 * The history checker's judgement on planted histories (plain data): each category is detected with its keys,
 * and indeterminate writes are never counted as lost.
 */
import { describe, expect, it } from 'vitest';
import { judgeKeys, type TargetRow } from '../../harness/verify/history-judge.js';
import type { WorkloadHistory } from '../../harness/workload/writer.js';
import { plantHistory, type Planted } from './history-planted.js';

function judge(writes: Planted[], target: Record<number, TargetRow>, options: { excused?: number[]; columns?: string[]; map?: Record<string, string> } = {}) {
  const history: WorkloadHistory = plantHistory('t', writes);
  const rows = new Map(Object.entries(target).map(([k, v]) => [Number(k), v]));
  return judgeKeys({ attempts: history.attempts, finalState: history.finalState, keySpaces: [history.keySpace], excused: new Set(options.excused ?? []) }, rows, options.columns ?? ['name'], options.map);
}

const a = { name: 'a' };
const b = { name: 'b' };
const nothing = { lost: [], unexpected: [], stale: [], recovered: [] };

describe('history judgement', () => {
  it('passes a target that holds exactly the acknowledged final state', () => {
    const verdict = judge(
      [['insert', 1001, a, 'ok'], ['insert', 1002, a, 'ok'], ['update', 1001, b, 'ok'], ['delete', 1002, null, 'ok'], ['insert', 1003, b, 'failed']],
      { 1001: b },
    );
    expect(verdict).toMatchObject(nothing);
    expect(verdict.keysChecked).toBe(3);
  });

  it('lost: an acknowledged insert, or the row of an acknowledged update, absent from the target', () => {
    const verdict = judge([['insert', 1001, a, 'ok'], ['insert', 1002, a, 'ok'], ['update', 1002, b, 'ok'], ['insert', 1003, a, 'ok']], { 1003: a });
    expect(verdict).toMatchObject({ ...nothing, lost: [1001, 1002] });
  });

  it('unexpected: a row inside the key space that no write attempted; rows outside it (seed, another writer) are not judged', () => {
    const verdict = judge([['insert', 1001, a, 'ok'], ['insert', 1004, a, 'ok']], { 1001: a, 1002: a, 1004: a, 7: a, 2_000_001: a });
    expect(verdict).toMatchObject({ ...nothing, unexpected: [1002] });
  });

  it('stale: a value other than the last acknowledged one', () => {
    const verdict = judge([['insert', 1001, a, 'ok'], ['update', 1001, b, 'ok']], { 1001: a });
    expect(verdict.stale).toEqual([{ key: 1001, reason: 'value', expected: b, actual: a, columns: ['name'] }]);
    expect(verdict).toMatchObject({ lost: [], unexpected: [], recovered: [] });
  });

  it('stale: a key still present after an acknowledged delete', () => {
    const verdict = judge([['insert', 1001, a, 'ok'], ['delete', 1001, null, 'ok']], { 1001: a });
    expect(verdict.stale).toEqual([{ key: 1001, reason: 'deleted', expected: null, actual: a, columns: [] }]);
  });

  it('stale: a write the database rejected (failed) is present anyway', () => {
    const verdict = judge([['insert', 1001, a, 'failed']], { 1001: a });
    expect(verdict.stale).toEqual([{ key: 1001, reason: 'never-written', expected: null, actual: a, columns: [] }]);
  });

  it('recovered: an indeterminate insert present with the values it tried; absent, it is neither lost nor reported', () => {
    const verdict = judge([['insert', 1001, a, 'indeterminate'], ['insert', 1002, a, 'indeterminate'], ['insert', 1003, a, 'ok']], { 1001: a, 1003: a });
    expect(verdict).toMatchObject({ ...nothing, recovered: [{ key: 1001, op: 'insert', seq: 0 }] });
  });

  it('recovered: an indeterminate update or delete whose effect shows; without effect the acknowledged state stands', () => {
    const verdict = judge(
      [['insert', 1001, a, 'ok'], ['update', 1001, b, 'indeterminate'], ['insert', 1002, a, 'ok'], ['delete', 1002, null, 'indeterminate'], ['insert', 1003, a, 'ok'], ['update', 1003, b, 'indeterminate']],
      { 1001: b, 1003: a },
    );
    expect(verdict).toMatchObject({ ...nothing, recovered: [{ key: 1001, op: 'update', seq: 1 }, { key: 1002, op: 'delete', seq: 3 }] });
  });

  it('an indeterminate insert present with values it never tried is stale, not recovered', () => {
    const verdict = judge([['insert', 1001, a, 'indeterminate']], { 1001: { name: 'zzz' } });
    expect(verdict.recovered).toEqual([]);
    expect(verdict.stale).toEqual([{ key: 1001, reason: 'never-written', expected: null, actual: { name: 'zzz' }, columns: [] }]);
  });

  it('excused keys are not judged; only the compared columns count, under their target names', () => {
    const written = { name: 'a', note: 'x' };
    const verdict = judge([['insert', 1001, written, 'ok'], ['insert', 1002, written, 'ok']], { 1002: { full_name: 'a', note: 'changed' } }, { excused: [1001], columns: ['name'], map: { name: 'full_name' } });
    expect(verdict).toMatchObject(nothing);
    expect(judge([['insert', 1002, written, 'ok']], { 1002: { full_name: 'a', note: 'changed' } }, { columns: ['name', 'note'], map: { name: 'full_name' } }).stale.map((s) => s.columns)).toEqual([['note']]);
  });
});

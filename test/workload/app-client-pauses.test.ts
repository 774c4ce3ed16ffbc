import { describe, expect, test } from 'vitest';
import { coveredMs, longestPause, type AppRequest } from '../../harness/workload/app-client.js';

const req = (seq: number, kind: 'write' | 'read', start: number, end: number, outcome: AppRequest['outcome'] = 'ok'): AppRequest => ({ seq, kind, op: kind === 'write' ? 'insert' : 'select', start, end, outcome });

describe('client pauses and downtime', () => {
  test('the longest pause is the longest gap between successful completions of that kind', () => {
    const log = [req(0, 'write', 0, 10), req(1, 'write', 20, 30), req(2, 'read', 0, 5), req(3, 'write', 40, 3030), req(4, 'write', 3040, 3050)];
    expect(longestPause(log, 'write', 3060)).toEqual({ longestMs: 3000, from: 30, to: 3030 });
    expect(longestPause(log, 'read', 100).longestMs).toBe(95);
  });
  test('a failed request does not end a pause', () => {
    const log = [req(0, 'write', 0, 10), req(1, 'write', 20, 500, 'failed'), req(2, 'write', 510, 520)];
    expect(longestPause(log, 'write', 530).longestMs).toBe(510);
  });
  test('downtime is the union of the failed requests\' spans', () => {
    expect(coveredMs([req(0, 'write', 0, 100, 'failed'), req(1, 'read', 50, 150, 'failed'), req(2, 'write', 300, 310, 'failed')])).toBe(160);
    expect(coveredMs([])).toBe(0);
  });
});

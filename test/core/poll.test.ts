import { describe, expect, test } from 'vitest';
import { pollUntil, WaitTimeoutError } from '../../harness/core/poll.js';

describe('pollUntil', () => {
  test('returns the value once done', async () => {
    let n = 0;
    await expect(pollUntil({ what: 'n to reach 3', limitMs: 2000, intervalMs: 1 }, async () => ({ done: ++n >= 3, seen: `n=${n}`, value: n }))).resolves.toBe(3);
  });
  test('a timeout says what it waited for, what it last saw and for how long', async () => {
    const error = await pollUntil({ what: 'the impossible', limitMs: 50, intervalMs: 10 }, async () => ({ done: false, seen: 'still nothing' })).catch((e) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toMatch(/^waited 0\.\ds for the impossible; last saw: still nothing$/);
  });
  test('a probe error is what was last seen', async () => {
    const error = await pollUntil({ what: 'x', limitMs: 30, intervalMs: 10 }, async () => {
      throw new Error('connection refused');
    }).catch((e) => e);
    expect((error as Error).message).toContain('last saw: connection refused');
  });
  test('abort ends the wait at once', async () => {
    const started = Date.now();
    await expect(pollUntil({ what: 'x', limitMs: 10_000 }, async () => ({ done: false, seen: 'FAILED', abort: new Error('task FAILED') }))).rejects.toThrow('task FAILED');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

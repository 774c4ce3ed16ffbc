/**
 * measureFlow on plain offsets: the backlog over the window, not the sink's rate, shows a sink that commits whole
 * batches falling behind; the window closes early once `enough` holds, and otherwise runs to its length.
 */
import { describe, expect, test } from 'vitest';
import { measureFlow } from '../../harness/scenario/pipeline-observers.js';

/** A topic fed at `perSecond` whose sink commits `batch` records at once every `everyMs`. */
function batchedSink(perSecond: number, batch: number, everyMs: number) {
  const started = Date.now();
  const end = () => Math.floor(((Date.now() - started) / 1000) * perSecond) + 1_000;
  const committed = () => Math.min(end(), Math.floor((Date.now() - started) / everyMs) * batch + 1_000);
  return { acknowledged: () => end() - 1_000, partitions: async () => [{ topic: 't', end: end(), committed: committed() }, { topic: 'other', end: 99, committed: 0 }] };
}

describe('measureFlow', () => {
  test('a sink that falls behind shows a growing backlog, whatever a batch does inside the window', async () => {
    const flow = await measureFlow(batchedSink(100, 50, 1_500), 't', 3_000);
    expect(flow.seconds).toBeGreaterThanOrEqual(3);
    expect(flow.samples.length).toBeGreaterThanOrEqual(3);
    expect(flow.producedPerSecond).toBeGreaterThan(80);
    expect(flow.backlogGrowth).toBe(flow.backlogAtEnd - flow.backlogAtStart);
    expect(flow.backlogGrowth).toBeGreaterThan(100);
  });

  test('a sink that keeps up leaves the backlog within one batch', async () => {
    const flow = await measureFlow(batchedSink(100, 1_000, 500), 't', 2_000);
    expect(Math.abs(flow.backlogGrowth)).toBeLessThanOrEqual(100);
  });

  test('enough closes the window early', async () => {
    const flow = await measureFlow(batchedSink(100, 0, 1_000), 't', 10_000, (first, now) => now.end - now.committed - (first.end - first.committed) > 50);
    expect(flow.seconds).toBeLessThan(5);
    expect(flow.backlogGrowth).toBeGreaterThan(50);
  });
});

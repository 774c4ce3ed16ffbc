/**
 * The integer-key chunk planner on plain key sets (pure logic): whatever the spread of the keys, the chunks tile the
 * key space without gap or overlap, no chunk holds more than budget / DENSE_KEYS rows on either side, and the number
 * of chunks follows the rows, not the width of the key range. A sequence is still planned without a single query.
 */
import { describe, expect, it } from 'vitest';
import { ChunkBudget, DENSE_KEYS, IntegerKeyPlanner } from '../../harness/verify/reconcile/chunk-planner.js';
import type { KeyRange } from '../../harness/verify/reconcile/reconcile-types.js';
import { cornerKeys, signedKeys, snowflakeKeys } from './reconcile-sparse-keys.js';

const BUDGET = 100;
/** Far more than any sane plan of these tables needs; the old equal-width plan needs millions. */
const CHUNK_LIMIT = 100_000;

/** First index with keys[i] >= key. */
function lowerBound(keys: bigint[], key: bigint): number {
  let [lo, hi] = [0, keys.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const inRange = (keys: bigint[], r: KeyRange) =>
  (r.upper ? lowerBound(keys, BigInt(r.upper[0]!)) : keys.length) - (r.lower ? lowerBound(keys, BigInt(r.lower[0]!)) : 0);

async function plan(source: bigint[], target: bigint[]) {
  let walks = 0;
  const keyAtOffset = async (lower: string[] | undefined, offset: number) => {
    walks++;
    const found = [source, target].map((keys) => keys[(lower ? lowerBound(keys, BigInt(lower[0]!)) : 0) + offset]).filter((k) => k !== undefined);
    return found.length ? found.reduce((a, b) => (b < a ? b : a)) : undefined;
  };
  const all = [...source, ...target];
  const min = all.reduce((a, b) => (b < a ? b : a));
  const max = all.reduce((a, b) => (b > a ? b : a));
  const planner = new IntegerKeyPlanner(min, max, new ChunkBudget(BUDGET, 0), {}, keyAtOffset);
  const chunks: { range: KeyRange; source: number; target: number }[] = [];
  for (let range = await planner.next(); range && chunks.length < CHUNK_LIMIT; range = await planner.next()) {
    const [s, t] = [inRange(source, range), inRange(target, range)];
    planner.observe(Math.max(s, t), 0.001, range);
    chunks.push({ range, source: s, target: t });
  }
  return { chunks, walks };
}

function expectTiling(chunks: { range: KeyRange; source: number; target: number }[], source: bigint[], target: bigint[]) {
  expect(chunks.length).toBeLessThan(CHUNK_LIMIT);
  expect(chunks[0]!.range.lower).toBeUndefined();
  expect(chunks.at(-1)!.range.upper).toBeUndefined();
  for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.range.lower).toEqual(chunks[i - 1]!.range.upper);
  for (const c of chunks.slice(0, -1)) expect(BigInt(c.range.upper![0]!) > (c.range.lower ? BigInt(c.range.lower[0]!) : -(2n ** 64n))).toBe(true);
  expect(chunks.reduce((n, c) => n + c.source, 0)).toBe(source.length);
  expect(chunks.reduce((n, c) => n + c.target, 0)).toBe(target.length);
  expect(Math.max(...chunks.map((c) => Math.max(c.source, c.target)))).toBeLessThanOrEqual(BUDGET / DENSE_KEYS);
}

describe('integer-key chunk planning follows the keys that exist', () => {
  it('1,003 Snowflake-style ids over 2^63 keys: about rows / budget chunks', async () => {
    const keys = snowflakeKeys(1003, 1);
    expect(keys[keys.length - 1]! - keys[0]!).toBeGreaterThan(2n ** 62n);
    const { chunks } = await plan(keys, keys);
    expectTiling(chunks, keys, keys);
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil(1003 / BUDGET) + 2);
  });

  it('signed keys from -2^63 to 2^63-1', async () => {
    const keys = signedKeys(1003, 2);
    const { chunks } = await plan(keys, keys);
    expectTiling(chunks, keys, keys);
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil(1003 / BUDGET) + 2);
  });

  it('a dense corner in a sparse range: the corner goes arithmetic, the rest is walked, no chunk swallows the corner', async () => {
    const keys = cornerKeys(20_000, 500, -5_000n, 3);
    const { chunks, walks } = await plan(keys, keys);
    expectTiling(chunks, keys, keys);
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil(keys.length / BUDGET) * 2 + 4);
    expect(walks).toBeLessThan(chunks.length / 2); // the 20,000-key corner is cut arithmetically
  });

  it('rows only on one side (target sparse, source a sequence): chunks bounded on both sides', async () => {
    const source = cornerKeys(3_000, 0, 1n, 4);
    const target = [...source, ...snowflakeKeys(700, 5)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const { chunks } = await plan(source, target);
    expectTiling(chunks, source, target);
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil(target.length / BUDGET) * 2 + 4);
  });

  it('a sequence is still cut arithmetically, with no key walk at all', async () => {
    const keys = cornerKeys(50_000, 0, 1n, 6);
    const { chunks, walks } = await plan(keys, keys);
    expectTiling(chunks, keys, keys);
    expect(walks).toBe(0);
    expect(chunks.length).toBe(50_000 / BUDGET);
  });
});

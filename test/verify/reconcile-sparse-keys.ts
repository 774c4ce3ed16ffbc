/** Key sets for the sparse-key tests: Snowflake-style ids, signed keys over the whole 64-bit range, a dense corner. Seeded. */
import { prng } from '../support/prng.js';
const u32 = (rand: () => number) => BigInt(Math.floor(rand() * 2 ** 32));
export const INT8_MIN = -(2n ** 63n);
export const INT8_MAX = 2n ** 63n - 1n;

function distinctSorted(keys: bigint[]): bigint[] {
  return [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Twitter Snowflake layout: 41-bit milliseconds since the epoch, 10-bit worker, 12-bit sequence; ms spread over 69 years. */
export function snowflakeKeys(count: number, seed: number): bigint[] {
  const rand = prng(seed);
  const keys: bigint[] = [];
  while (keys.length < count) {
    const ms = (u32(rand) << 9n) | (u32(rand) & 0x1ffn); // 41 bits
    keys.push((ms << 22n) | ((u32(rand) & 0x3ffn) << 12n) | (u32(rand) & 0xfffn));
    if (keys.length === count) keys.splice(0, keys.length, ...distinctSorted(keys));
  }
  return distinctSorted(keys);
}

/** Signed keys over the whole int8 range, negatives included, with both extremes present. */
export function signedKeys(count: number, seed: number): bigint[] {
  const rand = prng(seed);
  const keys = [INT8_MIN, INT8_MAX];
  while (keys.length < count) {
    keys.push(BigInt.asIntN(64, (u32(rand) << 32n) | u32(rand)));
    if (keys.length === count) keys.splice(0, keys.length, ...distinctSorted(keys));
  }
  return distinctSorted(keys);
}

/** A dense run of `dense` consecutive keys from `start`, and `sparse` keys spread over the rest of the int8 range. */
export function cornerKeys(dense: number, sparse: number, start: bigint, seed: number): bigint[] {
  const keys: bigint[] = [];
  for (let i = 0n; i < BigInt(dense); i++) keys.push(start + i);
  const spread = sparse === 0 ? [] : signedKeys(sparse + 2, seed).filter((k) => k < start || k >= start + BigInt(dense));
  return distinctSorted([...keys, ...spread]);
}

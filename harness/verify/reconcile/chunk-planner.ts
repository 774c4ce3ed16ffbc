/**
 * Hands out key ranges that together cover the whole key space (first lower and last upper bound are open, or the
 * requested key range), each sized toward a time target: after every chunk the observed rows/second sets the next
 * chunk's row budget (as pt-table-checksum does with --chunk-time), growth capped per step.
 */
import type { KeyRange, KeyTuple } from './reconcile-types.js';

export interface ChunkPlanner {
  next(): Promise<KeyRange | undefined>;
  observe(rows: number, seconds: number, range: KeyRange): void;
}

const MAX_GROWTH = 8;

/** Row budget per chunk: starts at the initial size, then follows the measured rate. */
export class ChunkBudget {
  private rows: number;
  private rate?: number;
  constructor(
    initialRows: number,
    private readonly targetSeconds: number,
  ) {
    this.rows = Math.max(1, initialRows);
  }
  get current(): number {
    return this.rows;
  }
  observe(rows: number, seconds: number): void {
    if (this.targetSeconds <= 0 || rows <= 0 || seconds <= 0) return;
    const rate = rows / seconds;
    // A quick chunk far below the budget (the tail, or one key in a wide sparse range) times the round trip, not the
    // row rate: it may confirm growth but must not shrink the budget to a few rows.
    if (rows < this.rows / 4 && seconds < this.targetSeconds && rate * this.targetSeconds < this.rows) return;
    this.rate = this.rate === undefined ? rate : 0.5 * this.rate + 0.5 * rate;
    const wanted = this.rate * this.targetSeconds;
    this.rows = Math.max(1, Math.round(Math.min(wanted, this.rows * MAX_GROWTH)));
  }
}

/**
 * At least this many rows per key unit counts as dense: an arithmetic chunk of `budget / density` keys then holds at
 * most budget / DENSE rows (unique keys), so no chunk can swallow a cluster.
 */
export const DENSE_KEYS = 0.5;

/** The key `offset` rows on from `lower` (within the bounds) on whichever side reaches it first, or undefined past the end of both. */
export type IntegerKeyAtOffset = (lower: KeyTuple | undefined, offset: number) => Promise<bigint | undefined>;

/**
 * Single integer key. Where the keys are dense, chunk widths are computed from the learnt density without a query
 * (the plan that suits sequences). Where they are sparse (Snowflake-style ids spread over the 64-bit range, big gaps,
 * a dense corner in a sparse range), equal widths would give millions of empty chunks or one that swallows a
 * cluster, so each bound is read from the keys that exist: the key `budget` rows on, on either side, as
 * pt-table-checksum's nibbling does. Every walked chunk holds at most `budget` rows on each side, whatever the spread.
 */
export class IntegerKeyPlanner implements ChunkPlanner {
  private cursor: bigint;
  private done = false;
  private density = 1; // rows per key unit, learnt from each chunk; starts by assuming a sequence
  private first = true;
  private chain: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly min: bigint,
    private readonly max: bigint,
    private readonly budget: ChunkBudget,
    private readonly bounds: { from?: KeyTuple; to?: KeyTuple },
    private readonly keyAtOffset: IntegerKeyAtOffset,
  ) {
    this.cursor = min;
  }
  next(): Promise<KeyRange | undefined> {
    // Serialised: each bound depends on the previous one.
    const result = this.chain.then(() => this.plan());
    this.chain = result.catch(() => undefined);
    return result;
  }
  private async plan(): Promise<KeyRange | undefined> {
    if (this.done) return undefined;
    const lower = this.first ? this.bounds.from : [this.cursor.toString()];
    this.first = false;
    const end = this.density >= DENSE_KEYS ? this.cursor + BigInt(Math.max(1, Math.round(this.budget.current / this.density))) : await this.walk(lower);
    if (end === undefined || end > this.max) {
      this.done = true;
      return { lower, upper: this.bounds.to };
    }
    this.cursor = end;
    return { lower, upper: [end.toString()] };
  }
  /** The next bound from the keys that exist; past a run of duplicates of the lower key (a --key that is not unique). */
  private async walk(lower: KeyTuple | undefined): Promise<bigint | undefined> {
    for (let offset = this.budget.current; ; offset *= 2) {
      const key = await this.keyAtOffset(lower, offset);
      if (key === undefined || lower === undefined || key > BigInt(lower[0]!)) return key;
    }
  }
  observe(rows: number, seconds: number, range: KeyRange): void {
    this.budget.observe(rows, seconds);
    if (!range.upper) return;
    // The first chunk starts open, but no key on either side lies below min.
    const width = Number(BigInt(range.upper[0]!) - (range.lower ? BigInt(range.lower[0]!) : this.min));
    if (width > 0) this.density = rows / width;
  }
}

const sameKey = (a: KeyTuple, b: KeyTuple) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Any key (composite, text, uuid, ...): walks the source's key order to find each chunk's upper bound. */
export class KeyWalkPlanner implements ChunkPlanner {
  private cursor?: KeyTuple;
  private done = false;
  private chain: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly budget: ChunkBudget,
    private readonly bounds: { from?: KeyTuple; to?: KeyTuple },
    /** The key at `offset` rows from `lower` (within the bounds), or undefined past the end. */
    private readonly keyAtOffset: (lower: KeyTuple | undefined, offset: number) => Promise<KeyTuple | undefined>,
  ) {
    this.cursor = bounds.from;
  }
  next(): Promise<KeyRange | undefined> {
    // Serialised: each bound depends on the previous one.
    const result = this.chain.then(async () => {
      if (this.done) return undefined;
      const lower = this.cursor;
      let upper = await this.keyAtOffset(lower, this.budget.current);
      // A --key that is not unique: step past a run of duplicates of the lower key instead of planning [k, k).
      for (let offset = this.budget.current * 2; upper && lower && sameKey(upper, lower); offset *= 2) upper = await this.keyAtOffset(lower, offset);
      if (!upper) {
        this.done = true;
        return { lower, upper: this.bounds.to };
      }
      this.cursor = upper;
      return { lower, upper };
    });
    this.chain = result.catch(() => undefined);
    return result;
  }
  observe(rows: number, seconds: number): void {
    this.budget.observe(rows, seconds);
  }
}

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
    this.rate = this.rate === undefined ? rate : 0.5 * this.rate + 0.5 * rate;
    const wanted = this.rate * this.targetSeconds;
    this.rows = Math.max(1, Math.round(Math.min(wanted, this.rows * MAX_GROWTH)));
  }
}

/** Single integer key: ranges are computed arithmetically between the two sides' min and max key. */
export class IntegerKeyPlanner implements ChunkPlanner {
  private cursor: bigint;
  private done = false;
  private density = 1; // rows per key unit, learnt from each chunk
  private first = true;
  constructor(
    min: bigint,
    private readonly max: bigint,
    private readonly budget: ChunkBudget,
    private readonly bounds: { from?: KeyTuple; to?: KeyTuple },
  ) {
    this.cursor = min;
  }
  async next(): Promise<KeyRange | undefined> {
    if (this.done) return undefined;
    const width = BigInt(Math.max(1, Math.round(this.budget.current / Math.max(this.density, 1e-9))));
    const lower = this.first ? this.bounds.from : [this.cursor.toString()];
    this.first = false;
    const end = this.cursor + width;
    if (end > this.max) {
      this.done = true;
      return { lower, upper: this.bounds.to };
    }
    this.cursor = end;
    return { lower, upper: [end.toString()] };
  }
  observe(rows: number, seconds: number, range: KeyRange): void {
    this.budget.observe(rows, seconds);
    if (range.lower && range.upper) {
      const width = Number(BigInt(range.upper[0]!) - BigInt(range.lower[0]!));
      if (width > 0 && rows > 0) this.density = rows / width;
      else if (width > 0 && rows === 0) this.density = this.density / 4;
    }
  }
}

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
      const upper = await this.keyAtOffset(lower, this.budget.current);
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

/**
 * A background writer with a recorded history (Jepsen-style): it inserts, updates and deletes rows of
 * one table at a steady rate and records every write the database acknowledged, so that a check can
 * later demand each acknowledged write in the target in its final state. A failed write (a lock
 * timeout during DDL, say) is recorded as an error, never as acknowledged.
 */
import type { SqlSession } from '../verify/reconcile/index.js';

export type Operation = 'insert' | 'update' | 'delete';

export interface AcknowledgedWrite {
  op: Operation;
  key: number;
  /** Column → value as written (text), or null for a delete. */
  row: Record<string, string> | null;
  at: number;
}

export interface WorkloadHistory {
  table: string;
  keyColumn: string;
  writes: AcknowledgedWrite[];
  errors: { op: Operation; key: number; message: string }[];
  /** Final acknowledged state per key: the row, or null when its last write was a delete. */
  finalState: Map<number, Record<string, string> | null>;
  durationSeconds: number;
}

export interface WorkloadOptions {
  table: string;
  keyColumn: string;
  /** Values for the columns this workload owns; `n` grows with every write. Change it with setShape(). */
  shape: (key: number, n: number) => Record<string, string>;
  ratePerSecond?: number;
  /** Keys start above this, clear of seed rows. */
  firstKey?: number;
  /** Fraction of writes that update / delete an existing key (the rest insert). */
  updateShare?: number;
  deleteShare?: number;
  maxDurationMs?: number;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export class Workload {
  private running = true;
  private readonly history: WorkloadHistory;
  private readonly done: Promise<void>;
  private shape: WorkloadOptions['shape'];
  private readonly live: number[] = [];
  private nextKey: number;
  private n = 0;
  private readonly started = Date.now();

  private constructor(
    private readonly session: SqlSession,
    private readonly options: WorkloadOptions,
  ) {
    this.shape = options.shape;
    this.nextKey = (options.firstKey ?? 1_000_000) + 1;
    this.history = { table: options.table, keyColumn: options.keyColumn, writes: [], errors: [], finalState: new Map(), durationSeconds: 0 };
    this.done = this.loop();
  }

  static start(session: SqlSession, options: WorkloadOptions): Workload {
    return new Workload(session, options);
  }

  /** Rows of a new shape from now on (after an ADD COLUMN, a rename, …). */
  setShape(shape: WorkloadOptions['shape']): void {
    this.shape = shape;
  }

  get acknowledged(): number {
    return this.history.writes.length;
  }

  /**
   * One insert made now, its key returned: once the target shows it, every earlier event of this
   * table (one partition, in commit order) has been applied — the sink has drained past this point.
   */
  async mark(): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const before = this.history.writes.length;
      await this.write('insert');
      const last = this.history.writes[this.history.writes.length - 1];
      if (this.history.writes.length > before && last?.op === 'insert') {
        // A marker stays as written: the workload never updates or deletes it afterwards.
        this.live.splice(this.live.indexOf(last.key), 1);
        return last.key;
      }
    }
    throw new Error(`workload on ${this.options.table}: 50 marker inserts failed; last error: ${this.history.errors.at(-1)?.message}`);
  }

  async stop(): Promise<WorkloadHistory> {
    this.running = false;
    await this.done;
    this.history.durationSeconds = (Date.now() - this.started) / 1000;
    return this.history;
  }

  private pickOperation(): Operation {
    const r = Math.random();
    if (this.live.length > 0 && r < (this.options.deleteShare ?? 0.05)) return 'delete';
    if (this.live.length > 0 && r < (this.options.deleteShare ?? 0.05) + (this.options.updateShare ?? 0.3)) return 'update';
    return 'insert';
  }

  private async write(op: Operation): Promise<void> {
    const { table, keyColumn } = this.options;
    const t = quoteIdent(table);
    const k = quoteIdent(keyColumn);
    const key = op === 'insert' ? this.nextKey++ : this.live[Math.floor(Math.random() * this.live.length)]!;
    const row = op === 'delete' ? null : this.shape(key, ++this.n);
    const dialectParam = (i: number) => (this.session.dialect === 'postgres' ? `$${i}` : `@p${i}`);
    try {
      if (op === 'insert') {
        const cols = Object.keys(row!);
        await this.session.query(`INSERT INTO ${t} (${k}, ${cols.map(quoteIdent).join(', ')}) VALUES (${[key, ...cols].map((_, i) => dialectParam(i + 1)).join(', ')})`, [String(key), ...cols.map((c) => row![c]!)]);
        this.live.push(key);
      } else if (op === 'update') {
        const cols = Object.keys(row!);
        await this.session.query(`UPDATE ${t} SET ${cols.map((c, i) => `${quoteIdent(c)} = ${dialectParam(i + 2)}`).join(', ')} WHERE ${k} = ${dialectParam(1)}`, [String(key), ...cols.map((c) => row![c]!)]);
      } else {
        await this.session.query(`DELETE FROM ${t} WHERE ${k} = ${dialectParam(1)}`, [String(key)]);
        this.live.splice(this.live.indexOf(key), 1);
      }
      this.history.writes.push({ op, key, row, at: Date.now() });
      const previous = this.history.finalState.get(key);
      // An update records only the columns it wrote; merge them into what the row already held.
      this.history.finalState.set(key, row === null ? null : { ...(op === 'update' && previous ? previous : {}), ...row });
    } catch (error) {
      this.history.errors.push({ op, key, message: (error as Error).message.split('\n')[0]! });
      if (op === 'insert') this.nextKey--; // the key was not used
    }
  }

  private async loop(): Promise<void> {
    const interval = 1000 / (this.options.ratePerSecond ?? 20);
    const limit = this.started + (this.options.maxDurationMs ?? 30 * 60_000);
    while (this.running && Date.now() < limit) {
      const tick = Date.now();
      await this.write(this.pickOperation());
      const wait = interval - (Date.now() - tick);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

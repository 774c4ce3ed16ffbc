/**
 * A background writer with a recorded history (Jepsen-style): it inserts, updates and deletes rows of one table
 * at a steady rate and records every write it attempted with its outcome:
 * - `ok`: the database acknowledged it;
 * - `failed`: the database said it did not apply (a SQLSTATE that proves it: constraint, lock timeout, canceled
 *   in the server, …; see write-outcome.ts);
 * - `indeterminate`: anything without that proof (connection lost, client-side timeout, unknown error): it may
 *   have committed, now or later. The writer never touches that key again, so its fate stays its own.
 * Keys are allocated monotonically and never reused (a failed insert leaves a gap), and writes run one at a time
 * (the loop and mark() share one queue), so each key's writes are ordered as they were issued.
 */
import type { SqlSession } from '../verify/reconcile/index.js';
import { classifyWriteError } from './write-outcome.js';

export type Operation = 'insert' | 'update' | 'delete';
export type WriteOutcome = 'ok' | 'failed' | 'indeterminate';

export interface AcknowledgedWrite {
  op: Operation;
  key: number;
  /** Column → value as written (text), or null for a delete. */
  row: Record<string, string> | null;
  at: number;
}

export interface WriteAttempt extends AcknowledgedWrite {
  /** Issue order within the workload (0, 1, …). `at` is when it was issued. */
  seq: number;
  outcome: WriteOutcome;
  /** For failed / indeterminate: SQLSTATE (or SQL Server error number) when the error had one, and its first line. */
  code?: string;
  message?: string;
}

export interface WriteError {
  op: Operation;
  key: number;
  outcome: 'failed' | 'indeterminate';
  code?: string;
  message: string;
}

export interface WorkloadHistory {
  table: string;
  keyColumn: string;
  /** Every write issued, in issue order, with its outcome. */
  attempts: WriteAttempt[];
  /** The acknowledged writes, in order. */
  writes: AcknowledgedWrite[];
  /** The writes that raised an error: failed (proven not applied) or indeterminate. */
  errors: WriteError[];
  /** Final acknowledged state per key: the row, or null when its last acknowledged write was a delete. */
  finalState: Map<number, Record<string, string> | null>;
  /** The block of keys this writer owns, first..last inclusive: it allocates only there, so a row there that it never wrote is unexpected. */
  keySpace: { first: number; last: number };
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
  /** Keys owned: firstKey+1 … firstKey+keyBlock (default 1,000,000, so writers started at 1e6, 2e6, … never overlap). */
  keyBlock?: number;
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
  /** Keys whose acknowledged state is a row and that the loop may update or delete. */
  private readonly live: number[] = [];
  private nextKey: number;
  private n = 0;
  private readonly started = Date.now();
  /** The tail of the one write queue: the loop and mark() never have two writes in flight. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly session: SqlSession,
    private readonly options: WorkloadOptions,
  ) {
    this.shape = options.shape;
    this.nextKey = (options.firstKey ?? 1_000_000) + 1;
    this.history = { table: options.table, keyColumn: options.keyColumn, attempts: [], writes: [], errors: [], finalState: new Map(), keySpace: { first: this.nextKey, last: this.nextKey - 1 + (options.keyBlock ?? 1_000_000) }, durationSeconds: 0 };
    this.done = this.loop();
  }

  static start(session: SqlSession, options: WorkloadOptions): Workload {
    return new Workload(session, options);
  }

  /** Rows of a new shape from now on (after an ADD COLUMN, a rename, …). */
  setShape(shape: WorkloadOptions['shape']): void {
    this.shape = shape;
  }

  /**
   * Runs `body` between two of this workload's writes, none in flight: the application deployed in step with a
   * change (a rename, say), whose old-shape write would otherwise race the DDL. Writes wait meanwhile, they are
   * not dropped, so a change that blocks the table still shows as a late write.
   */
  between<T>(body: () => Promise<T>): Promise<T> {
    return this.enqueue(body);
  }

  get acknowledged(): number {
    return this.history.writes.length;
  }

  /** Writes so far whose outcome is unknown (they may still commit). */
  get indeterminate(): number {
    return this.history.errors.filter((e) => e.outcome === 'indeterminate').length;
  }

  /**
   * One insert made now, its key returned: once the target shows it, every earlier event of this
   * table (one partition, in commit order) has been applied — the sink has drained past this point.
   * It waits for the write in flight, so every write issued before it has its outcome.
   */
  async mark(): Promise<number> {
    let last: WriteAttempt | undefined;
    for (let attempt = 0; attempt < 50 && !this.exhausted(); attempt++) {
      // A marker stays as written: it is never added to the keys the loop updates or deletes.
      last = await this.enqueue(() => this.write('insert', { marker: true }));
      if (last.outcome === 'ok') return last.key;
    }
    throw new Error(`workload on ${this.options.table}: no marker insert succeeded (last: ${last ? `${last.outcome} ${last.message}` : `key block up to ${this.history.keySpace.last} used up`})`);
  }

  async stop(): Promise<WorkloadHistory> {
    this.running = false;
    await this.done;
    await this.queue;
    this.history.durationSeconds = (Date.now() - this.started) / 1000;
    return this.history;
  }

  private enqueue<T>(body: () => Promise<T>): Promise<T> {
    const run = this.queue.then(body);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private pickOperation(): Operation {
    const r = Math.random();
    if (this.live.length > 0 && r < (this.options.deleteShare ?? 0.05)) return 'delete';
    if (this.live.length > 0 && r < (this.options.deleteShare ?? 0.05) + (this.options.updateShare ?? 0.3)) return 'update';
    return 'insert';
  }

  private exhausted(): boolean {
    return this.nextKey > this.history.keySpace.last;
  }

  private forget(key: number): void {
    const i = this.live.indexOf(key);
    if (i >= 0) this.live.splice(i, 1);
  }

  private async write(wanted: Operation, { marker = false } = {}): Promise<WriteAttempt> {
    const { table, keyColumn } = this.options;
    const t = quoteIdent(table);
    const k = quoteIdent(keyColumn);
    // Picked when the write runs (not when it was queued): the key set may have changed meanwhile.
    const op = wanted !== 'insert' && this.live.length === 0 ? 'insert' : wanted;
    if (op === 'insert' && this.exhausted()) throw new Error(`workload on ${table}: its key block up to ${this.history.keySpace.last} is used up`);
    const key = op === 'insert' ? this.nextKey++ : this.live[Math.floor(Math.random() * this.live.length)]!;
    const row = op === 'delete' ? null : this.shape(key, ++this.n);
    const attempt: WriteAttempt = { seq: this.history.attempts.length, op, key, row, at: Date.now(), outcome: 'indeterminate' };
    this.history.attempts.push(attempt);
    const dialectParam = (i: number) => (this.session.dialect === 'postgres' ? `$${i}` : `@p${i}`);
    try {
      if (op === 'insert') {
        const cols = Object.keys(row!);
        await this.session.query(`INSERT INTO ${t} (${k}, ${cols.map(quoteIdent).join(', ')}) VALUES (${[key, ...cols].map((_, i) => dialectParam(i + 1)).join(', ')})`, [String(key), ...cols.map((c) => row![c]!)]);
        if (!marker) this.live.push(key);
      } else if (op === 'update') {
        const cols = Object.keys(row!);
        await this.session.query(`UPDATE ${t} SET ${cols.map((c, i) => `${quoteIdent(c)} = ${dialectParam(i + 2)}`).join(', ')} WHERE ${k} = ${dialectParam(1)}`, [String(key), ...cols.map((c) => row![c]!)]);
      } else {
        await this.session.query(`DELETE FROM ${t} WHERE ${k} = ${dialectParam(1)}`, [String(key)]);
        this.forget(key);
      }
      attempt.outcome = 'ok';
      this.history.writes.push({ op, key, row, at: attempt.at });
      const previous = this.history.finalState.get(key);
      // An update records only the columns it wrote; merge them into what the row already held.
      this.history.finalState.set(key, row === null ? null : { ...(op === 'update' && previous ? previous : {}), ...row });
    } catch (error) {
      const { outcome, code } = classifyWriteError(error);
      const message = String((error as Error)?.message ?? error).split('\n')[0]!;
      Object.assign(attempt, { outcome, code, message });
      this.history.errors.push({ op, key, outcome, code, message });
      // It may still commit: leave the key alone from now on, so nothing else the writer does races with it.
      if (outcome === 'indeterminate') this.forget(key);
    }
    return attempt;
  }

  private async loop(): Promise<void> {
    const interval = 1000 / (this.options.ratePerSecond ?? 20);
    const limit = this.started + (this.options.maxDurationMs ?? 30 * 60_000);
    while (this.running && Date.now() < limit && !this.exhausted()) {
      const tick = Date.now();
      // A write only throws when the key block is used up (mark() may have taken its last key): then stop.
      if (!(await this.enqueue(() => this.write(this.pickOperation())).catch(() => undefined))) break;
      const wait = interval - (Date.now() - tick);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

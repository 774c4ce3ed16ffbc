/**
 * The application, as a cutover sees it: a client that keeps writing and reading through the application endpoint
 * (the pooler URL), each loop on one long-lived connection, as an application's pool would. Inserts take their keys
 * from the table's DEFAULT (sequence or identity) and return them; every request is recorded with its start, end,
 * outcome (write-outcome.ts's classification), SQLSTATE and the database that answered it (current_database() and
 * inet_server_port() in the same statement).
 *
 * Summary: failed requests (anything not ok), the longest write pause and read pause (the longest time between two
 * successful completions of that kind, or since the last one at stop), per database.
 *
 * history() is a WorkloadHistory for harness/verify/history.ts: keys are server-assigned, so an insert whose outcome
 * is failed or indeterminate has no known key; it is recorded under a negative placeholder key (never a real row).
 * An indeterminate insert that did commit therefore shows as `unexpected` (a row in the client's key range nobody
 * acknowledged): the checker cannot excuse a key it was never told.
 */
import pg from 'pg';
import type { AcknowledgedWrite, Operation, WorkloadHistory, WriteAttempt } from './writer.js';
import { classifyWriteError } from './write-outcome.js';

export type RequestKind = 'write' | 'read';

export interface AppRequest {
  seq: number;
  kind: RequestKind;
  op: Operation | 'select';
  start: number;
  end: number;
  outcome: 'ok' | 'failed' | 'indeterminate';
  sqlstate?: string;
  message?: string;
  /** The database that answered (current_database()) and its server port. */
  database?: string;
  port?: number;
  key?: number;
}

export interface AppClientOptions {
  url: string;
  table: string;
  keyColumn: string;
  /** Values for the written columns (never the key); `n` grows with every write. */
  shape: (n: number) => Record<string, string>;
  writesPerSecond?: number;
  readsPerSecond?: number;
  /** Share of writes that update a key this client inserted (the rest insert). */
  updateShare?: number;
  /** Client-side limit on one request; a request past it is indeterminate. */
  requestTimeoutMs?: number;
}

export interface PauseStat {
  longestMs: number;
  /** When the longest pause began (the last success before it) and ended. */
  from?: number;
  to?: number;
}

export interface AppClientSummary {
  requests: number;
  writes: number;
  reads: number;
  failedRequests: number;
  failedWrites: number;
  failedReads: number;
  /** Failures by SQLSTATE ('none' when the error had none). */
  failuresByCode: Record<string, number>;
  longestWritePause: PauseStat;
  longestReadPause: PauseStat;
  /** Acknowledged writes per database that acknowledged them. */
  acknowledgedBy: Record<string, number>;
  reconnects: number;
  /** Requests still under way when the summary was taken (none after stop()); not counted as failed. */
  inFlight: number;
  /** Time covered by failed requests (the union of their start..end): the application's downtime. */
  failedSeconds: number;
  durationSeconds: number;
}

/** The statement ran and matched no row (SQLSTATE P0002 no_data_found, in the client's own words). */
class NoRowError extends Error {}

const q = (n: string) => `"${n.replace(/"/g, '""')}"`;

export class AppClient {
  private running = true;
  private n = 0;
  private readonly requests: AppRequest[] = [];
  /** Requests begun and not yet answered. */
  private readonly inFlight = new Set<AppRequest>();
  private readonly ownKeys: number[] = [];
  private readonly finalState = new Map<number, Record<string, string> | null>();
  private readonly attempts: WriteAttempt[] = [];
  private readonly writes: AcknowledgedWrite[] = [];
  /** Attempt seq → the database that acknowledged it. */
  private readonly answeredBy = new Map<number, string>();
  /** Request seq → its write attempt. */
  private readonly attemptOf = new Map<number, WriteAttempt>();
  private reconnects = 0;
  private readonly started = Date.now();
  private stoppedAt?: number;
  private readonly loops: Promise<void>[];

  private constructor(private readonly options: AppClientOptions) {
    this.loops = [this.loop('write', options.writesPerSecond ?? 20), this.loop('read', options.readsPerSecond ?? 20)];
  }

  static start(options: AppClientOptions): AppClient {
    return new AppClient(options);
  }

  /** Requests so far (a copy). */
  get log(): AppRequest[] {
    return [...this.requests];
  }

  /** Requests that began at or after `from` (and before `to`). */
  between(from: number, to = Infinity): AppRequest[] {
    return this.requests.filter((r) => r.start >= from && r.start < to);
  }

  /** True once stop() was called. */
  get stopped(): boolean {
    return !this.running;
  }

  async stop(): Promise<AppClientSummary> {
    this.running = false;
    await Promise.all(this.loops);
    this.stoppedAt = Date.now();
    return this.summary();
  }

  summary(requests = this.requests, until = this.stoppedAt ?? Date.now()): AppClientSummary {
    // A request still under way (held by a paused pooler, say) has not failed: it is counted apart.
    const inFlight = requests.filter((r) => this.inFlight.has(r)).length;
    const failed = requests.filter((r) => r.outcome !== 'ok' && !this.inFlight.has(r));
    const failuresByCode: Record<string, number> = {};
    for (const r of failed) failuresByCode[r.sqlstate ?? 'none'] = (failuresByCode[r.sqlstate ?? 'none'] ?? 0) + 1;
    const acknowledgedBy: Record<string, number> = {};
    for (const r of requests) if (r.kind === 'write' && r.outcome === 'ok' && r.database) acknowledgedBy[r.database] = (acknowledgedBy[r.database] ?? 0) + 1;
    return {
      requests: requests.length,
      writes: requests.filter((r) => r.kind === 'write').length,
      reads: requests.filter((r) => r.kind === 'read').length,
      failedRequests: failed.length,
      inFlight,
      failedWrites: failed.filter((r) => r.kind === 'write').length,
      failedReads: failed.filter((r) => r.kind === 'read').length,
      failuresByCode,
      longestWritePause: longestPause(requests, 'write', until),
      longestReadPause: longestPause(requests, 'read', until),
      acknowledgedBy,
      reconnects: this.reconnects,
      failedSeconds: coveredMs(failed) / 1000,
      durationSeconds: ((this.stoppedAt ?? Date.now()) - this.started) / 1000,
    };
  }

  /**
   * The writes as a WorkloadHistory for the history checker. With `acknowledgedBy`, only the writes that database
   * acknowledged, and no key space (rows others wrote there are not this history's business): "is every write the
   * target took on the source, as written?"
   */
  history(options: { acknowledgedBy?: string } = {}): WorkloadHistory {
    const by = options.acknowledgedBy;
    const attempts = by ? this.attempts.filter((a) => a.outcome === 'ok' && this.answeredBy.get(a.seq) === by) : [...this.attempts];
    const writes = by ? attempts.map((a) => ({ op: a.op, key: a.key, row: a.row, at: a.at })) : [...this.writes];
    const finalState = by ? new Map<number, Record<string, string> | null>() : new Map(this.finalState);
    if (by) for (const w of writes) finalState.set(w.key, { ...(w.op === 'update' ? (finalState.get(w.key) ?? {}) : {}), ...w.row! });
    const keys = writes.filter((w) => w.op === 'insert').map((w) => w.key);
    const keySpace = by || keys.length === 0 ? { first: 1, last: 0 } : { first: Math.min(...keys), last: Math.max(...keys) };
    return {
      table: this.options.table,
      keyColumn: this.options.keyColumn,
      attempts,
      writes,
      errors: attempts.filter((a) => a.outcome !== 'ok').map((a) => ({ op: a.op, key: a.key, outcome: a.outcome as 'failed' | 'indeterminate', code: a.code, message: a.message ?? '' })),
      finalState,
      keySpace,
      durationSeconds: ((this.stoppedAt ?? Date.now()) - this.started) / 1000,
    };
  }

  /** Keys that more than one acknowledged insert returned (a sequence handed out a key twice). */
  reusedKeys(): { key: number; databases: string[] }[] {
    const byKey = new Map<number, string[]>();
    for (const a of this.attempts) if (a.outcome === 'ok' && a.op === 'insert') byKey.set(a.key, [...(byKey.get(a.key) ?? []), this.answeredBy.get(a.seq) ?? '']);
    return [...byKey].filter(([, dbs]) => dbs.length > 1).map(([key, databases]) => ({ key, databases }));
  }

  /** Acknowledged inserts and updates, each with the database that acknowledged it. */
  acknowledged(): { key: number; op: Operation; database: string; at: number }[] {
    return this.requests.filter((r) => r.kind === 'write' && r.outcome === 'ok' && r.key !== undefined).map((r) => ({ key: r.key!, op: r.op as Operation, database: r.database ?? '', at: r.end }));
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: 10_000, query_timeout: this.options.requestTimeoutMs ?? 150_000 });
    client.on('error', () => undefined); // a dropped connection surfaces on the next query
    await client.connect();
    return client;
  }

  private async loop(kind: RequestKind, perSecond: number): Promise<void> {
    const interval = 1000 / perSecond;
    let client: pg.Client | undefined;
    while (this.running) {
      const tick = Date.now();
      const seq = this.requests.length;
      const request: AppRequest = { seq, kind, op: 'select', start: tick, end: tick, outcome: 'indeterminate' };
      this.requests.push(request);
      this.inFlight.add(request);
      let broken = false;
      try {
        if (!client) {
          if (seq > 1) this.reconnects++;
          client = await this.connect();
        }
        if (kind === 'write') await this.write(client, request);
        else await this.read(client, request);
        request.outcome = 'ok';
      } catch (error) {
        // An update that matched no row ran and changed nothing: proven not applied.
        const { outcome, code } = error instanceof NoRowError ? { outcome: 'failed' as const, code: 'P0002' } : classifyWriteError(error);
        Object.assign(request, { outcome, sqlstate: code, message: String((error as Error)?.message ?? error).split('\n')[0] });
        // No SQLSTATE: the connection itself may be gone; open a new one next time, as a pool would.
        broken = code === undefined || code.startsWith('08') || code.startsWith('57P');
        if (kind === 'write') this.recordWriteFailure(request);
      } finally {
        request.end = Date.now();
        this.inFlight.delete(request);
      }
      if (broken && client) {
        await client.end().catch(() => undefined);
        client = undefined;
      }
      const wait = interval - (Date.now() - tick);
      if (wait > 0 && this.running) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await client?.end().catch(() => undefined);
  }

  private async write(client: pg.Client, request: AppRequest): Promise<void> {
    const { table, keyColumn } = this.options;
    const update = this.ownKeys.length > 0 && Math.random() < (this.options.updateShare ?? 0.2);
    const row = this.options.shape(++this.n);
    const cols = Object.keys(row);
    const values = cols.map((c) => row[c]!);
    const tail = `RETURNING ${q(keyColumn)}::text AS k, current_database() AS db, inet_server_port()::text AS port`;
    request.op = update ? 'update' : 'insert';
    const attempt: WriteAttempt = { seq: this.attempts.length, op: request.op, key: -(this.attempts.length + 1), row, at: request.start, outcome: 'indeterminate' };
    if (update) attempt.key = this.ownKeys[Math.floor(Math.random() * this.ownKeys.length)]!;
    this.attempts.push(attempt);
    this.attemptOf.set(request.seq, attempt);
    const result = update
      ? await client.query(`UPDATE ${q(table)} SET ${cols.map((c, i) => `${q(c)} = $${i + 2}`).join(', ')} WHERE ${q(keyColumn)} = $1 ${tail}`, [String(attempt.key), ...values])
      : await client.query(`INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) ${tail}`, values);
    const answered = result.rows[0] as { k: string; db: string; port: string } | undefined;
    if (!answered) throw new NoRowError(`${request.op} of ${table} matched no row (key ${attempt.key} is gone)`);
    const key = Number(answered.k);
    Object.assign(request, { key, database: answered.db, port: Number(answered.port) });
    attempt.key = key;
    attempt.outcome = 'ok';
    this.answeredBy.set(attempt.seq, answered.db);
    if (!update) this.ownKeys.push(key);
    this.writes.push({ op: attempt.op, key, row, at: attempt.at });
    const previous = this.finalState.get(key);
    this.finalState.set(key, { ...(update && previous ? previous : {}), ...row });
  }

  private recordWriteFailure(request: AppRequest): void {
    const attempt = this.attemptOf.get(request.seq);
    if (!attempt) return;
    Object.assign(attempt, { outcome: request.outcome, code: request.sqlstate, message: request.message });
    // An update whose fate is unknown: leave its key alone from now on (history.ts accepts either state for it).
    if (request.outcome === 'indeterminate' && attempt.op === 'update') {
      const i = this.ownKeys.indexOf(attempt.key);
      if (i >= 0) this.ownKeys.splice(i, 1);
    }
  }

  private async read(client: pg.Client, request: AppRequest): Promise<void> {
    const { table, keyColumn } = this.options;
    const key = this.ownKeys.length ? this.ownKeys[Math.floor(Math.random() * this.ownKeys.length)]! : 0;
    const result = await client.query(`SELECT count(*)::text AS n, current_database() AS db, inet_server_port()::text AS port FROM ${q(table)} WHERE ${q(keyColumn)} = $1`, [String(key)]);
    const answered = result.rows[0] as { n: string; db: string; port: string };
    Object.assign(request, { key: key || undefined, database: answered.db, port: Number(answered.port) });
  }
}

/** The longest time between two successful completions of `kind` (or from the last one until `until`). */
export function longestPause(requests: AppRequest[], kind: RequestKind, until: number): PauseStat {
  const ends = requests.filter((r) => r.kind === kind && r.outcome === 'ok').map((r) => r.end).sort((a, b) => a - b);
  const best: PauseStat = { longestMs: 0 };
  for (let i = 1; i <= ends.length; i++) {
    const from = ends[i - 1]!;
    const to = i < ends.length ? ends[i]! : until;
    if (to - from > best.longestMs) Object.assign(best, { longestMs: to - from, from, to });
  }
  if (ends.length === 0 && requests.length > 0) return { longestMs: until - requests[0]!.start, from: requests[0]!.start, to: until };
  return best;
}

/** Length of the union of the requests' start..end intervals. */
export function coveredMs(requests: AppRequest[]): number {
  const spans = requests.map((r) => [r.start, Math.max(r.end, r.start)] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [from, to] = [-Infinity, -Infinity];
  for (const [s, e] of spans) {
    if (s > to) {
      if (to > from) total += to - from;
      [from, to] = [s, e];
    } else to = Math.max(to, e);
  }
  if (to > from) total += to - from;
  return total;
}

/**
 * The workload writer on a real PostgreSQL: a write that errors on the client but commits later is recorded
 * indeterminate and the checker calls it recovered (not lost, not unexpected, not stale); a rejected write is
 * failed; keys are never reused; mark() returns its own insert.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HarnessError } from '../../harness/cli/errors.js';
import { pollUntil } from '../../harness/core/poll.js';
import { checkHistory } from '../../harness/verify/history.js';
import type { SqlSession } from '../../harness/verify/reconcile/index.js';
import { Workload, type WorkloadHistory } from '../../harness/workload/writer.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';

let db: PostgresInstance;

beforeAll(async () => {
  db = await startPostgresInstance();
});
afterAll(async () => {
  await db?.stop();
});
beforeEach(async () => {
  await db.sql(`DROP TABLE IF EXISTS t; CREATE TABLE t (id bigint PRIMARY KEY, name text CHECK (name <> 'rejected'))`);
});

/** A session like the harness's (errors wrapped with their cause), whose client gives up after `queryTimeoutMs` while the server goes on. */
function sessionWithClientTimeout(queryTimeoutMs: number): SqlSession & { pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: db.url, max: 3, query_timeout: queryTimeoutMs, types: { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig });
  pool.on('error', () => {});
  return {
    dialect: 'postgres',
    endpoint: 'test',
    pool,
    async query(sql, params = []) {
      try {
        return (await pool.query(sql, params)).rows;
      } catch (error) {
        throw new HarnessError(`target database test: ${(error as Error).message}`, { cause: error });
      }
    },
    close: () => pool.end(),
  };
}

/** Holds a lock that blocks every write to t until release(). */
async function lockTable(): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => {});
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE t IN SHARE MODE');
  return { release: async () => { await client.query('COMMIT'); await client.end(); } };
}

const writtenAfter = (workload: Workload, count: number, what: string) =>
  pollUntil({ what, limitMs: 20_000, intervalMs: 50 }, async () => ({ done: workload.acknowledged >= count, seen: `${workload.acknowledged} acknowledged` }));

async function runThroughLock(options: { updateShare: number }): Promise<{ history: WorkloadHistory; session: SqlSession }> {
  const session = sessionWithClientTimeout(300);
  const workload = Workload.start(session, { table: 't', keyColumn: 'id', shape: (_, n) => ({ name: `w${n}` }), ratePerSecond: 50, deleteShare: 0, updateShare: options.updateShare });
  await writtenAfter(workload, 3, 'three writes before the lock');
  const lock = await lockTable();
  await pollUntil({ what: 'a write timed out on the client behind the lock', limitMs: 20_000, intervalMs: 50 }, async () => ({ done: workload.indeterminate >= 1, seen: `${workload.indeterminate} indeterminate` }));
  const acknowledgedBefore = workload.acknowledged;
  await lock.release();
  await writtenAfter(workload, acknowledgedBefore + 10, 'ten more acknowledged writes after the lock');
  const history = await workload.stop();
  // The timed-out statements commit once the lock is gone; wait until none is still running in the server.
  await pollUntil({ what: 'no write left running', limitMs: 20_000 }, async () => {
    const running = await db.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND (query LIKE 'INSERT INTO "t"%' OR query LIKE 'UPDATE "t"%')`);
    return { done: running.rows[0].n === 0, seen: `${running.rows[0].n} running` };
  });
  return { history, session };
}

describe('writer', () => {
  it('an insert that timed out on the client but committed is indeterminate, then recovered; keys move on', async () => {
    const { history, session } = await runThroughLock({ updateShare: 0 });
    const indeterminate = history.attempts.filter((a) => a.outcome === 'indeterminate');
    expect(indeterminate.length).toBeGreaterThan(0);
    expect(indeterminate.every((a) => a.op === 'insert' && a.code === undefined && /timeout/i.test(a.message!))).toBe(true);
    expect(history.attempts.filter((a) => a.outcome === 'failed')).toEqual([]);
    const inserted = history.attempts.filter((a) => a.op === 'insert').map((a) => a.key);
    expect(new Set(inserted).size).toBe(inserted.length);
    const verdict = await checkHistory(history, session);
    expect(verdict).toMatchObject({ pass: true, lost: [], unexpected: [], stale: [] });
    expect(verdict.recovered.map((r) => r.key)).toEqual(indeterminate.map((a) => a.key));
    await session.close();
  });

  it('an update that timed out on the client but committed is recovered, not stale', async () => {
    const { history, session } = await runThroughLock({ updateShare: 1 });
    const updates = history.attempts.filter((a) => a.outcome === 'indeterminate' && a.op === 'update');
    expect(updates.length).toBeGreaterThan(0);
    const verdict = await checkHistory(history, session);
    expect(verdict).toMatchObject({ pass: true, lost: [], unexpected: [], stale: [] });
    expect(verdict.recovered.map((r) => r.key)).toEqual(expect.arrayContaining(updates.map((a) => a.key)));
    await session.close();
  });

  it('a write the database rejects (SQLSTATE 23514) is failed, and its key is never used again', async () => {
    const session = sessionWithClientTimeout(10_000);
    let n = 0;
    const workload = Workload.start(session, { table: 't', keyColumn: 'id', shape: () => ({ name: ++n % 3 === 0 ? 'rejected' : `w${n}` }), ratePerSecond: 100, updateShare: 0, deleteShare: 0 });
    await writtenAfter(workload, 10, 'ten acknowledged inserts');
    const history = await workload.stop();
    const failed = history.attempts.filter((a) => a.outcome === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((a) => a.code === '23514')).toBe(true);
    const keys = history.attempts.map((a) => a.key);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(new Set(keys).size).toBe(keys.length);
    expect(await checkHistory(history, session)).toMatchObject({ pass: true, lost: [], stale: [], unexpected: [], failedWrites: failed.length });
    await session.close();
  });

  it('mark() beside the loop, while some inserts are rejected: every marker is its own insert, and no key is ever used twice', async () => {
    // Every statement takes 10 ms, so the loop's write is in flight whenever mark() writes.
    const plain = sessionWithClientTimeout(10_000);
    const session: SqlSession = { ...plain, query: async (sql, params) => { await new Promise((r) => setTimeout(r, 10)); return plain.query(sql, params); } };
    let n = 0;
    const workload = Workload.start(session, { table: 't', keyColumn: 'id', shape: () => ({ name: ++n % 4 === 0 ? 'rejected' : `w${n}` }), ratePerSecond: 200, updateShare: 0.3, deleteShare: 0.2 });
    const markers: number[] = [];
    for (let i = 0; i < 30; i++) markers.push(await workload.mark());
    await writtenAfter(workload, workload.acknowledged + 20, 'twenty more acknowledged writes after the markers');
    const history = await workload.stop();
    expect(history.errors.filter((e) => /duplicate key/.test(e.message))).toEqual([]);
    for (const key of markers) expect(history.writes.filter((w) => w.key === key).map((w) => w.op), `marker ${key}`).toEqual(['insert']);
    expect(new Set(markers).size).toBe(markers.length);
    await plain.close();
  });
});

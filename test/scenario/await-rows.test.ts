/**
 * replica-waits.ts awaitRows on a real PostgreSQL: a query that errors is an error in the result, never "0 rows"
 * (a "wait until the row is gone" with a typo in its SQL used to pass at once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitRows } from '../../harness/scenario/replica-waits.js';
import { openSession, type SqlSession } from '../../harness/verify/reconcile/index.js';
import { type PostgresInstance, startPostgresInstance } from '../support/postgres-instance.js';

const LIMIT_MS = 1_500;
let db: PostgresInstance;
let session: SqlSession;

beforeAll(async () => {
  db = await startPostgresInstance();
  await db.sql('CREATE TABLE items (id integer PRIMARY KEY)');
  await db.sql('INSERT INTO items VALUES (1)');
  session = await openSession(db.url, 'target', { connections: 1 });
});
afterAll(async () => {
  await session?.close();
  await db?.stop();
});

describe('awaitRows', () => {
  it('sees the expected rows', async () => {
    const result = await awaitRows(session, 'SELECT id FROM items WHERE id = 1', 1, LIMIT_MS);
    expect(result).toMatchObject({ ok: true, rows: [{ id: '1' }] });
    expect(result.error).toBeUndefined();
  });

  it('waits for 0 rows and gets them', async () => {
    expect((await awaitRows(session, 'SELECT id FROM items WHERE id = 2', 0, LIMIT_MS)).ok).toBe(true);
  });

  it('a syntax error is not 0 rows: it fails at once with the error', async () => {
    const result = await awaitRows(session, 'SELEC id FROM items WHERE id = 2', 0, 30_000);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/syntax error/);
    expect(result.seconds, 'a syntax error ends the wait').toBeLessThan(10);
  });

  it('a missing table is not 0 rows: it is polled until the limit and reported', async () => {
    const result = await awaitRows(session, 'SELECT id FROM no_such_table', 0, LIMIT_MS);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/no_such_table/);
    expect(result.seconds).toBeGreaterThanOrEqual(LIMIT_MS / 1000);
  });

  it('a table that appears while waiting is seen once it exists', async () => {
    const pending = awaitRows(session, 'SELECT id FROM later', 1, 10_000);
    await db.sql('CREATE TABLE later (id integer)');
    await db.sql('INSERT INTO later VALUES (7)');
    const result = await pending;
    expect(result).toMatchObject({ ok: true, rows: [{ id: '7' }] });
    expect(result.error).toBeUndefined();
  });
});

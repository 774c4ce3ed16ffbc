/**
 * The history checker on a real PostgreSQL target: several writers on several tables checked at once, one verdict
 * per table and an overall pass; the topic's duplicated events fail only where exactly-once is promised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TopicMessage } from '../../harness/pipeline/kafka-admin.js';
import { checkHistories, checkHistory } from '../../harness/verify/history.js';
import { openSession, type SqlSession } from '../../harness/verify/reconcile/index.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';
import { plantHistory } from './history-planted.js';

let pg: PostgresInstance;
let target: SqlSession;

beforeAll(async () => {
  pg = await startPostgresInstance();
  target = await openSession(pg.url, 'target');
});
afterAll(async () => {
  await target?.close();
  await pg?.stop();
});

async function table(name: string, rows: [number, string][]): Promise<void> {
  await pg.sql(`DROP TABLE IF EXISTS ${name}; CREATE TABLE ${name} (id bigint PRIMARY KEY, name text)`);
  for (const [id, value] of rows) await pg.sql(`INSERT INTO ${name} VALUES ($1, $2)`, [id, value]);
}

describe('checkHistories', () => {
  it('judges two writers of one table together and a second table apart: one verdict per table, overall pass', async () => {
    await table('orders', [[1, 'seed'], [1001, 'a'], [1002, 'b'], [2001, 'c']]);
    await table('items', [[1001, 'a'], [1003, 'x']]);
    const first = plantHistory('orders', [['insert', 1001, { name: 'a' }, 'ok'], ['insert', 1002, { name: 'a' }, 'ok'], ['update', 1002, { name: 'b' }, 'ok']]);
    const second = plantHistory('orders', [['insert', 2001, { name: 'c' }, 'ok'], ['insert', 2002, { name: 'c' }, 'indeterminate']], 2001);
    const items = plantHistory('items', [['insert', 1001, { name: 'a' }, 'ok'], ['insert', 1002, { name: 'a' }, 'ok'], ['update', 1001, { name: 'b' }, 'ok']]);
    const verdict = await checkHistories(target, [{ history: first }, { history: second }, { history: items }]);
    expect(verdict.pass).toBe(false);
    expect(verdict.tables.map((t) => [t.table, t.pass])).toEqual([['orders', true], ['items', false]]);
    const [orders, itemsVerdict] = verdict.tables;
    expect(orders).toMatchObject({ lost: [], unexpected: [], stale: [], recovered: [], keysChecked: 4, attemptedWrites: 5, acknowledgedWrites: 4, indeterminateWrites: 1 });
    expect(itemsVerdict).toMatchObject({ lost: [1002], unexpected: [1003], stale: [{ key: 1001, reason: 'value', columns: ['name'] }] });
  });

  it('reports duplicated change events; they fail the verdict only when the pipeline promises exactly-once', async () => {
    await table('orders', [[1001, 'a']]);
    const history = plantHistory('orders', [['insert', 1001, { name: 'a' }, 'ok']]);
    const event = (offset: number): TopicMessage => ({ topic: 'p.public.orders', partition: 0, offset: String(offset), timestamp: '0', key: JSON.stringify({ id: 1001 }), value: JSON.stringify({ after: { id: 1001 }, source: { lsn: 42 }, op: 'c' }), headers: {} });
    const messages = [event(0), event(1)];
    const atLeastOnce = await checkHistory(history, target, { topic: { name: 'p.public.orders', messages } });
    expect(atLeastOnce.pass).toBe(true);
    expect(atLeastOnce.duplicated).toEqual([{ key: 1001, position: 'lsn=42', op: 'c', count: 2, offsets: ['0:0', '0:1'] }]);
    expect(atLeastOnce.topic).toEqual({ name: 'p.public.orders', events: 2, unreadable: 0, exactlyOnce: false });
    const exactlyOnce = await checkHistory(history, target, { topic: { name: 'p.public.orders', messages, exactlyOnce: true } });
    expect(exactlyOnce.pass).toBe(false);
    expect((await checkHistory(history, target, { topic: { name: 'p.public.orders', messages: [event(0)], exactlyOnce: true } })).pass).toBe(true);
  });

  it('asks a SQL Server target for the key space and each column as text', async () => {
    const seen: string[] = [];
    const sqlserver: SqlSession = { dialect: 'sqlserver', endpoint: 'mssql://test', query: async (sql) => (seen.push(sql), []), close: async () => {} };
    const verdict = await checkHistory(plantHistory('orders', [['insert', 1001, { name: 'a' }, 'ok']]), sqlserver);
    expect(seen).toEqual(['SELECT CAST("id" AS nvarchar(max)) AS "k", CAST("name" AS nvarchar(max)) AS "name" FROM "orders" WHERE "id" BETWEEN 1001 AND 2000']);
    expect(verdict).toMatchObject({ pass: false, lost: [1001] });
  });
});

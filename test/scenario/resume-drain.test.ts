/**
 * awaitDrainedAfterResume on a real PostgreSQL (source and replica in one instance, two tables): a late
 * marker is reported as a failed drain with its reason, and nothing is restarted behind the test's back.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { awaitDrainedAfterResume, stallReason } from '../../harness/scenario/replica-waits.js';
import { openSession, type SqlSession } from '../../harness/verify/reconcile/index.js';
import { type PostgresInstance, startPostgresInstance } from '../support/postgres-instance.js';

let instance: PostgresInstance;
let session: SqlSession;

beforeAll(async () => {
  instance = await startPostgresInstance();
  await instance.sql('CREATE TABLE src_customers (customer_id integer PRIMARY KEY); CREATE TABLE customers (customer_id integer PRIMARY KEY)');
  session = await openSession(instance.url, 'source', { connections: 2 });
});
afterAll(async () => {
  await session?.close();
  await instance?.stop();
});

/** Stand-ins for the Kafka and Connect fixtures: what the diagnostics read, and a restart that must never be called. */
function fixtures(sourceTable: string) {
  const calls: string[] = [];
  const source: SqlSession = Object.assign(Object.create(session) as SqlSession, { query: (sql: string, params?: unknown[]) => session.query(sql.replaceAll(" FROM customers ", ` FROM ${sourceTable} `), params as string[]) });
  const connect = {
    getConnectorStatus: async (name: string) => ({ name, connector: { state: 'RUNNING' }, tasks: [{ id: 0, state: 'RUNNING' }] }),
    restartConnector: async (name: string) => void calls.push(`restart ${name}`),
    restartTask: async (name: string) => void calls.push(`restart task of ${name}`),
  };
  const kafka = { count: async () => 2540, sinkLag: async () => ({ total: 17, partitions: [{ topic: 'rh.public.customers', partition: 0, lag: 17 }] }) };
  const pipeline = { sourceName: 'postgres-source', sinkName: 'postgresql-sink', topicOf: (t: string) => `rh.public.${t}`, names: { slotName: 'rh_slot' } };
  return { calls, all: { source, target: session, kafka, connect, pipeline } };
}

describe('awaitDrainedAfterResume', () => {
  test('a marker in the replica drains', async () => {
    await instance.sql('INSERT INTO customers VALUES (10)');
    const { calls, all } = fixtures('src_customers');
    const result = await awaitDrainedAfterResume(all, 'customers', 'customer_id', 10, 2_000);
    expect(result).toMatchObject({ drained: true, reason: '' });
    expect(calls).toEqual([]);
  });

  test('a late marker fails the drain, says the sink held it back, and restarts nothing', async () => {
    await instance.sql('INSERT INTO src_customers VALUES (20)');
    const { calls, all } = fixtures('src_customers');
    const result = await awaitDrainedAfterResume(all, 'customers', 'customer_id', 20, 1_000);
    expect(result.drained).toBe(false);
    expect(result.reason).toContain('marker 20 not in the replica within 1 s after the resume; the source holds it; sink lag 17, sink tasks RUNNING');
    expect(calls, 'the harness restarted something on its own').toEqual([]);
  });

  test('a marker the source no longer holds is named as the workload deleting it, not a stall', async () => {
    const { calls, all } = fixtures('src_customers');
    const result = await awaitDrainedAfterResume(all, 'customers', 'customer_id', 30, 1_000);
    expect(result.drained).toBe(false);
    expect(result.reason).toContain('the source no longer holds it either (the workload deleted its own marker');
    expect(calls).toEqual([]);
  });
});

describe('stallReason', () => {
  test('reads what it can and marks the rest unknown', () => {
    expect(stallReason(5, 30_000, {})).toBe('marker 5 not in the replica within 30 s after the resume; the source holds it; sink lag ?, sink tasks ? (diagnostics attached)');
  });
});

/**
 * Database faults: a session that holds a lock on a table (the runbooks' "replication stuck after a
 * schema change"), released by heal(). The blocking backend's pid is exposed so a scenario can find it
 * through pg_locks and end it with pg_terminate_backend, as the runbook says.
 */
import pg from 'pg';
import type { Fault } from './network.js';

export interface LockFault extends Fault {
  /** The backend pid holding the lock. */
  readonly pid: number;
}

export async function holdTableLock(url: string, table: string, mode = 'ACCESS EXCLUSIVE'): Promise<LockFault> {
  const client = new pg.Client({ connectionString: url, application_name: 'runbook-harness-lock-fault' });
  await client.connect();
  client.on('error', () => undefined); // terminated by the scenario: expected
  await client.query('BEGIN');
  await client.query(`LOCK TABLE "${table.replace(/"/g, '""')}" IN ${mode} MODE`);
  const pid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  return {
    pid,
    description: `${mode} lock on ${table} held by backend ${pid}`,
    async heal() {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

export interface WaitingSessions extends Fault {
  /** Backend pids of the sessions waiting on the lock. */
  readonly pids: number[];
}

/**
 * `count` sessions, each running `SELECT count(*) FROM table`, which waits (state 'active', wait event Lock) while
 * a LockFault holds the table. heal() cancels whatever still waits and closes the sessions.
 */
export async function waitOnLock(url: string, table: string, count: number): Promise<WaitingSessions> {
  const clients: pg.Client[] = [];
  const pids: number[] = [];
  for (let i = 0; i < count; i++) {
    const client = new pg.Client({ connectionString: url, application_name: 'runbook-harness-lock-waiter' });
    await client.connect();
    client.on('error', () => undefined);
    pids.push(Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid));
    void client.query(`SELECT count(*) FROM "${table.replace(/"/g, '""')}"`).catch(() => undefined);
    clients.push(client);
  }
  return {
    pids,
    description: `${count} sessions waiting on a lock on ${table}`,
    async heal() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    },
  };
}

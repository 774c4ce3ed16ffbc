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

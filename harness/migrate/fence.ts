/**
 * Fencing a database against the application: its role gets default_transaction_read_only in that database (new
 * sessions, and the pooler's new server connections, cannot write; nextval() fails too), then every session of the
 * role still open there is ended, so no transaction begun before the fence can commit after it. Other roles (the
 * harness, the connectors, a reverse pipeline's sink) keep writing: a database-wide read-only setting would stop
 * the reverse pipeline's sink as well.
 */
import { pollUntil } from '../core/poll.js';
import type { SqlSession } from '../verify/reconcile/index.js';

const ident = (n: string) => `"${n.replace(/"/g, '""')}"`;

export interface FenceObservation {
  role: string;
  database: string;
  /** Sessions of the role that were ended (their transactions, if any, rolled back). */
  terminated: number;
  /** The role's settings in this database after the change. */
  settings: string | null;
}

async function roleSettings(session: SqlSession, role: string, database: string): Promise<string | null> {
  const rows = await session.query(
    `SELECT array_to_string(s.setconfig, ',') AS settings FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = $1 AND d.datname = $2`,
    [role, database],
  );
  return rows[0]?.settings ?? null;
}

export async function fenceRole(session: SqlSession, role: string, database: string, limitMs: number): Promise<FenceObservation> {
  await session.query(`ALTER ROLE ${ident(role)} IN DATABASE ${ident(database)} SET default_transaction_read_only = on`);
  const ended = await session.query(
    `SELECT pg_terminate_backend(pid)::text AS ended FROM pg_stat_activity WHERE datname = $1 AND usename = $2 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    [database, role],
  );
  await pollUntil({ what: `every session of role ${role} on ${database} to end`, limitMs, intervalMs: 50 }, async () => {
    const [row] = await session.query(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND usename = $2 AND backend_type = 'client backend'`, [database, role]);
    return { done: row?.n === '0', seen: `${row?.n} sessions of ${role}` };
  });
  return { role, database, terminated: ended.filter((r) => r.ended === 'true').length, settings: await roleSettings(session, role, database) };
}

export async function unfenceRole(session: SqlSession, role: string, database: string): Promise<FenceObservation> {
  await session.query(`ALTER ROLE ${ident(role)} IN DATABASE ${ident(database)} RESET default_transaction_read_only`);
  return { role, database, terminated: 0, settings: await roleSettings(session, role, database) };
}

/** Which database a URL reaches, without its password: recorded at init, checked by every later verb. */
import type { SqlSession } from '../verify/reconcile/index.js';
import type { DatabaseIdentity } from './control-store.js';

export async function databaseIdentity(session: SqlSession): Promise<DatabaseIdentity> {
  const [row] = await session.query(
    `SELECT current_database() AS database, current_user AS "user", coalesce(host(inet_server_addr()), 'local socket') AS host, coalesce(inet_server_port(), 0)::text AS port`,
  );
  let systemIdentifier: string | null = null;
  try {
    const [sys] = await session.query('SELECT system_identifier::text AS id FROM pg_control_system()');
    systemIdentifier = sys?.id ?? null;
  } catch {
    systemIdentifier = null; // the role may not read pg_control_system(); the database name still has to match
  }
  return { host: row!.host!, port: Number(row!.port), database: row!.database!, user: row!.user!, systemIdentifier };
}

/** Same server (when both sides know its system identifier) and same database name. Addresses may differ (proxies). */
export function sameDatabase(recorded: DatabaseIdentity, now: DatabaseIdentity): boolean {
  if (recorded.database !== now.database) return false;
  if (recorded.systemIdentifier && now.systemIdentifier) return recorded.systemIdentifier === now.systemIdentifier;
  return true;
}

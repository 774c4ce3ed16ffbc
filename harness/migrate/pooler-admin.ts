/**
 * The pooler's admin console (PgBouncer): PAUSE, RESUME, and a switch of its [databases] entry to another server
 * (rewrite the entry's file, RELOAD). Every mutating call waits, within its limit, until SHOW DATABASES / SHOW POOLS
 * show what it asked for. The admin console speaks only the simple query protocol: no parameters here.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { HarnessError } from '../core/errors.js';
import { pollUntil } from '../core/poll.js';
import { redactUrl } from '../core/redaction.js';
import type { PoolerEndpoint } from '../env/stack.js';
import { databasesEntry } from '../env/pooler-databases.js';

export interface PoolerServer {
  host: string;
  port: number;
  database: string;
}

export type AdminRow = Record<string, string | null>;

export const POOLER_COMMAND_LIMIT_MS = 30_000;

/** The stack's pooler endpoint, or a one-line error with the remedy. */
export function requirePooler(endpoints: { pooler?: PoolerEndpoint }): PoolerEndpoint {
  if (!endpoints.pooler) throw new HarnessError('this stack has no pooler (application endpoint): restart it with a runbook-harness that starts PgBouncer (Debian: apt-get install pgbouncer)');
  return endpoints.pooler;
}

const ident = (name: string) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new HarnessError(`pooler database name '${name}' is not a plain identifier; use letters, digits and _`);
  return name;
};

export class PoolerAdmin {
  constructor(private readonly endpoint: Pick<PoolerEndpoint, 'adminUrl' | 'database' | 'databasesFile'>) {
    ident(endpoint.database);
  }

  get database(): string {
    return this.endpoint.database;
  }

  private async command(sql: string, limitMs = POOLER_COMMAND_LIMIT_MS): Promise<AdminRow[]> {
    const client = new pg.Client({ connectionString: this.endpoint.adminUrl, connectionTimeoutMillis: 5000, query_timeout: limitMs });
    try {
      await client.connect();
      const result = await client.query({ text: sql, rowMode: 'array' } as pg.QueryConfig);
      const names = result.fields.map((f) => f.name);
      return (result.rows as unknown[][]).map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] === null || row[i] === undefined ? null : String(row[i])])));
    } catch (error) {
      throw new HarnessError(`pooler admin console ${redactUrl(this.endpoint.adminUrl)}: '${sql}' failed: ${(error as Error).message}`, { cause: error });
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  showDatabases(): Promise<AdminRow[]> {
    return this.command('SHOW DATABASES');
  }

  showPools(): Promise<AdminRow[]> {
    return this.command('SHOW POOLS');
  }

  /** This pooler database's row of SHOW DATABASES (host, port, database, paused, …). */
  async databaseRow(): Promise<AdminRow> {
    const row = (await this.showDatabases()).find((r) => r.name === this.database);
    if (!row) throw new HarnessError(`pooler has no database '${this.database}' in SHOW DATABASES`);
    return row;
  }

  /** Its pools: server connections active/idle and clients waiting. */
  async pools(): Promise<AdminRow[]> {
    return (await this.showPools()).filter((r) => r.database === this.database);
  }

  /**
   * PAUSE: the pooler lets each transaction in flight finish, closes its server connections and holds every new
   * query until RESUME. Observed: paused = 1 and no server connection left.
   */
  async pause(limitMs = POOLER_COMMAND_LIMIT_MS): Promise<{ seconds: number; pools: AdminRow[] }> {
    const started = Date.now();
    await this.command(`PAUSE ${this.database}`, limitMs);
    const pools = await pollUntil({ what: `pooler database ${this.database} to be paused with no server connection`, limitMs, intervalMs: 50 }, async () => {
      const [db, pools] = [await this.databaseRow(), await this.pools()];
      const servers = pools.reduce((n, p) => n + Number(p.sv_active ?? 0) + Number(p.sv_idle ?? 0) + Number(p.sv_used ?? 0) + Number(p.sv_tested ?? 0) + Number(p.sv_login ?? 0), 0);
      return { done: db.paused === '1' && servers === 0, seen: `paused=${db.paused}, server connections=${servers}`, value: pools };
    });
    return { seconds: (Date.now() - started) / 1000, pools };
  }

  /** RESUME; observed: paused = 0. */
  async resume(limitMs = POOLER_COMMAND_LIMIT_MS): Promise<{ seconds: number }> {
    const started = Date.now();
    await this.command(`RESUME ${this.database}`, limitMs);
    await pollUntil({ what: `pooler database ${this.database} to be resumed`, limitMs, intervalMs: 50 }, async () => {
      const db = await this.databaseRow();
      return { done: db.paused === '0', seen: `paused=${db.paused}` };
    });
    return { seconds: (Date.now() - started) / 1000 };
  }

  /** Where the pooler database points now, as SHOW DATABASES says. */
  async server(): Promise<PoolerServer> {
    const db = await this.databaseRow();
    return { host: db.host ?? '', port: Number(db.port), database: db.database ?? '' };
  }

  /** Rewrites the [databases] entry to `server` and RELOADs; observed: SHOW DATABASES shows the new host, port and database. */
  async pointAt(server: PoolerServer, limitMs = POOLER_COMMAND_LIMIT_MS): Promise<{ seconds: number; before: PoolerServer; after: PoolerServer }> {
    const started = Date.now();
    const before = await this.server();
    writeFileSync(this.endpoint.databasesFile, databasesEntry(this.database, server));
    await this.command('RELOAD', limitMs);
    const after = await pollUntil({ what: `pooler database ${this.database} to point at ${server.host}:${server.port}/${server.database}`, limitMs, intervalMs: 50 }, async () => {
      const now = await this.server();
      return { done: now.host === server.host && now.port === server.port && now.database === server.database, seen: `${now.host}:${now.port}/${now.database}`, value: now };
    });
    return { seconds: (Date.now() - started) / 1000, before, after };
  }
}

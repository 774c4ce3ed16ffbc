import pg from 'pg';
import { HarnessError } from '../../core/errors.js';
import { redactSecrets, redactUrl } from '../../core/redaction.js';
import type { SessionOptions, SqlRow, SqlSession } from './sql-session.js';

/** Returns every column as its text form: int8 sums and timestamps keep full precision. */
const textTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

function describeFailure(error: unknown, password: string | undefined): string {
  const err = error as { message?: string; code?: string };
  const text = err?.message || err?.code || String(error);
  return redactSecrets(text.split('\n')[0] ?? text, [password]);
}

/**
 * Opens a pool and proves one connection works, so a wrong password or a dead port fails here with one line naming
 * the endpoint, not later in the middle of a chunk.
 */
export async function openPostgresSession(url: string, options: SessionOptions): Promise<SqlSession> {
  const endpoint = redactUrl(url);
  let password: string | undefined;
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    throw new HarnessError(`${options.role} URL ${endpoint} is not a valid URL; use postgres://user:password@host:port/database`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.connections,
    connectionTimeoutMillis: options.connectTimeoutMs,
    // UTC keeps timestamptz text stable; the statement limit keeps a stuck query from hanging the run.
    options: `-c TimeZone=UTC -c statement_timeout=${options.statementTimeoutMs} -c application_name=runbook-harness-reconcile`,
    types: textTypes,
  });
  // Idle-client errors (server restarted, connection killed) surface on the next query instead of crashing the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new HarnessError(
      `cannot connect to ${options.role} database ${endpoint}: ${describeFailure(error, password)} (waited up to ${options.connectTimeoutMs / 1000} s); check the URL, credentials and that the server is up`,
    );
  }
  return {
    dialect: 'postgres',
    endpoint,
    async query(sql: string, params: (string | null)[] = []): Promise<SqlRow[]> {
      try {
        const result = await pool.query(sql, params);
        return result.rows as SqlRow[];
      } catch (error) {
        const err = error as { code?: string };
        const what = sql.replace(/\s+/g, ' ').trim().slice(0, 60);
        const reason = err.code === '57014' ? `statement did not finish within ${options.statementTimeoutMs / 1000} s (${what}…)` : describeFailure(error, password);
        throw new HarnessError(`${options.role} database ${endpoint}: ${reason}`, { cause: error });
      }
    },
    close: () => pool.end(),
  };
}

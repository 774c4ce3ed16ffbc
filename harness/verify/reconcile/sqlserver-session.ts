/**
 * SQL Server connections through mssql. Not exercised on this machine (no SQL Server here): the generated T-SQL is
 * unit-tested on its text, and the container environment is where it runs for real.
 */
import mssql from 'mssql';
import { HarnessError } from '../../core/errors.js';
import { redactSecrets, redactUrl } from '../../core/redaction.js';
import type { SessionOptions, SqlRow, SqlSession } from './sql-session.js';

/** mssql://user:password@host:port/database[?encrypt=true&trustServerCertificate=true] */
export function sqlServerConfigFromUrl(url: string, options: SessionOptions): mssql.config {
  const parsed = new URL(url);
  const flag = (name: string, fallback: boolean) => (parsed.searchParams.has(name) ? parsed.searchParams.get(name) === 'true' : fallback);
  return {
    server: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 1433,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined,
    connectionTimeout: options.connectTimeoutMs,
    requestTimeout: options.statementTimeoutMs,
    pool: { max: options.connections, min: 0 },
    options: { encrypt: flag('encrypt', false), trustServerCertificate: flag('trustServerCertificate', true) },
  };
}

/** The generated SQL selects text for anything that must round-trip; this only guards the rest. */
function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

export async function openSqlServerSession(url: string, options: SessionOptions): Promise<SqlSession> {
  const endpoint = redactUrl(url);
  let config: mssql.config;
  try {
    config = sqlServerConfigFromUrl(url, options);
  } catch {
    throw new HarnessError(`${options.role} URL ${endpoint} is not a valid URL; use mssql://user:password@host:1433/database`);
  }
  const pool = new mssql.ConnectionPool(config);
  pool.on('error', () => {});
  try {
    await pool.connect();
  } catch (error) {
    const reason = redactSecrets(String((error as Error)?.message ?? error).split('\n')[0] ?? '', [config.password]);
    throw new HarnessError(`cannot connect to ${options.role} database ${endpoint}: ${reason} (waited up to ${options.connectTimeoutMs / 1000} s); check the URL, credentials and that the server is up`);
  }
  return {
    dialect: 'sqlserver',
    endpoint,
    async query(sql: string, params: (string | null)[] = []): Promise<SqlRow[]> {
      const request = pool.request();
      params.forEach((value, i) => request.input(`p${i + 1}`, mssql.NVarChar(mssql.MAX), value));
      try {
        const result = await request.query(sql);
        return result.recordset.map((row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, toText(v)])));
      } catch (error) {
        const reason = redactSecrets(String((error as Error)?.message ?? error).split('\n')[0] ?? '', [config.password]);
        throw new HarnessError(`${options.role} database ${endpoint}: ${reason}`, { cause: error });
      }
    },
    close: () => pool.close(),
  };
}

import { HarnessError } from '../../core/errors.js';
import { redactUrl } from '../../core/redaction.js';
import { openPostgresSession } from './postgres-session.js';
import { openSqlServerSession } from './sqlserver-session.js';
import { DEFAULT_SESSION_OPTIONS, dialectOfUrl, type SessionOptions, type SqlSession } from './sql-session.js';

/** Opens a session for a postgres:// or mssql:// URL; the role ("source"/"target") is named in every error. */
export async function openSession(url: string, role: string, overrides: Partial<SessionOptions> = {}): Promise<SqlSession> {
  const options: SessionOptions = { ...DEFAULT_SESSION_OPTIONS, ...overrides, role };
  const dialect = dialectOfUrl(url);
  if (dialect === 'postgres') return openPostgresSession(url, options);
  if (dialect === 'sqlserver') return openSqlServerSession(url, options);
  throw new HarnessError(`${role} URL ${redactUrl(url)} has an unknown scheme; use postgres://… or mssql://…`);
}

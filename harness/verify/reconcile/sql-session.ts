/** The narrow database surface the engine needs: text-only rows, positional parameters, a pool of connections. */
import type { DialectName } from './reconcile-types.js';

export type SqlRow = Record<string, string | null>;

export interface SqlSession {
  readonly dialect: DialectName;
  /** Redacted URL, for messages. */
  readonly endpoint: string;
  /** Every value comes back as text (or null), so keys and hashes round-trip exactly. */
  query(sql: string, params?: (string | null)[]): Promise<SqlRow[]>;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Connections kept open (one per chunk in flight). */
  connections: number;
  connectTimeoutMs: number;
  /** Limit on any one statement, so nothing waits forever. */
  statementTimeoutMs: number;
  /** "source" or "target": named in every error. */
  role: string;
}

export const DEFAULT_SESSION_OPTIONS: Omit<SessionOptions, 'role'> = {
  connections: 3,
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 600_000,
};

export function dialectOfUrl(url: string): DialectName | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  if (scheme === 'mssql' || scheme === 'sqlserver') return 'sqlserver';
  return undefined;
}

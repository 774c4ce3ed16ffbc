/** PostgreSQL access for the harness's own (direct) connections. */
import pg from 'pg';
import { HarnessError } from '../core/errors.js';
import { redactUrl } from '../core/redaction.js';

export async function connectPostgres(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new HarnessError(`cannot connect to ${redactUrl(url)}: ${(error as Error).message}; check that the stack is up ('runbook-harness status') and the URL`);
  }
  return client;
}

export async function withPostgres<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectPostgres(url);
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * SQL Server access (container mode only: SQL Server cannot run on the embedded stack).
 * Batches are split on GO lines, as sqlcmd does.
 */
import sql from 'mssql';
import { HarnessError } from '../core/errors.js';

export interface SqlServerEndpoint {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export function splitBatches(script: string): string[] {
  return script
    .split(/^\s*GO\s*$/im)
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

export async function connectSqlServer(endpoint: SqlServerEndpoint): Promise<sql.ConnectionPool> {
  const pool = new sql.ConnectionPool({
    server: endpoint.host,
    port: endpoint.port,
    database: endpoint.database,
    user: endpoint.user,
    password: endpoint.password,
    options: { encrypt: false, trustServerCertificate: true },
    connectionTimeout: 15_000,
  });
  try {
    return await pool.connect();
  } catch (error) {
    throw new HarnessError(`cannot connect to SQL Server ${endpoint.host}:${endpoint.port}/${endpoint.database}: ${(error as Error).message}`);
  }
}

export async function runSqlServerBatch(endpoint: SqlServerEndpoint, script: string): Promise<void> {
  const pool = await connectSqlServer(endpoint);
  try {
    for (const batch of splitBatches(script)) await pool.request().batch(batch);
  } finally {
    await pool.close();
  }
}

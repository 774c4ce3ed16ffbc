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

/**
 * SQL Server's own syntax check: each batch of the script runs under `SET PARSEONLY ON` (set on the batch's first
 * line, so error line numbers stay the script's), which parses and returns errors without executing anything.
 */
export async function sqlServerParseErrors(endpoint: SqlServerEndpoint, script: string): Promise<{ line: number; message: string }[]> {
  const batches: { start: number; lines: string[] }[] = [{ start: 0, lines: [] }];
  script.split('\n').forEach((line, i) => {
    if (/^\s*GO\s*$/i.test(line)) batches.push({ start: i + 1, lines: [] });
    else batches[batches.length - 1].lines.push(line);
  });
  const pool = await connectSqlServer(endpoint);
  const errors: { line: number; message: string }[] = [];
  try {
    for (const batch of batches) {
      if (batch.lines.join('').trim() === '') continue;
      try {
        await pool.request().batch(`SET PARSEONLY ON; ${batch.lines.join('\n')}`);
      } catch (error) {
        const e = error as { lineNumber?: number; message: string; precedingErrors?: { lineNumber?: number; message: string }[] };
        for (const one of [...(e.precedingErrors ?? []), e]) errors.push({ line: batch.start + (one.lineNumber ?? 1), message: one.message });
      }
    }
  } finally {
    await pool.close();
  }
  return errors;
}

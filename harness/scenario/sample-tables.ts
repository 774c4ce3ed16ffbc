/**
 * The runbooks' sample tables (customers, orders, products): fresh seed rows in the source, none in the target.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SqlSession } from '../verify/reconcile/index.js';

const SEED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'seed');
export const SAMPLE_TABLES = ['customers', 'orders', 'products'];

/** Fresh sample tables in the source (seed rows), none in the target (the sink creates them). */
export async function resetSampleTables(source: SqlSession, target: SqlSession, extraTables: string[] = []): Promise<void> {
  const all = [...SAMPLE_TABLES, ...extraTables];
  if (source.dialect === 'postgres') {
    await source.query(`DROP TABLE IF EXISTS ${all.join(', ')} CASCADE`);
    await source.query(readFileSync(path.join(SEED_DIR, 'sample-tables.postgres.sql'), 'utf8'));
  } else {
    for (const table of all) await source.query(`IF OBJECT_ID('dbo.${table}') IS NOT NULL DROP TABLE dbo.${table}`);
    await source.query(readFileSync(path.join(SEED_DIR, 'sample-tables.sqlserver.sql'), 'utf8'));
  }
  await target.query(`DROP TABLE IF EXISTS ${all.join(', ')} CASCADE`);
}

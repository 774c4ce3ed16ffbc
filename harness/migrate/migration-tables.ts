/** A --table flag resolved against the migration's recorded tables. */
import { UsageError } from '../cli/errors.js';
import type { Migration } from './control-store.js';
import { MIGRATE_SCHEMA } from './migration-connectors.js';

export function migrationTable(migration: Migration, table: string, verb: string): string {
  const qualified = table.includes('.') ? table : `${MIGRATE_SCHEMA}.${table}`;
  if (!migration.tables.includes(qualified)) throw new UsageError(`migrate ${verb}: --table ${table} is not a table of migration ${migration.id} (its tables: ${migration.tables.join(', ')})`);
  return qualified;
}

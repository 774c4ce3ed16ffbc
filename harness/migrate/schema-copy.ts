/**
 * The runbook's `pg_dump -s source | psql target`, as one step: the source schema (tables, sequences, types,
 * functions, indexes) into the target, in one transaction, stopping at the first error. Uses the stack's pg_dump
 * and psql when the URLs are the stack's (they match its servers), else --pg-dump / --psql, else PATH.
 * Passwords go through PGPASSWORD, never on a command line.
 */
import { HarnessError } from '../core/errors.js';
import { outputTail, runCommand } from '../core/subprocess.js';
import type { DatabaseEndpoint } from '../env/stack.js';

export interface SchemaCopyOptions {
  pgDump: string;
  psql: string;
  /** Schemas copied whole (every table, type, function and sequence in them); none: the whole database. */
  schemas?: string[];
  /** The `--table=` form instead: these tables alone, without the types and functions they use. */
  tables?: string[];
  /** schema.table names left out of the copy (e.g. the signal table, which lives in the source only). */
  excludeTables?: string[];
  limitMs: number;
}

export interface SchemaCopyResult {
  pgDump: string;
  dumpBytes: number;
  /** The DDL pg_dump wrote (evidence). */
  ddl: string;
  /** CREATE statements in the dump, by object kind (TABLE, SEQUENCE, TYPE, ...). */
  created: Record<string, number>;
  seconds: number;
}

/** The database as a libpq URL without its password. */
function withoutPassword(db: DatabaseEndpoint): string {
  const url = new URL(db.url);
  url.password = '';
  return url.toString();
}

/** schema.table as a pg_dump pattern that matches exactly that table (quoted: case kept, no wildcards). */
export function exactPattern(qualified: string): string {
  const dot = qualified.indexOf('.');
  const q = (part: string) => `"${part.replace(/"/g, '""')}"`;
  return `${q(qualified.slice(0, dot))}.${q(qualified.slice(dot + 1))}`;
}

export async function copySchema(source: DatabaseEndpoint, target: DatabaseEndpoint, options: SchemaCopyOptions): Promise<SchemaCopyResult> {
  const started = Date.now();
  const args = [
    '--schema-only', '--no-owner', '--no-privileges', '--no-publications', '--no-subscriptions',
    ...(options.schemas ?? []).map((s) => `--schema=${s}`),
    ...(options.tables ?? []).map((t) => `--table=${t}`),
    ...(options.excludeTables ?? []).map((t) => `--exclude-table=${exactPattern(t)}`),
    `--dbname=${withoutPassword(source)}`,
  ];
  const dump = await runCommand(options.pgDump, args, { env: { PGPASSWORD: source.password }, limitMs: options.limitMs, reject: false, secrets: [source.password] });
  if (dump.exitCode !== 0) {
    const tail = outputTail(dump.stderr);
    const remedy = /server version mismatch/.test(tail) ? `; give a pg_dump at least as new as the source server with --pg-dump PATH` : /not found/.test(dump.failure ?? '') ? '; install the PostgreSQL client tools or pass --pg-dump PATH' : '';
    throw new HarnessError(`schema copy: ${dump.failure ?? tail}${remedy}`);
  }
  const restore = await runCommand(options.psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', `--dbname=${withoutPassword(target)}`], {
    env: { PGPASSWORD: target.password },
    // pg_dump --schema=public emits CREATE SCHEMA public, which every target already has.
    input: dump.stdout.replace(/^CREATE SCHEMA ([^;\n]+);$/gm, 'CREATE SCHEMA IF NOT EXISTS $1;'),
    limitMs: options.limitMs,
    reject: false,
    secrets: [target.password],
  });
  if (restore.exitCode !== 0) throw new HarnessError(`schema copy into the target failed, nothing was created (one transaction): ${restore.failure ?? outputTail(restore.stderr)}; fix the target (or pass --skip-schema-copy if you created the schema yourself)`);
  const created: Record<string, number> = {};
  for (const m of dump.stdout.matchAll(/^CREATE (?:UNLOGGED )?(TABLE|SEQUENCE|TYPE|DOMAIN|FUNCTION|INDEX|UNIQUE INDEX|VIEW|MATERIALIZED VIEW|TRIGGER|EXTENSION)\b/gm)) created[m[1]!] = (created[m[1]!] ?? 0) + 1;
  return { pgDump: options.pgDump, dumpBytes: Buffer.byteLength(dump.stdout), ddl: dump.stdout, created, seconds: (Date.now() - started) / 1000 };
}

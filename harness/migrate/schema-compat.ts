/**
 * assessSchema: what the pipeline cannot carry, said before anything is copied, with the fix.
 *
 * MINIMAL PLACEHOLDER (orchestrator branch): this version only reports tables without a primary key and tables whose
 * REPLICA IDENTITY keeps UPDATE/DELETE events from carrying a key. The full assessment (enum types, domains, arrays,
 * tsvector, bytea, partitioned tables, generated columns, triggers, sequences, non-ASCII identifiers) is another
 * engineer's module and replaces this file on merge; keep the exported signature.
 */
import type { SqlSession } from '../verify/reconcile/index.js';

export interface SchemaIssue {
  /** schema.table (or the object's name). */
  object: string;
  severity: 'error' | 'warning';
  problem: string;
  fix: string;
}

export interface SchemaAssessment {
  /** What this assessment looked at, so a report never claims more than was checked. */
  checked: string[];
  issues: SchemaIssue[];
}

interface TableRow {
  schema: string;
  name: string;
  identity: string;
  has_pk: string;
}

const IDENTITY: Record<string, string> = { d: 'DEFAULT', n: 'NOTHING', f: 'FULL', i: 'USING INDEX' };

/** tables: schema.table names in the source. */
export async function assessSchema(source: SqlSession, tables: string[]): Promise<SchemaAssessment> {
  const rows = (await source.query(
    `SELECT n.nspname AS schema, c.relname AS name, c.relreplident::text AS identity,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')::text AS has_pk
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE (n.nspname || '.' || c.relname) = ANY ($1::text[])
      ORDER BY 1, 2`,
    [`{${tables.map((t) => `"${t.replace(/"/g, '\\"')}"`).join(',')}}`],
  )) as unknown as TableRow[];
  const issues: SchemaIssue[] = [];
  for (const row of rows) {
    const object = `${row.schema}.${row.name}`;
    const identity = IDENTITY[row.identity] ?? row.identity;
    const quoted = `"${row.schema}"."${row.name}"`;
    if (row.has_pk !== 'true') {
      issues.push({
        object,
        severity: 'error',
        problem:
          identity === 'DEFAULT' || identity === 'NOTHING'
            ? `no primary key and REPLICA IDENTITY ${identity}: UPDATE and DELETE events carry no key, so the target never sees them (and the sink has no key to upsert by)`
            : `no primary key (REPLICA IDENTITY ${identity}): the change events carry no message key, so the sink (primary.key.mode=record_key) cannot upsert or delete`,
        fix: `ALTER TABLE ${quoted} ADD PRIMARY KEY (<key columns>); or leave the table out with --tables and move it by hand`,
      });
    } else if (identity === 'NOTHING') {
      issues.push({ object, severity: 'error', problem: 'REPLICA IDENTITY NOTHING: UPDATE and DELETE events carry no key', fix: `ALTER TABLE ${quoted} REPLICA IDENTITY DEFAULT` });
    }
  }
  return { checked: ['primary key of every table', 'REPLICA IDENTITY of every table'], issues };
}

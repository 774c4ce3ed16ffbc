/** Catalog reads the verbs share: the tables of a schema, a table's key columns, row counts on either side. */
import type { SqlSession } from '../verify/reconcile/index.js';

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** "schema.table" → "schema"."table" (a name without a schema is in public). */
export function tableRef(qualified: string): string {
  const dot = qualified.indexOf('.');
  return dot < 0 ? `public.${quoteIdent(qualified)}` : `${quoteIdent(qualified.slice(0, dot))}.${quoteIdent(qualified.slice(dot + 1))}`;
}

/** Ordinary and partitioned tables of the schemas (partitions themselves are not listed), as schema.table. */
export async function listTables(session: SqlSession, schemas: string[]): Promise<string[]> {
  const rows = await session.query(
    `SELECT n.nspname || '.' || c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY ($1::text[])
      ORDER BY 1`,
    [`{${schemas.map((s) => `"${s}"`).join(',')}}`],
  );
  return rows.map((r) => r.name!);
}

/**
 * Sequences (schema.name) owned by a column of one of `tables`. pg_dump --schema copies a sequence whose table is
 * excluded as a free-standing object; a migration that leaves a table out leaves its sequence out too.
 */
export async function ownedSequences(session: SqlSession, tables: string[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const rows = await session.query(
    `SELECT sn.nspname || '.' || s.relname AS name
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        AND (tn.nspname || '.' || t.relname) = ANY ($1::text[])
      ORDER BY 1`,
    [`{${tables.map((t) => `"${t.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`],
  );
  return rows.map((r) => r.name!);
}

export async function tableExists(session: SqlSession, qualified: string): Promise<boolean> {
  const rows = await session.query('SELECT (to_regclass($1) IS NOT NULL)::text AS found', [tableRef(qualified)]);
  return rows[0]?.found === 'true';
}

/** Primary-key columns in key order (empty when the table has none). */
export async function primaryKey(session: SqlSession, qualified: string): Promise<string[]> {
  const rows = await session.query(
    `SELECT a.attname AS name
       FROM pg_constraint k CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
      WHERE k.conrelid = to_regclass($1) AND k.contype = 'p'
      ORDER BY u.ord`,
    [tableRef(qualified)],
  );
  return rows.map((r) => r.name!);
}

/** Exact row count, or null when the table does not exist on that side (yet). */
export async function rowCount(session: SqlSession, qualified: string): Promise<number | null> {
  if (!(await tableExists(session, qualified))) return null;
  const rows = await session.query(`SELECT count(*)::text AS n FROM ${tableRef(qualified)}`);
  return Number(rows[0]!.n);
}

export async function walLevel(session: SqlSession): Promise<string> {
  const rows = await session.query(`SELECT current_setting('wal_level') AS level`);
  return rows[0]!.level!;
}

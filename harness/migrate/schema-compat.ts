/**
 * `migrate init`'s schema assessment: what the pipeline (Debezium PostgreSQL source 3.6.1 → Kafka → Debezium JDBC sink
 * 3.6.0 → PostgreSQL, with the connector templates in fixtures/connectors and a target schema copied with pg_dump -s)
 * carries faithfully, and what it does not, with the fix — before anything is copied.
 *
 * Two halves: readSchemaCatalog() reads pg_catalog; classifySchema() is pure (plain data in, findings out) and holds
 * every rule. Each rule states only what the rehearsal measured: scenarios/database-migration/real-world-schema.test.ts
 * runs the pipeline with every fix (everything carries, value by value) and once without each fix (the object flagged
 * does not carry). A type that rehearsal did not measure is reported as unverified, never as safe.
 */

export type Severity = 'error' | 'warning' | 'info';
export type ObjectKind = 'database' | 'table' | 'column' | 'trigger' | 'constraint' | 'sequence';

/** What a rehearsal (or an operator) applies for a finding. Every field is optional; mergeRemedies() combines them. */
export interface Remedy {
  /** Source connector properties. */
  sourceConnector?: Record<string, string>;
  /** Source connector list properties (comma-joined across findings), e.g. column.exclude.list. */
  sourceConnectorLists?: Record<string, string[]>;
  /** Parameters added to the sink's JDBC connection.url. */
  sinkUrlParameters?: Record<string, string>;
  /** SQL on the source before the connector starts. */
  sourceSql?: string[];
  /** SQL on the target after the schema copy, before the sink starts. */
  targetSql?: string[];
  /** Create the connector's publication yourself, WITH (publish_via_partition_root = true), before it starts. */
  publishViaPartitionRoot?: boolean;
  /** Leave the table out of table.include.list; copy it by hand when writes have stopped (command given in fix). */
  moveByHand?: string[];
  /** Sequences (schema.name) whose last_value must be set on the target at cutover, after the last change drained. */
  carrySequences?: string[];
  /** SQL on the target at cutover, after the sequences are carried (identity columns back to ALWAYS). */
  cutoverTargetSql?: string[];
  /** SQL on the source when the reverse pipeline starts at cutover: its sink writes the target's values there. */
  reverseSourceSql?: string[];
  /** SQL on the source once a rollback has stopped the reverse sink (the source's own settings back). */
  rollbackSourceSql?: string[];
}

export interface SchemaFinding {
  /** schema.table, schema.table.column, schema.sequence, or the database setting. */
  object: string;
  kind: ObjectKind;
  severity: Severity;
  problem: string;
  fix: string;
  /** The machine-applicable form of `fix`, when there is one. */
  remedy?: Remedy;
  /** A short name of the rule, stable for tests and for grouping (e.g. 'enum-column'). */
  rule: string;
}

export interface SchemaAssessment {
  findings: SchemaFinding[];
  /** True when no finding is an error: the pipeline can start once the warnings' fixes are decided. */
  ready: boolean;
  counts: Record<Severity, number>;
}

// ---- the catalog, as plain data ---------------------------------------------------------------------------------

export interface CatalogColumn {
  name: string;
  /** format_type(), e.g. numeric(12,2), text[], order_status. */
  type: string;
  /** pg_type.typtype of the column's type: b base, e enum, d domain, r range, c composite, m multirange. */
  typtype: string;
  /** pg_type.typcategory: A array, N numeric, ... */
  typcategory: string;
  /** The base type's name: the element type for an array, the underlying type for a domain, else the type itself. */
  baseType: string;
  /** typtype of baseType (an array of enums has typtype b, baseTypeKind e). */
  baseTypeKind: string;
  /** atttypmod: -1 for numeric means unconstrained. */
  typmod: number;
  /** pg_attribute.attgenerated: '' or 's' (stored). */
  generated: string;
  /** pg_attribute.attidentity: '' , 'a' (ALWAYS) or 'd' (BY DEFAULT). */
  identity: string;
  /** pg_attribute.attstorage: p plain, m main, e external, x extended (x and e can go out of line: TOAST). */
  storage: string;
}

export interface CatalogTable {
  schema: string;
  name: string;
  /** r ordinary, p partitioned. Partitions themselves are not listed (they move with their root). */
  relkind: string;
  /** relreplident: d default (primary key), f full, i index, n nothing. */
  replicaIdentity: string;
  primaryKey: string[];
  partitions: string[];
  columns: CatalogColumn[];
  triggers: { name: string; enabled: string }[];
  foreignKeys: { name: string; references: string }[];
  /** Bytes in the table's TOAST relation (its partitions' for a partitioned table): values stored out of line now. */
  toastBytes: number;
}

export interface CatalogSequence {
  schema: string;
  name: string;
  /** schema.table.column that owns it (serial, identity), if any. */
  ownedBy?: string;
}

export interface SchemaCatalog {
  walLevel: string;
  tables: CatalogTable[];
  sequences: CatalogSequence[];
}

// ---- the rules ---------------------------------------------------------------------------------------------------

/** Types the rehearsal carried value by value with the templates' settings (snapshot and streaming). */
const CARRIED_TYPES = new Set([
  'int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'bool', 'text', 'varchar', 'bpchar', 'bytea', 'uuid', 'json', 'jsonb', 'tsvector',
  'date', 'time', 'timestamp', 'timestamptz',
]);


const isAscii = (s: string) => /^[\x20-\x7e]*$/.test(s);
const quoteIdent = (s: string) => (/^[a-z_][a-z0-9_]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
const qualified = (t: { schema: string; name: string }) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;

/** Pure: every finding for a catalog. Order: database, then tables in catalog order, then sequences. */
export function classifySchema(catalog: SchemaCatalog): SchemaFinding[] {
  const findings: SchemaFinding[] = [];
  const add = (f: SchemaFinding) => findings.push(f);

  // Debezium's pgoutput decoding needs logical WAL (the runbook's Configure Debezium Connector step checks it).
  add(
    catalog.walLevel === 'logical'
      ? { rule: 'wal-level', object: 'wal_level', kind: 'database', severity: 'info', problem: 'wal_level is logical: logical decoding is available', fix: 'none needed' }
      : {
          rule: 'wal-level',
          object: 'wal_level',
          kind: 'database',
          severity: 'error',
          problem: `wal_level is ${catalog.walLevel}: the source connector cannot create its logical replication slot`,
          fix: "ALTER SYSTEM SET wal_level = 'logical'; then restart the source server",
        },
  );

  const noPk = new Set<string>();
  for (const table of catalog.tables) {
    const name = `${table.schema}.${table.name}`;
    const ref = qualified(table);

    // Proved: the sink task FAILS ("Configured primary key mode 'record_key' cannot have null schema"): one keyless
    // table stops every table's replication. Control run 'event_log in the pipeline'.
    if (table.primaryKey.length === 0) {
      noPk.add(name);
      add({
        rule: 'no-primary-key',
        object: name,
        kind: 'table',
        severity: 'error',
        problem: `no primary key (replica identity ${describeIdentity(table.replicaIdentity)}): its change events have no key, and the sink (primary.key.mode=record_key) fails its task on the first one, stopping every table`,
        fix: `move this table by hand: leave it out of table.include.list and, when writes have stopped, copy it with pg_dump "$SOURCE_URL" --data-only --table=${ref} | psql "$TARGET_URL"; or add a primary key on the source and target first`,
        remedy: { moveByHand: [name] },
      });
    }

    // Proved: without publish_via_partition_root the snapshot carries the root's rows but no streamed change does
    // (pgoutput publishes them under the partitions' names, which table.include.list does not name). Control run.
    if (table.relkind === 'p') {
      add({
        rule: 'partitioned-table',
        object: name,
        kind: 'table',
        severity: 'error',
        problem: `range/list/hash partitioned (${table.partitions.length} partitions: ${table.partitions.join(', ')}): changes are published under each partition's name, so after the snapshot no insert, update or delete reaches the target`,
        fix: 'create the publication before the connector starts: CREATE PUBLICATION <publication.name> FOR TABLE <the tables> WITH (publish_via_partition_root = true); publication.autocreate.mode=filtered then adds tables to it and keeps the option',
        remedy: { publishViaPartitionRoot: true },
      });
    }

    // Proved: an UPDATE that leaves an out-of-line (TOASTed) value unchanged arrives as '__debezium_unavailable_value',
    // which the sink writes into the target row. Control run 'documents with REPLICA IDENTITY DEFAULT'.
    // Severity follows the data: a warning when the table's TOAST relation holds values now, info when none is out
    // of line yet (the fixture's documents table has one; the tables that have none carried without the fix).
    const toastable = table.columns.filter((c) => !c.generated && (c.storage === 'x' || c.storage === 'e'));
    if (table.replicaIdentity !== 'f' && toastable.length > 0 && !noPk.has(name)) {
      const stored = table.toastBytes > 0;
      const targets = [ref, ...table.partitions.map((p) => qualified({ schema: table.schema, name: p }))];
      add({
        rule: 'toast-unchanged',
        object: name,
        kind: 'table',
        severity: stored ? 'warning' : 'info',
        problem: `replica identity ${describeIdentity(table.replicaIdentity)} with TOAST-able columns (${toastable.map((c) => c.name).join(', ')})${stored ? ', and values stored out of line now' : ', no value stored out of line yet'}: an update that leaves a large value unchanged sends '__debezium_unavailable_value' in its place, and the sink writes that text into the target row`,
        fix: `on the source: ${targets.map((t) => `ALTER TABLE ${t} REPLICA IDENTITY FULL`).join('; ')} (more WAL per update)`,
        remedy: { sourceSql: targets.map((t) => `ALTER TABLE ${t} REPLICA IDENTITY FULL`) },
      });
    }

    // Proved: pg_dump -s copies the triggers, and the sink's writes fire them on the target (control run with the
    // foreign key dropped: the target's audit trigger writes keys the source's audit rows bring again, "duplicate key
    // value violates unique constraint"); foreign keys reject rows that arrive before their parent (topics are consumed
    // independently). Both stop the sink task. session_replication_role=replica fixes both (the full run).
    for (const fk of table.foreignKeys) {
      add({
        rule: 'foreign-key',
        object: `${name}.${fk.name}`,
        kind: 'constraint',
        severity: 'error',
        problem: `foreign key to ${fk.references}: the sink applies each table's topic on its own, so a row can arrive before the row it references; the violation fails the sink task`,
        fix: "add options=-c session_replication_role=replica to the sink's connection.url (the sink's user must be a superuser, or on PostgreSQL 15+ be granted SET ON PARAMETER session_replication_role); the constraint is checked again for writes after the cutover",
        remedy: { sinkUrlParameters: { options: '-c session_replication_role=replica' } },
      });
    }
    for (const trigger of table.triggers.filter((t) => t.enabled !== 'D')) {
      add({
        rule: 'trigger',
        object: `${name}.${trigger.name}`,
        kind: 'trigger',
        severity: 'error',
        problem: 'trigger copied to the target by pg_dump -s: the sink\'s writes fire it again there (rows the source\'s trigger already wrote arrive through the pipeline as well, or a value the source set is overwritten)',
        fix: "add options=-c session_replication_role=replica to the sink's connection.url (ordinary triggers do not fire for a replica session); not rehearsed: on the target ALTER TABLE " + `${ref} DISABLE TRIGGER ${quoteIdent(trigger.name)} until the cutover`,
        remedy: { sinkUrlParameters: { options: '-c session_replication_role=replica' } },
      });
    }

    // Proved: the snapshot names the table under its own name although the topic name is sanitised (é → _); the
    // sink's collection.name.format=${source.table} takes the name from the event. It carried value by value.
    if (!isAscii(table.name) || table.columns.some((c) => !isAscii(c.name))) {
      add({
        rule: 'non-ascii-identifier',
        object: name,
        kind: 'table',
        severity: 'info',
        problem: 'non-ASCII table or column names: Debezium replaces characters a Kafka topic name cannot hold with _ in the topic name; the sink still writes the table under its own name (collection.name.format=${source.table}) and carried it value by value',
        fix: 'none needed with the templates; keep collection.name.format=${source.table} (a format built from the topic name would create a differently named table)',
      });
    }

    for (const column of table.columns) findings.push(...classifyColumn(table, column));
  }

  // Proved: logical decoding does not carry sequence values; after the pipeline the target's sequences are untouched.
  for (const sequence of catalog.sequences) {
    const ref = qualified(sequence);
    add({
      rule: 'sequence',
      object: `${sequence.schema}.${sequence.name}`,
      kind: 'sequence',
      severity: 'warning',
      problem: `sequence${sequence.ownedBy ? ` (owned by ${sequence.ownedBy})` : ''} is not carried by logical decoding: the target's stays at its start, so the first insert after the cutover reuses a key`,
      fix: `at cutover, after the last change drained: SELECT setval('${ref}', <SELECT last_value FROM ${ref} on the source>, true) on the target`,
      remedy: { carrySequences: [`${sequence.schema}.${sequence.name}`] },
    });
  }
  return findings;
}

function classifyColumn(table: CatalogTable, column: CatalogColumn): SchemaFinding[] {
  const object = `${table.schema}.${table.name}.${column.name}`;
  const ref = qualified(table);
  const col = quoteIdent(column.name);
  const out: SchemaFinding[] = [];

  // Proved: the snapshot sends the computed value and the sink writes it: "cannot insert a non-DEFAULT value into
  // column"; the sink task fails. Excluded at the source, the target computes it itself. Control run.
  if (column.generated === 's') {
    out.push({
      rule: 'generated-column',
      object,
      kind: 'column',
      severity: 'error',
      problem: 'GENERATED ALWAYS ... STORED column: the snapshot sends its value and the sink writes it, which PostgreSQL rejects (cannot insert a non-DEFAULT value); the sink task fails',
      fix: `source connector: column.exclude.list=${table.schema}.${table.name}.${column.name} (the target computes the column from the carried ones)`,
      remedy: { sourceConnectorLists: { 'column.exclude.list': [`${table.schema}.${table.name}.${column.name}`] } },
    });
    return out;
  }

  // Proved: the sink writes the source's identity values: "cannot insert a non-DEFAULT value into column"; task fails.
  if (column.identity === 'a') {
    out.push({
      rule: 'identity-always',
      object,
      kind: 'column',
      severity: 'error',
      problem: 'GENERATED ALWAYS AS IDENTITY: the sink writes the source\'s values, which PostgreSQL rejects on the target (cannot insert a non-DEFAULT value); the sink task fails',
      fix: `on the target, for the replication: ALTER TABLE ${ref} ALTER COLUMN ${col} SET GENERATED BY DEFAULT; at cutover, after the sequence is carried over: ... SET GENERATED ALWAYS`,
      remedy: {
        targetSql: [`ALTER TABLE ${ref} ALTER COLUMN ${col} SET GENERATED BY DEFAULT`],
        cutoverTargetSql: [`ALTER TABLE ${ref} ALTER COLUMN ${col} SET GENERATED ALWAYS`],
        // The reverse pipeline's sink writes the target's identity values into the source: the same rejection there.
        reverseSourceSql: [`ALTER TABLE ${ref} ALTER COLUMN ${col} SET GENERATED BY DEFAULT`],
        rollbackSourceSql: [`ALTER TABLE ${ref} ALTER COLUMN ${col} SET GENERATED ALWAYS`],
      },
    });
  }

  // Proved: enum values arrive as strings and the sink binds them as varchar: "column is of type <enum> but expression
  // is of type character varying"; the sink task fails. stringtype=unspecified lets the server cast them.
  if (column.typtype === 'e' || column.baseTypeKind === 'e') {
    out.push({
      rule: 'enum-column',
      object,
      kind: 'column',
      severity: 'error',
      problem: `enum type ${column.type}: the value arrives as a string, the sink binds it as character varying, and PostgreSQL rejects it (column is of type ${column.type} but expression is of type character varying); the sink task fails`,
      fix: "add stringtype=unspecified to the sink's connection.url (the server then casts the text to the enum)",
      remedy: { sinkUrlParameters: { stringtype: 'unspecified' } },
    });
    return out;
  }

  // Proved: interval.handling.mode=numeric (Debezium's default, the template's) sends microseconds with months counted
  // as 30.4375 days: '1 year 2 mons 3 days 04:05:06.789' arrives as '10303:05:06.789'. string mode carries it exactly,
  // but only with stringtype=unspecified: without it the sink task fails ("column "retention" is of type interval but
  // expression is of type character varying", seen in the control run without the enum and interval fixes' URL setting).
  if (column.baseType === 'interval') {
    out.push({
      rule: 'interval-column',
      object,
      kind: 'column',
      severity: 'error',
      problem: "interval: with interval.handling.mode=numeric (the default) months and days arrive as a number of microseconds (a month counted as 30.4375 days), so '1 year 2 mons 3 days' lands as a different interval in hours",
      fix: "source connector: interval.handling.mode=string (ISO 8601 durations, which the target parses exactly), with stringtype=unspecified in the sink's connection.url (else the sink binds them as character varying and fails)",
      remedy: { sourceConnector: { 'interval.handling.mode': 'string' }, sinkUrlParameters: { stringtype: 'unspecified' } },
    });
    return out;
  }

  const base = column.baseType;

  // Proved: a date 'infinity' arrives as '-infinity' (why, on which side, not investigated); finite dates carry, and
  // timestamptz 'infinity' carries. Not fixable by a setting: the rows must be found and corrected. Test 'date infinity'.
  if (base === 'date') {
    out.push({
      rule: 'date-infinity',
      object,
      kind: 'column',
      severity: 'warning',
      problem: "date: finite dates carry, but the value 'infinity' arrives in the target as '-infinity'",
      fix: `before the migration: SELECT count(*) FROM ${ref} WHERE ${col} = 'infinity' on the source; if any, replace them with a far-future date there, or after the cutover set them back on the target by key (UPDATE ${ref} SET ${col} = 'infinity' WHERE <key> IN (...))`,
    });
    return out;
  }

  if (!CARRIED_TYPES.has(base)) {
    out.push({
      rule: 'unverified-type',
      object,
      kind: 'column',
      severity: 'warning',
      problem: `type ${column.type} was not part of the rehearsal that proved which types carry: whether its values arrive unchanged is unknown`,
      fix: `rehearse it: copy a sample of ${ref} through the pipeline and compare value by value (runbook-harness reconcile) before the migration relies on it`,
    });
    return out;
  }

  // What carried, said once per column so a DBA sees the whole matrix.
  const how =
    column.typtype === 'd'
      ? `domain ${column.type} over ${base}: carried as ${base}; the target's domain checks it again`
      : column.typcategory === 'A'
        ? `array ${column.type}: carried element by element (empty arrays and NULL elements included)`
        : base === 'numeric' && column.typmod === -1
          ? 'unconstrained numeric: carried exactly with decimal.handling.mode=precise (the template\'s); double or string would round or retype it'
          : `${column.type}: carried value by value with the templates' settings`;
  out.push({ rule: 'carried-type', object, kind: 'column', severity: 'info', problem: how, fix: 'none needed' });
  return out;
}

function describeIdentity(code: string): string {
  return ({ d: 'DEFAULT', f: 'FULL', i: 'USING INDEX', n: 'NOTHING' } as Record<string, string>)[code] ?? code;
}

/** One plan from many findings: connector settings merged, list settings and SQL de-duplicated in order. */
export function mergeRemedies(findings: Pick<SchemaFinding, 'remedy'>[]): Required<Remedy> {
  const plan: Required<Remedy> = { sourceConnector: {}, sourceConnectorLists: {}, sinkUrlParameters: {}, sourceSql: [], targetSql: [], publishViaPartitionRoot: false, moveByHand: [], carrySequences: [], cutoverTargetSql: [], reverseSourceSql: [], rollbackSourceSql: [] };
  const push = (list: string[], items: string[] | undefined) => items?.forEach((i) => list.includes(i) || list.push(i));
  for (const { remedy } of findings) {
    if (!remedy) continue;
    Object.assign(plan.sourceConnector, remedy.sourceConnector);
    for (const [key, values] of Object.entries(remedy.sourceConnectorLists ?? {})) push((plan.sourceConnectorLists[key] ??= []), values);
    for (const [key, value] of Object.entries(remedy.sinkUrlParameters ?? {})) {
      if (plan.sinkUrlParameters[key] !== undefined && plan.sinkUrlParameters[key] !== value) throw new Error(`two fixes set the sink URL parameter ${key} differently: ${plan.sinkUrlParameters[key]} and ${value}`);
      plan.sinkUrlParameters[key] = value;
    }
    push(plan.sourceSql, remedy.sourceSql);
    push(plan.targetSql, remedy.targetSql);
    push(plan.moveByHand, remedy.moveByHand);
    push(plan.carrySequences, remedy.carrySequences);
    push(plan.cutoverTargetSql, remedy.cutoverTargetSql);
    push(plan.reverseSourceSql, remedy.reverseSourceSql);
    push(plan.rollbackSourceSql, remedy.rollbackSourceSql);
    plan.publishViaPartitionRoot ||= remedy.publishViaPartitionRoot ?? false;
  }
  return plan;
}

export function summarize(findings: SchemaFinding[]): SchemaAssessment {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity] += 1;
  return { findings, ready: counts.error === 0, counts };
}

// ---- the catalog query -------------------------------------------------------------------------------------------

/** A pg.Client (result.rows) or a SqlSession (rows): anything with query(sql, params). */
export interface CatalogClient {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

type Row = Record<string, unknown>;
async function rows(client: CatalogClient, sql: string, params: unknown[]): Promise<Row[]> {
  const result = (await client.query(sql, params)) as Row[] | { rows: Row[] };
  return Array.isArray(result) ? result : result.rows;
}

const TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, c.relreplident::text AS replident,
       COALESCE((SELECT json_agg(a.attname ORDER BY k.ord) FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE i.indrelid = c.oid AND i.indisprimary), '[]')::text AS pk,
       COALESCE((SELECT json_agg(p.relname ORDER BY p.relname) FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhrelid WHERE h.inhparent = c.oid), '[]')::text AS partitions,
       COALESCE((SELECT json_agg(json_build_object('name', t.tgname, 'enabled', t.tgenabled::text) ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '[]')::text AS triggers,
       (SELECT COALESCE(sum(pg_relation_size(x.reltoastrelid)), 0) FROM pg_class x WHERE x.reltoastrelid <> 0
          AND (x.oid = c.oid OR x.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = c.oid)))::text AS toast_bytes,
       COALESCE((SELECT json_agg(json_build_object('name', f.conname, 'references', f.confrelid::regclass::text) ORDER BY f.conname) FROM pg_constraint f WHERE f.conrelid = c.oid AND f.contype = 'f'), '[]')::text AS fks
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY n.nspname, c.relname`;

const COLUMNS_SQL = `
SELECT n.nspname AS schema, c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       t.typtype::text AS typtype, t.typcategory::text AS typcategory, a.atttypmod::text AS typmod,
       a.attgenerated::text AS generated, a.attidentity::text AS identity, a.attstorage::text AS storage,
       b.typname AS base_type, b.typtype::text AS base_kind
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY n.nspname, c.relname, a.attnum`;

const SEQUENCES_SQL = `
SELECT n.nspname AS schema, s.relname AS name,
       (SELECT tn.nspname || '.' || tc.relname || '.' || ta.attname FROM pg_depend d
          JOIN pg_class tc ON tc.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
          JOIN pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i') LIMIT 1) AS owned_by
FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE s.relkind = 'S' AND n.nspname = ANY($1)
ORDER BY n.nspname, s.relname`;

/** Reads the catalog of `schemas` into plain data (tables with their columns, triggers and keys; sequences; wal_level). */
export async function readSchemaCatalog(client: CatalogClient, schemas: string[]): Promise<SchemaCatalog> {
  // A SqlSession takes text parameters; a PostgreSQL array literal works for both clients.
  const param = `{${schemas.map((s) => `"${s.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`;
  const [wal] = await rows(client, "SELECT current_setting('wal_level') AS wal_level", []);
  const tables = await rows(client, TABLES_SQL, [param]);
  const columns = await rows(client, COLUMNS_SQL, [param]);
  const sequences = await rows(client, SEQUENCES_SQL, [param]);
  const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return {
    walLevel: text(wal?.wal_level),
    tables: tables.map((t) => ({
      schema: text(t.schema),
      name: text(t.name),
      relkind: text(t.relkind),
      replicaIdentity: text(t.replident),
      primaryKey: JSON.parse(text(t.pk)) as string[],
      partitions: JSON.parse(text(t.partitions)) as string[],
      triggers: JSON.parse(text(t.triggers)) as { name: string; enabled: string }[],
      foreignKeys: JSON.parse(text(t.fks)) as { name: string; references: string }[],
      toastBytes: Number(t.toast_bytes ?? 0),
      columns: columns
        .filter((c) => c.schema === t.schema && c.table === t.name)
        .map((c) => ({
          name: text(c.name),
          type: text(c.type),
          typtype: text(c.typtype),
          typcategory: text(c.typcategory),
          baseType: text(c.base_type),
          baseTypeKind: text(c.base_kind),
          typmod: Number(c.typmod),
          generated: text(c.generated),
          identity: text(c.identity),
          storage: text(c.storage),
        })),
    })),
    sequences: sequences.map((s) => ({ schema: text(s.schema), name: text(s.name), ...(s.owned_by ? { ownedBy: text(s.owned_by) } : {}) })),
  };
}

/** `migrate init`'s assessment: the catalog of `schemas` read, classified, counted. */
export async function assessSchema(client: CatalogClient, options: { schemas: string[] }): Promise<SchemaAssessment> {
  if (options.schemas.length === 0) throw new Error('assessSchema needs at least one schema to read (e.g. { schemas: ["public"] })');
  return summarize(classifySchema(await readSchemaCatalog(client, options.schemas)));
}

/**
 * The Schema Change Decision Matrix as experiments: for each change type, a table of its own (matrix_<n>) with
 * seed rows, the DDL that makes the change, the shape of rows written after it, and how to read what reached the
 * target as the matrix's Yes / Partial / No. Also samplers for the Downtime? observation (sink task states over
 * the change) and DLQ records of one table, and the commands of a row's Action Required as the runbook writes them.
 * These return observations and verdicts; only scenarios assert.
 */
import { readFileSync } from 'node:fs';
import { type AutoHandled, type DecisionRow } from '../runbook/decision-matrix.js';
import { runbookPath } from '../runbook/parse.js';
import { type SqlSession } from '../verify/reconcile/index.js';
import { type ColumnInfo, describeTable } from './replica-waits.js';

/** Probe rows (written straight after the DDL, apart from the workload) use keys from here. */
export const PROBE_KEY_BASE = 900_000;

export type Row = Record<string, string>;

/** What a change did, as seen in the source, the target and the DLQ. */
export interface MatrixObservation {
  table: string;
  ddlError?: string;
  /** Probe rows of the new shape: what the source said, and what the target showed within the lag SLO. */
  probes: { key: number; row: Row; sourceError?: string; arrived: boolean; seconds: number; inTarget: Record<string, string | null> | null }[];
  columnsBefore: ColumnInfo[];
  columnsAfter: ColumnInfo[];
  targetPrimaryKey: string[];
  targetConstraints: string[];
  targetIndexes: string[];
  /** Seed rows as the target holds them after the change (key 1..3). */
  seedRowsInTarget: Record<string, string | null>[];
  dlqKeys: number[];
}

export interface MatrixVerdict {
  autoHandled: AutoHandled;
  observed: string;
}

export interface MatrixExperiment {
  /** Change Type as the matrix names it. */
  changeType: string;
  /** Source DDL creating the table (PostgreSQL); `%t` is the table name. Default: BASE_TABLE with a primary key. */
  create?: string;
  /** The change, as source DDL (PostgreSQL). */
  ddl: string;
  /** Workload rows before and after the change. */
  before: (n: number) => Row;
  after: (n: number) => Row;
  /**
   * The application writes rows of the new shape before the DDL (a column is dropped once nothing writes it);
   * otherwise it switches when the DDL has run.
   */
  newShapeFirst?: boolean;
  /** Probe rows of the new shape written once after the DDL (default: one row from `after`). */
  probes?: (base: number) => { key: number; row: Row }[];
  /** Reads the observation as the matrix's Auto-Handled? value, with what was seen. */
  verdict: (o: MatrixObservation) => MatrixVerdict;
  /** Source connector properties for this table (`%t` is the table name), as the runbook prescribes for it. */
  sourceConfig?: Record<string, string>;
  /**
   * Values of the placeholders in the row's Action Required commands (`<table_name>` is the experiment's table):
   * the harness supplies names, the runbook the procedure.
   */
  placeholders?: Record<string, string>;
  /** Replica SQL that must fail after the drain (a shortcut the stack rules out); its error is evidence. */
  failingShortcut?: string;
}

const BASE_TABLE = `CREATE TABLE %t (id integer PRIMARY KEY, name varchar(100) NOT NULL, code varchar(50), phone varchar(20), amount integer);
INSERT INTO %t (id, name, code, phone, amount) VALUES (1, 'seed 1', 'C1', '5550101', 10), (2, 'seed 2', 'C2', '5550102', 20), (3, 'seed 3', NULL, '5550103', 30);`;

export function createSql(e: MatrixExperiment, table: string): string {
  return (e.create ?? BASE_TABLE).replaceAll('%t', table);
}

export function ddlSql(e: MatrixExperiment, table: string): string {
  return e.ddl.replaceAll('%t', table);
}

const base = (n: number): Row => ({ name: `writer ${n}`, code: `c${n}`, phone: `555${String(n).padStart(4, '0')}`, amount: String(n) });
const col = (o: MatrixObservation, name: string) => o.columnsAfter.find((c) => c.column_name === name);
const probe = (o: MatrixObservation, i = 0) => o.probes[i];
/** A probe row reached the target with every value it was written with (by column name). */
const arrivedIntact = (o: MatrixObservation, i = 0, columnMap: Record<string, string> = {}) => {
  const p = probe(o, i);
  return Boolean(p?.arrived && p.inTarget && Object.entries(p.row).every(([c, v]) => p.inTarget![columnMap[c] ?? c] === v));
};
const describeProbe = (o: MatrixObservation, i = 0) => {
  const p = probe(o, i);
  if (!p) return 'no probe row';
  if (p.sourceError) return `the source rejected the probe row (${p.sourceError})`;
  return p.arrived ? `probe row ${p.key} in the target after ${p.seconds.toFixed(1)} s as ${JSON.stringify(p.inTarget)}` : `probe row ${p.key} not in the target after ${p.seconds.toFixed(1)} s${o.dlqKeys.includes(p.key) ? ' (in the DLQ)' : ''}`;
};
const typeOf = (c?: ColumnInfo) => (c ? `${c.data_type}${c.character_maximum_length ? `(${c.character_maximum_length})` : ''}${c.is_nullable === 'NO' ? ' NOT NULL' : ''}${c.column_default ? ` DEFAULT ${c.column_default}` : ''}` : 'absent');

/** One experiment per row of the runbook's matrix, by Change Type. */
export const EXPERIMENTS: MatrixExperiment[] = [
  {
    changeType: 'ADD COLUMN (nullable)',
    ddl: 'ALTER TABLE %t ADD COLUMN extra varchar(100) NULL',
    before: base,
    after: (n) => ({ ...base(n), extra: `x${n}` }),
    verdict: (o) => {
      const added = col(o, 'extra');
      const intact = arrivedIntact(o);
      return { autoHandled: added && intact ? 'yes' : intact ? 'partial' : 'no', observed: `target column extra: ${typeOf(added)}; ${describeProbe(o)}` };
    },
  },
  {
    changeType: 'ADD COLUMN (NOT NULL with default)',
    placeholders: { column: 'status' },
    ddl: "ALTER TABLE %t ADD COLUMN status varchar(50) NOT NULL DEFAULT 'pending'",
    before: base,
    after: (n) => ({ ...base(n), status: `s${n}` }),
    verdict: (o) => {
      const added = col(o, 'status');
      const intact = arrivedIntact(o);
      const seeds = o.seedRowsInTarget.map((r) => r.status ?? 'NULL').join(', ');
      return { autoHandled: added && intact ? 'yes' : intact ? 'partial' : 'no', observed: `target column status: ${typeOf(added)}; seed rows' status in the target: ${seeds}; ${describeProbe(o)}` };
    },
  },
  {
    changeType: 'ADD COLUMN (NOT NULL, no default)',
    ddl: 'ALTER TABLE %t ADD COLUMN region varchar(20) NOT NULL',
    before: base,
    after: (n) => ({ ...base(n), region: `r${n}` }),
    verdict: (o) => {
      const added = col(o, 'region');
      const intact = arrivedIntact(o);
      const ddl = o.ddlError ? `the source rejected the DDL (${o.ddlError})` : 'the source accepted the DDL';
      return { autoHandled: !o.ddlError && added && intact ? 'yes' : !o.ddlError && intact ? 'partial' : 'no', observed: `${ddl}; target column region: ${typeOf(added)}; ${describeProbe(o)}` };
    },
  },
  {
    changeType: 'DROP COLUMN',
    placeholders: { column: 'code' },
    ddl: 'ALTER TABLE %t DROP COLUMN code',
    newShapeFirst: true,
    before: base,
    after: (n) => {
      const { code: _code, ...rest } = base(n);
      return rest;
    },
    verdict: (o) => {
      const kept = col(o, 'code');
      const intact = arrivedIntact(o);
      return { autoHandled: !kept && intact ? 'yes' : 'no', observed: `target column code: ${kept ? `still there (${typeOf(kept)}), probe row's code = ${probe(o)?.inTarget?.code ?? 'NULL'}` : 'dropped'}; ${describeProbe(o)}` };
    },
  },
  {
    changeType: 'RENAME COLUMN',
    placeholders: { old_column: 'code', new_column: 'product_code' },
    ddl: 'ALTER TABLE %t RENAME COLUMN code TO product_code',
    before: base,
    after: (n) => {
      const { code, ...rest } = base(n);
      return { ...rest, product_code: code! };
    },
    verdict: (o) => {
      const oldKept = col(o, 'code');
      const renamed = col(o, 'product_code');
      const seed = o.seedRowsInTarget.find((r) => r.id === '1');
      const moved = seed?.product_code === 'C1';
      const intact = arrivedIntact(o);
      return {
        autoHandled: !oldKept && renamed && moved && intact ? 'yes' : 'no',
        observed: `target columns: code ${oldKept ? 'still there' : 'gone'}, product_code ${renamed ? 'added' : 'absent'}; seed row 1 in the target: code = ${seed?.code ?? 'NULL'}, product_code = ${seed?.product_code ?? 'NULL'}; ${describeProbe(o)}`,
      };
    },
    // A plain RENAME on the replica: the sink has already added product_code, so it fails (the matrix says so).
    failingShortcut: 'ALTER TABLE %t RENAME COLUMN code TO product_code',
  },
  {
    changeType: 'ALTER TYPE (compatible)',
    placeholders: { column: 'code', new_type: 'varchar(200)' },
    ddl: 'ALTER TABLE %t ALTER COLUMN code TYPE varchar(200)',
    before: base,
    // Every other row uses the new width.
    after: (n) => ({ ...base(n), code: n % 2 ? `wide-${n}-${'w'.repeat(120)}` : `c${n}` }),
    probes: (k) => [
      { key: k + 1, row: { ...base(k + 1), code: `wide-probe-${'w'.repeat(120)}` } },
      { key: k + 2, row: { ...base(k + 2), code: 'narrow-probe' } },
    ],
    verdict: (o) => {
      const c = col(o, 'code');
      const retyped = Number(c?.character_maximum_length ?? 0) >= 200;
      const wide = arrivedIntact(o, 0);
      const narrow = arrivedIntact(o, 1);
      return {
        autoHandled: retyped && wide && narrow ? 'yes' : narrow ? 'partial' : 'no',
        observed: `target column code: ${typeOf(c)}; wide value: ${describeProbe(o, 0)}; value that fits the old type: ${describeProbe(o, 1)}; ${o.dlqKeys.length} rows in the DLQ`,
      };
    },
  },
  {
    changeType: 'ALTER TYPE (incompatible)',
    placeholders: { column: 'amount', new_type: 'varchar(20)' },
    // Incompatible for the replica: its column keeps the old type, which cannot hold the new values.
    ddl: 'ALTER TABLE %t ALTER COLUMN amount TYPE varchar(20)',
    before: base,
    after: (n) => ({ ...base(n), amount: `n/a-${n}` }),
    verdict: (o) => {
      const c = col(o, 'amount');
      const retyped = c?.data_type === 'character varying';
      const intact = arrivedIntact(o);
      return {
        autoHandled: retyped && intact ? 'yes' : intact ? 'partial' : 'no',
        observed: `target column amount: ${typeOf(c)}; ${describeProbe(o)}; ${o.dlqKeys.length} rows in the DLQ`,
      };
    },
  },
  {
    changeType: 'ADD PRIMARY KEY',
    placeholders: { primary_key: 'id' },
    create: `CREATE TABLE %t (id integer NOT NULL, name varchar(100) NOT NULL, code varchar(50), phone varchar(20), amount integer);
ALTER TABLE %t REPLICA IDENTITY FULL;
INSERT INTO %t (id, name, code, phone, amount) VALUES (1, 'seed 1', 'C1', '5550101', 10), (2, 'seed 2', 'C2', '5550102', 20), (3, 'seed 3', NULL, '5550103', 30);`,
    // Scenario 6: a keyless table is captured with a message key (its events without one FAIL the sink task).
    sourceConfig: { 'message.key.columns': 'public.%t:id' },
    ddl: 'ALTER TABLE %t ADD CONSTRAINT %t_pkey PRIMARY KEY (id)',
    before: base,
    after: base,
    verdict: (o) => {
      const intact = arrivedIntact(o);
      const keyed = o.targetPrimaryKey.join(',') === 'id';
      return {
        autoHandled: keyed && intact ? 'yes' : intact ? 'partial' : 'no',
        observed: `target primary key: ${o.targetPrimaryKey.join(',') || 'none'}; ${describeProbe(o)}; ${o.dlqKeys.length} rows in the DLQ; seed rows in the target: ${o.seedRowsInTarget.length}`,
      };
    },
  },
  {
    changeType: 'DROP PRIMARY KEY',
    placeholders: { primary_key: 'id' },
    ddl: 'ALTER TABLE %t DROP CONSTRAINT %t_pkey',
    before: base,
    after: base,
    verdict: (o) => {
      const intact = arrivedIntact(o);
      return { autoHandled: intact ? 'yes' : 'no', observed: `target primary key: ${o.targetPrimaryKey.join(',') || 'none'}; ${describeProbe(o)}; ${o.dlqKeys.length} rows in the DLQ` };
    },
  },
  {
    changeType: 'ADD INDEX',
    ddl: 'CREATE INDEX %t_name_idx ON %t (name)',
    before: base,
    after: base,
    verdict: (o) => {
      const intact = arrivedIntact(o);
      // The index is not replicated by design (N/A); handled means rows keep flowing.
      return { autoHandled: intact ? 'yes' : 'no', observed: `target indexes: ${o.targetIndexes.join(', ') || 'none'}; ${describeProbe(o)}` };
    },
  },
  {
    changeType: 'ADD CONSTRAINT (CHECK/FK)',
    ddl: 'ALTER TABLE %t ADD CONSTRAINT %t_amount_check CHECK (amount >= 0)',
    before: base,
    after: base,
    verdict: (o) => {
      const intact = arrivedIntact(o);
      const carried = o.targetConstraints.some((c) => c.includes('amount >= 0'));
      return { autoHandled: carried && intact ? 'yes' : intact ? 'partial' : 'no', observed: `target check constraints: ${o.targetConstraints.join('; ') || 'none'}; ${describeProbe(o)}` };
    },
  },
];

export function experimentFor(changeType: string): MatrixExperiment | undefined {
  return EXPERIMENTS.find((e) => e.changeType.toLowerCase() === changeType.toLowerCase());
}

/** The target table's primary-key columns, CHECK constraints and index definitions. */
export async function targetShape(target: SqlSession, table: string): Promise<{ primaryKey: string[]; constraints: string[]; indexes: string[] }> {
  const exists = await target.query('SELECT to_regclass($1)::text AS t', [table]);
  if (!exists[0]?.t) return { primaryKey: [], constraints: [], indexes: [] };
  const pk = await target.query(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY a.attnum`,
    [table],
  );
  const constraints = await target.query(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('c', 'f')`, [table]);
  const indexes = await target.query('SELECT indexdef FROM pg_indexes WHERE tablename = $1', [table]);
  return { primaryKey: pk.map((r) => r.attname!), constraints: constraints.map((r) => r.def!), indexes: indexes.map((r) => r.indexdef!) };
}

export async function targetColumns(target: SqlSession, table: string): Promise<ColumnInfo[]> {
  return describeTable(target, table);
}

/**
 * The commands of a row's Action Required cell, in the order the runbook gives them: its inline code spans that
 * an operator runs (`psql …`, `runbook-harness …`). The parsed table flattens inline code, so the row's own line
 * is read. Names and settings in backticks (`message.key.columns`) are not commands.
 */
export function actionCommands(row: Pick<DecisionRow, 'line'>, runbookName = 'schema-evolution'): string[] {
  const line = readFileSync(runbookPath(runbookName), 'utf8').split('\n')[row.line - 1] ?? '';
  return [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.trim()).filter((c) => /^(psql|runbook-harness)\s/.test(c));
}

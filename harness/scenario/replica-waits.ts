/**
 * Waiting for the replica, each wait within a stated limit: the target converging with the source, a column or rows
 * appearing, a workload's marker arriving (the sink drained past it), and where a change stands on each hop when it
 * does not. The lag limit comes from the runbook's SLO table. These return observations; only scenarios assert.
 */
import { pollUntil } from '../core/poll.js';
import { attachJson } from '../report/step.js';
import { sloTarget } from '../runbook/slo.js';
import { type ReconcileReport, reconcileSessions, type SqlSession, type TableSpec } from '../verify/reconcile/index.js';

/** The replication-lag SLO of the migration runbook's SLO table, in milliseconds (the limit for "within the lag SLO"). */
export function lagSloMs(): number {
  return sloTarget('database-migration', 'Data replication lag').value * 1000;
}

/** Limit for work that is not lag: a snapshot, a drain after a fault, a reconcile to converge. */
export const CONVERGE_LIMIT_MS = 120_000;

/** Polls reconciliation until every table matches; the last report comes back either way. */
export async function awaitConverged(source: SqlSession, target: SqlSession, tables: TableSpec[], limitMs = CONVERGE_LIMIT_MS): Promise<{ converged: boolean; report: ReconcileReport; seconds: number }> {
  const started = Date.now();
  let report: ReconcileReport | undefined;
  try {
    report = await pollUntil({ what: `target to match the source for ${tables.map((t) => t.table).join(', ')}`, limitMs, intervalMs: 500 }, async () => {
      const r = await reconcileSessions(source, target, tables);
      report = r;
      const summary = r.tables.map((t) => `${t.table}: ${t.match ? 'match' : `source ${t.sourceRows}, target ${t.targetRows}, missing ${t.diffCounts.missingInTarget}, extra ${t.diffCounts.extraInTarget}, differing ${t.diffCounts.differing}${t.error ? ` (${t.error})` : ''}`}`);
      return { done: r.tables.every((t) => t.match), seen: summary.join('; '), value: r };
    });
    return { converged: true, report, seconds: (Date.now() - started) / 1000 };
  } catch {
    return { converged: false, report: report ?? (await reconcileSessions(source, target, tables)), seconds: (Date.now() - started) / 1000 };
  }
}

export interface ColumnInfo {
  column_name: string;
  data_type: string;
  character_maximum_length: string | null;
  is_nullable: string;
  column_default: string | null;
}

/** The target table's columns as information_schema describes them. */
export async function describeTable(session: SqlSession, table: string): Promise<ColumnInfo[]> {
  const rows = await session.query(
    `SELECT column_name, data_type, character_maximum_length::text AS character_maximum_length, is_nullable, column_default FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows as unknown as ColumnInfo[];
}

/** Waits until `column` exists in `table` (true) or the limit passes (false); returns what was seen. */
export async function awaitColumn(session: SqlSession, table: string, column: string, limitMs: number): Promise<{ appeared: boolean; seconds: number; columns: ColumnInfo[] }> {
  const started = Date.now();
  let columns: ColumnInfo[] = [];
  try {
    await pollUntil({ what: `column ${column} in ${table}`, limitMs, intervalMs: 100 }, async () => {
      columns = await describeTable(session, table);
      return { done: columns.some((c) => c.column_name === column), seen: columns.map((c) => c.column_name).join(', ') };
    });
    return { appeared: true, seconds: (Date.now() - started) / 1000, columns };
  } catch {
    return { appeared: false, seconds: (Date.now() - started) / 1000, columns };
  }
}

/** PostgreSQL's syntax_error: a query that can never succeed, however long the wait. */
const SYNTAX_ERROR = '42601';

/**
 * Waits until a query returns `expected` rows (or the limit passes); returns the rows last seen. A query that
 * errors is never taken for 0 rows: polling goes on (a table the sink has not created yet errors until it
 * exists), a syntax error stops it, and the last error comes back in `error` with `ok` false.
 */
export async function awaitRows(session: SqlSession, sql: string, expected: number, limitMs: number): Promise<{ ok: boolean; seconds: number; rows: Record<string, string | null>[]; error?: string }> {
  const started = Date.now();
  let rows: Record<string, string | null>[] = [];
  let error: string | undefined;
  try {
    await pollUntil({ what: `${expected} rows from: ${sql}`, limitMs, intervalMs: 100 }, async () => {
      try {
        rows = await session.query(sql);
        error = undefined;
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
        const code = (e as { cause?: { code?: string } }).cause?.code;
        return { done: false, seen: `error: ${error}`, abort: code === SYNTAX_ERROR ? (e as Error) : undefined };
      }
      return { done: rows.length === expected, seen: `${rows.length} rows` };
    });
    return { ok: true, seconds: (Date.now() - started) / 1000, rows };
  } catch {
    return { ok: false, seconds: (Date.now() - started) / 1000, rows, ...(error === undefined ? {} : { error }) };
  }
}

/**
 * Waits until the target shows the workload's marker row: the sink has applied everything before it.
 * When it does not, `diagnose` (if given) gathers where the marker got stuck, attached as evidence.
 */
export async function awaitDrained(
  target: SqlSession,
  table: string,
  keyColumn: string,
  markerKey: number,
  limitMs = CONVERGE_LIMIT_MS,
  diagnose?: () => Promise<unknown>,
): Promise<{ drained: boolean; seconds: number }> {
  const result = await awaitRows(target, `SELECT ${keyColumn} FROM ${table} WHERE ${keyColumn} = ${markerKey}`, 1, limitMs);
  if (!result.ok && diagnose) await attachJson(`drain diagnostics (marker ${markerKey} not in the target)`, await diagnose().catch((e: Error) => ({ error: e.message })));
  return { drained: result.ok, seconds: result.seconds };
}

/** Where a change stands on each hop: the source slot, the table topic, the sink group, both connectors. */
export async function pipelineDiagnostics(
  source: SqlSession,
  kafka: { count(topic: string): Promise<number>; sinkLag(connector: string): Promise<unknown> },
  connect: { getConnectorStatus(name: string): Promise<unknown> },
  pipeline: { sourceName: string; sinkName: string; topicOf(table: string): string; names: { slotName: string } },
  table: string,
): Promise<Record<string, unknown>> {
  const slot = source.dialect === 'postgres'
    ? await source.query('SELECT slot_name, active::text AS active, confirmed_flush_lsn::text AS confirmed_flush_lsn, pg_current_wal_lsn()::text AS current_wal_lsn FROM pg_replication_slots WHERE slot_name = $1', [pipeline.names.slotName])
    : [];
  return {
    slot,
    topicMessages: await kafka.count(pipeline.topicOf(table)),
    sinkLag: await kafka.sinkLag(pipeline.sinkName),
    source: await connect.getConnectorStatus(pipeline.sourceName),
    sink: await connect.getConnectorStatus(pipeline.sinkName),
  };
}

export interface ResumeDrain {
  drained: boolean;
  seconds: number;
  /** Why the marker is not in the replica (empty when it is): where it stands on each hop, in one line. */
  reason: string;
}

/**
 * After a sink resume: waits up to `limitMs` for the marker write in the replica. It never restarts or
 * repairs anything: a marker that is late is a stall the runbook does not prescribe, so the result says
 * where the marker stood (also attached) and the caller's assertion fails the test. "Stuck" is told apart
 * from "gone": a marker the source no longer holds was removed by the workload, not held back by the sink.
 */
export async function awaitDrainedAfterResume(
  fixtures: {
    source: SqlSession;
    target: SqlSession;
    kafka: Parameters<typeof pipelineDiagnostics>[1];
    connect: Parameters<typeof pipelineDiagnostics>[2];
    pipeline: Parameters<typeof pipelineDiagnostics>[3];
  },
  table: string,
  keyColumn: string,
  marker: number,
  limitMs: number,
): Promise<ResumeDrain> {
  const { source, target, kafka, connect, pipeline } = fixtures;
  let seen: Record<string, unknown> = {};
  const diagnose = async () => {
    const inSource = await source.query(`SELECT ${keyColumn} FROM ${table} WHERE ${keyColumn} = ${marker}`);
    seen = { markerInSource: inSource.length === 1, ...(await pipelineDiagnostics(source, kafka, connect, pipeline, table)) };
    return seen;
  };
  const drained = await awaitDrained(target, table, keyColumn, marker, limitMs, diagnose);
  const reason = drained.drained ? '' : stallReason(marker, limitMs, seen);
  await attachJson('sink caught up after the resume', { ...drained, reason });
  return { ...drained, reason };
}

/** One line for a failed drain: the marker's fate at the source, the sink's lag and task states. */
export function stallReason(marker: number, limitMs: number, seen: Record<string, unknown>): string {
  const where = seen.markerInSource === false
    ? 'the source no longer holds it either (the workload deleted its own marker: a harness defect, not a stall)'
    : 'the source holds it';
  const lag = seen.sinkLag as { total?: number } | undefined;
  const sink = seen.sink as { tasks?: { state: string }[] } | undefined;
  return `marker ${marker} not in the replica within ${limitMs / 1000} s after the resume; ${where}; sink lag ${lag?.total ?? '?'}, sink tasks ${sink?.tasks?.map((t) => t.state).join(',') ?? '?'} (diagnostics attached)`;
}

/**
 * The real-world schema rehearsal (fixtures/schemas/real-world.sql): a scratch source database and a scratch target
 * database on the stack's two servers, the schema copied to the target with `pg_dump -s` as the migration does, a
 * pipeline deployed between the two scratch databases, and a wait until every change written so far has passed
 * both connectors. These return observations; only scenarios assert.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, stderrAndWhy } from '../core/subprocess.js';
import type { PostgresTools, StackEndpoints } from '../env/stack.js';
import { Pipeline } from '../fixtures/pipeline.js';
import type { ConnectClient } from '../pipeline/connect-client.js';
import { awaitGroupCaughtUp, type CaughtUp, type GroupLag } from '../pipeline/kafka-admin.js';
import { pollUntil } from '../core/poll.js';
import { DEFAULT_HEARTBEAT_TABLE } from '../verify/lag.js';
import { openSession, reconcileSessions, type ReconcileReport, type SqlSession } from '../verify/reconcile/index.js';
import { connectorVariables } from '../env/connector-variables.js';
import type { Remedy } from '../migrate/schema-compat.js';
import { copySchema } from '../migrate/schema-copy.js';
import { listTopics } from '../pipeline/kafka-admin.js';
import { withDatabase } from './backup-restore.js';

export const REAL_WORLD_SQL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'schemas', 'real-world.sql');

/** The fixture's tables (schema public), as the connector's table.include.list names them. */
export const REAL_WORLD_TABLES = ['customers_rw', 'orders_rw', 'order_audit', 'documents', 'measurements', 'café_commandes', 'event_log'] as const;

const SOURCE_DB = 'rw_source';
const TARGET_DB = 'rw_target';
const TOOL_LIMIT_MS = 60_000;

export interface ScratchPair {
  /** The stack's endpoints with both databases swapped for the scratch ones (what the connector templates are filled from). */
  endpoints: StackEndpoints;
  source: SqlSession;
  target: SqlSession;
  pipeline: Pipeline;
  /** Tears the pipeline down (slot, publication, topics) and drops both scratch databases. */
  dispose(): Promise<void>;
}

/** Fresh, empty scratch databases on the source and target servers, and a Pipeline between them. */
export async function createScratchPair(endpoints: StackEndpoints, connect: ConnectClient, admin: { source: SqlSession; target: SqlSession }): Promise<ScratchPair> {
  for (const [session, db] of [[admin.source, SOURCE_DB], [admin.target, TARGET_DB]] as const) {
    await dropScratch(session, db);
    await session.query(`CREATE DATABASE ${db}`);
  }
  const swapped: StackEndpoints = {
    ...endpoints,
    source: { ...endpoints.source, database: SOURCE_DB, url: withDatabase(endpoints.source.url, SOURCE_DB) },
    target: { ...endpoints.target, database: TARGET_DB, url: withDatabase(endpoints.target.url, TARGET_DB) },
  };
  const source = await openSession(swapped.source.url, 'source (rw_source)', { connections: 2 });
  const target = await openSession(swapped.target.url, 'target (rw_target)', { connections: 2 });
  const pipeline = new Pipeline(swapped, connect, source);
  return {
    endpoints: swapped,
    source,
    target,
    pipeline,
    async dispose() {
      await pipeline.teardown().catch(() => undefined);
      await source.close().catch(() => undefined);
      await target.close().catch(() => undefined);
      await dropScratch(admin.source, SOURCE_DB);
      await dropScratch(admin.target, TARGET_DB);
    },
  };
}

async function dropScratch(session: SqlSession, db: string): Promise<void> {
  // A logical slot pins its database: drop any slot left on it by an aborted run first.
  await session.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [db]);
  await session.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
}

/** Loads the fixture (types, tables, triggers, seed rows) into the scratch source. */
export async function loadRealWorldSchema(source: SqlSession): Promise<void> {
  await source.query(readFileSync(REAL_WORLD_SQL, 'utf8'));
}

export interface Settled {
  settled: boolean;
  /** The source WAL position after the last write, and how far the slot had confirmed. */
  walLsn: string;
  slotConfirmed: string | null;
  sink: CaughtUp;
  seconds: number;
  reason?: string;
}

/**
 * Waits until every change written to the source so far has passed both connectors: the slot has confirmed the WAL
 * position read now (the source task's records are acknowledged by Kafka), then the sink group's committed offsets
 * reach the end of every topic that exists for the pipeline (the sink has written, or dead-lettered, each record).
 */
export async function awaitPipelineSettled(
  source: SqlSession,
  pipeline: Pipeline,
  readLag: () => Promise<GroupLag>,
  listTopics: () => Promise<string[]>,
  connect: ConnectClient,
  limitMs: number,
): Promise<Settled> {
  const started = Date.now();
  // A write to a captured table after the ones awaited: the slot only confirms positions of changes it carried.
  await source.query(`INSERT INTO ${DEFAULT_HEARTBEAT_TABLE} (id, marker, written_at) VALUES ('settle', $1, now()) ON CONFLICT (id) DO UPDATE SET marker = EXCLUDED.marker, written_at = EXCLUDED.written_at`, [String(started)]);
  const [{ lsn }] = (await source.query('SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
  let confirmed: string | null = null;
  try {
    await pollUntil({ what: `slot ${pipeline.names.slotName} to confirm WAL position ${lsn}`, limitMs, intervalMs: 250 }, async () => {
      const rows = await source.query('SELECT confirmed_flush_lsn::text AS confirmed, (confirmed_flush_lsn >= $2::pg_lsn)::text AS past FROM pg_replication_slots WHERE slot_name = $1', [pipeline.names.slotName, lsn]);
      confirmed = rows[0]?.confirmed ?? null;
      return { done: rows[0]?.past === 'true', seen: `confirmed_flush_lsn ${confirmed ?? '(no slot)'}` };
    });
  } catch (error) {
    const sink: CaughtUp = { caughtUp: false, seconds: 0, lag: await readLag(), reason: 'not waited for: the source slot had not confirmed the writes' };
    return { settled: false, walLsn: lsn, slotConfirmed: confirmed, sink, seconds: (Date.now() - started) / 1000, reason: (error as Error).message };
  }
  const prefix = `${pipeline.names.topicPrefix}.`;
  const topics = (await listTopics()).filter((t) => t.startsWith(prefix));
  const sinkFailed = async () => {
    const status = await connect.getConnectorStatus(pipeline.sinkName);
    const failed = status.tasks.find((t) => t.state === 'FAILED');
    return failed ? `sink task ${failed.id} FAILED: ${causeOf(failed.trace)}` : undefined;
  };
  const sink = await awaitGroupCaughtUp(readLag, topics, Math.max(1_000, limitMs - (Date.now() - started)), sinkFailed);
  return { settled: sink.caughtUp, walLsn: lsn, slotConfirmed: confirmed, sink, seconds: (Date.now() - started) / 1000, ...(sink.reason ? { reason: sink.reason } : {}) };
}

/** The innermost "Caused by" line of a Connect task trace: the database's own error, usually. */
export function causeOf(trace: string | undefined): string {
  const causes = (trace ?? '').split('\n').filter((l) => l.startsWith('Caused by:'));
  return (causes.at(-1) ?? trace?.split('\n')[0] ?? '(no trace)').replace(/^Caused by: /, '').slice(0, 600);
}

/** Changes written while the pipeline streams: one or more per table and per flagged object (an update that leaves
 * the TOASTed body unchanged, rows into both partitions, an interval with months and days, a new enum value). */
export const STREAMED_CHANGES = `
INSERT INTO customers_rw (email, full_name) VALUES ('neu@example.com', 'Neu Kunde ß');
INSERT INTO orders_rw (customer_id, status, net_amount, tax_rate) VALUES (4, 'paid', 10.00, 0.1000);
UPDATE orders_rw SET status = 'shipped', net_amount = net_amount + 1 WHERE order_id = 1;
DELETE FROM orders_rw WHERE order_id = 2;
INSERT INTO documents VALUES ('00000000-0000-0000-0000-000000000005', '{streamed,"𝄞"}', '{7}', 'streamed', to_tsvector('simple', 'streamed row'), '\\xdeadbeef', 1e-20, 1.5, '2026-03-01', '01:02:03.456789', '1 mon -2 days 03:00:00', '{"s": 1}', '{"s": [1, "two"]}');
UPDATE documents SET tags = array_append(tags, 'gamma') WHERE document_id = '00000000-0000-0000-0000-000000000004';
UPDATE documents SET weight = 2.718281828459045235360287471352662497757 WHERE document_id = '00000000-0000-0000-0000-000000000001';
INSERT INTO measurements VALUES (5, '2026-02-25 00:00:00+00', 'west', 3.3), (6, '2026-01-02 00:00:00+00', 'east', 4.4);
UPDATE measurements SET reading = 99 WHERE measurement_id = 1;
INSERT INTO "café_commandes" VALUES (4, 'moyenne', 3.00);
UPDATE "café_commandes" SET "größe" = 'très grande' WHERE "numéro" = 1;
INSERT INTO event_log VALUES ('2026-03-01 00:00:00+00', 'streamed');
`;

const PUBLICATION = 'rw_pub';
const SETTLE_LIMIT_MS = 60_000;

export interface RehearsalFixtures {
  endpoints: StackEndpoints;
  connect: ConnectClient;
  pgTools: PostgresTools;
  /** Sessions on the stack's own databases (to create and drop the scratch ones). */
  source: SqlSession;
  target: SqlSession;
  kafka: { sinkLag(connector: string): Promise<GroupLag> };
}

export interface RehearsalResult {
  /** Per-table comparison after the snapshot, the streamed changes, the by-hand copies and the cutover steps. */
  report: ReconcileReport;
  snapshot: Settled;
  streaming: Settled;
  /** The sink task's failure, when it failed (its innermost cause). */
  sinkFailure?: string;
  sequences: { sequence: string; source: string | null; target: string | null }[];
  tablesInPipeline: string[];
  connectorSettings: { source: Record<string, string>; sinkUrl: string };
}

/**
 * One rehearsal of the migration on the real-world schema with the given plan: load the fixture, apply the
 * source-side fixes, copy the schema with pg_dump -s, apply the target-side fixes, run both connectors, stream changes,
 * copy the tables the plan moves by hand, carry sequences and run the cutover SQL, then compare every table value by
 * value. Scratch databases and the pipeline are removed afterwards, whatever happened.
 */
export async function rehearseRealWorldSchema(fx: RehearsalFixtures, plan: Required<Remedy>, options: { extraChanges?: string; sinkMayFail?: boolean } = {}): Promise<RehearsalResult> {
  const pair = await createScratchPair(fx.endpoints, fx.connect, { source: fx.source, target: fx.target });
  try {
    await loadRealWorldSchema(pair.source);
    for (const sql of plan.sourceSql) await pair.source.query(sql);
    const tables = REAL_WORLD_TABLES.filter((t) => !plan.moveByHand.includes(`public.${t}`));
    const source: Record<string, string> = { ...plan.sourceConnector };
    for (const [key, values] of Object.entries(plan.sourceConnectorLists)) source[key] = values.join(',');
    if (plan.publishViaPartitionRoot) {
      await pair.source.query(`CREATE PUBLICATION ${PUBLICATION} FOR TABLE ${tables.map((t) => `public.${quoteIdent(t)}`).join(', ')} WITH (publish_via_partition_root = true)`);
      source['publication.name'] = PUBLICATION;
    }
    await copySchema(pair.endpoints.source, pair.endpoints.target, { pgDump: fx.pgTools.pgDump, psql: fx.pgTools.psql, limitMs: TOOL_LIMIT_MS });
    for (const sql of plan.targetSql) await pair.target.query(sql);
    const v = connectorVariables(pair.endpoints);
    const params = new URLSearchParams(plan.sinkUrlParameters).toString().replace(/\+/g, '%20');
    const sinkUrl = `jdbc:postgresql://${v.TARGET_HOST}:${v.TARGET_PORT}/${v.TARGET_DATABASE}${params ? `?${params}` : ''}`;
    await pair.pipeline.deploy({ tables, source, sink: { 'connection.url': sinkUrl }, sinkMayFail: options.sinkMayFail });

    const readLag = () => fx.kafka.sinkLag(pair.pipeline.sinkName);
    const topics = () => listTopics(fx.endpoints.kafka.bootstrap);
    const snapshot = await awaitPipelineSettled(pair.source, pair.pipeline, readLag, topics, fx.connect, SETTLE_LIMIT_MS);
    await pair.source.query(STREAMED_CHANGES + (options.extraChanges ?? ''));
    const streaming = snapshot.settled ? await awaitPipelineSettled(pair.source, pair.pipeline, readLag, topics, fx.connect, SETTLE_LIMIT_MS) : snapshot;

    // Cutover: writes have stopped (the rehearsal wrote its last change above) and the pipeline drained.
    for (const table of plan.moveByHand) await copyTableByHand(fx.pgTools, pair.endpoints.source.url, pair.endpoints.target.url, table);
    for (const sequence of plan.carrySequences) {
      const [row] = await pair.source.query(`SELECT last_value::text AS last_value, is_called::text AS is_called FROM ${sequence}`);
      await pair.target.query(`SELECT setval('${sequence}', ${row!.last_value}, ${row!.is_called})`);
    }
    for (const sql of plan.cutoverTargetSql) await pair.target.query(sql);

    const report = await reconcileSessions(pair.source, pair.target, REAL_WORLD_TABLES.map((t) => ({ table: `public.${t}` })), { maxDiffRows: 50 });
    const sequences = await compareSequences(pair.source, pair.target);
    const status = await fx.connect.getConnectorStatus(pair.pipeline.sinkName);
    const failed = status.tasks.find((t) => t.state === 'FAILED');
    return { report, snapshot, streaming, ...(failed ? { sinkFailure: causeOf(failed.trace) } : {}), sequences, tablesInPipeline: tables, connectorSettings: { source, sinkUrl } };
  } finally {
    await pair.dispose();
  }
}

/** The runbook's by-hand copy of one table: pg_dump --data-only --table=<table> from the source, into the target with psql. */
export async function copyTableByHand(tools: PostgresTools, sourceUrl: string, targetUrl: string, table: string): Promise<void> {
  const dump = await runCommand(tools.pgDump, ['--data-only', `--table=${table}`, `--dbname=${sourceUrl}`], { limitMs: TOOL_LIMIT_MS });
  const load = await runCommand(tools.psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', `--dbname=${targetUrl}`], { input: dump.stdout, limitMs: TOOL_LIMIT_MS, reject: false });
  if (load.exitCode !== 0) throw new Error(`${load.command} failed loading ${table}: ${stderrAndWhy(load)}`);
}

/** Every sequence's last_value on both sides (null on a side where it was never called). */
export async function compareSequences(source: SqlSession, target: SqlSession): Promise<{ sequence: string; source: string | null; target: string | null }[]> {
  const sql = "SELECT schemaname || '.' || sequencename AS sequence, last_value::text AS last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1";
  const [s, t] = [await source.query(sql), await target.query(sql)];
  return s.map((r) => ({ sequence: r.sequence!, source: r.last_value, target: t.find((x) => x.sequence === r.sequence)?.last_value ?? null }));
}

const quoteIdent = (s: string) => (/^[a-z_][a-z0-9_]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);

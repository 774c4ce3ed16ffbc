/**
 * The migration's state and event log, in a control schema of a real database (by default the target's, schema
 * runbook_harness_migrate), so `migrate status` from another shell or machine sees the same migration.
 *
 *   migrations  id, state, source/target identity (no passwords), tables, pipeline names, created/updated
 *   events      migration id, at, actor (user@host pid), verb, step, outcome, detail (jsonb)
 *
 * Exclusive verbs hold a session-level PostgreSQL advisory lock keyed by the migration id for as long as they run;
 * a second one is refused with the holder named (its pid, application_name and since when), read from pg_locks.
 */
import type { PipelineFixes } from './fixes.js';
import os from 'node:os';
import type pg from 'pg';
import { HarnessError } from '../core/errors.js';
import { connectPostgres } from '../db/postgres.js';
import { isMigrationState, transition, TransitionError, type MigrationState } from './state-machine.js';

export const CONTROL_SCHEMA = 'runbook_harness_migrate';
/** First half of the two-int4 advisory lock key ('RHMG'); the second half is hashtext(migration id). */
export const LOCK_CLASS = 0x52484d47;

export interface DatabaseIdentity {
  host: string;
  port: number;
  database: string;
  user: string;
  /** pg_control_system().system_identifier when the role may read it: tells two servers on one address apart. */
  systemIdentifier: string | null;
}

/** Names the pipeline of one migration uses (recorded at init; later verbs read them from here). */
export interface MigrationPipeline {
  sourceConnector: string;
  sinkConnector: string;
  topicPrefix: string;
  slotName: string;
  publicationName: string;
  /** schema.table of the Debezium signal table in the source (signal.data.collection). */
  signalTable: string;
  /** The heartbeat table the lag probe writes (source) and reads (target). */
  heartbeatTable: string;
  schemas: string[];
  /** What `init --apply-fixes` applied for the schema assessment's findings; every later verb's connectors carry it. */
  fixes?: PipelineFixes;
}

export interface Migration {
  id: string;
  state: MigrationState;
  source: DatabaseIdentity;
  target: DatabaseIdentity;
  /** schema.table of every migrated table (the signal and heartbeat tables are not among them). */
  tables: string[];
  pipeline: MigrationPipeline;
  createdAt: string;
  updatedAt: string;
}

export type EventOutcome = 'ok' | 'failed' | 'refused' | 'started' | 'info';

export interface MigrationEvent {
  seq?: number;
  migrationId: string;
  at?: string;
  actor: string;
  verb: string;
  step: string;
  outcome: EventOutcome;
  detail: Record<string, unknown>;
}

export interface LockHolder {
  pid: number;
  applicationName: string;
  clientAddr: string | null;
  since: string | null;
}

/** user@host pid N: who did it, in every event and in the lock holder's application_name. */
export function currentActor(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return `${user}@${os.hostname()} pid ${process.pid}`;
}

const SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS ${CONTROL_SCHEMA};
CREATE TABLE IF NOT EXISTS ${CONTROL_SCHEMA}.migrations (
  id          text PRIMARY KEY,
  state       text NOT NULL,
  source      jsonb NOT NULL,
  target      jsonb NOT NULL,
  tables      jsonb NOT NULL,
  pipeline    jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${CONTROL_SCHEMA}.events (
  seq           bigserial PRIMARY KEY,
  migration_id  text NOT NULL REFERENCES ${CONTROL_SCHEMA}.migrations (id) ON DELETE CASCADE,
  at            timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor         text NOT NULL,
  verb          text NOT NULL,
  step          text NOT NULL,
  outcome       text NOT NULL,
  detail        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS events_migration_at ON ${CONTROL_SCHEMA}.events (migration_id, seq);
`;

/** The SQL that names who holds a migration's lock; exported so a test can watch for the holder itself. */
export const LOCK_HOLDER_SQL = `
SELECT a.pid::text AS pid, a.application_name, host(a.client_addr) AS client_addr, a.backend_start::text AS since
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid = ${LOCK_CLASS}::oid AND l.objid = hashtext($1)::oid AND l.objsubid = 2`;

interface MigrationRow {
  id: string;
  state: string;
  source: DatabaseIdentity;
  target: DatabaseIdentity;
  tables: string[];
  pipeline: MigrationPipeline;
  created_at: Date;
  updated_at: Date;
}

function toMigration(row: MigrationRow): Migration {
  if (!isMigrationState(row.state)) throw new HarnessError(`migration ${row.id} has an unknown state '${row.state}' in ${CONTROL_SCHEMA}.migrations; fix the row or re-init under a new id`);
  return { id: row.id, state: row.state, source: row.source, target: row.target, tables: row.tables, pipeline: row.pipeline, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

export class ControlStore {
  private constructor(
    private readonly client: pg.Client,
    /** Redacted, for messages. */
    readonly endpoint: string,
    readonly actor: string,
  ) {}

  /** Connects, names the session after the verb and actor (so a lock holder can be named), creates the schema if missing. */
  static async open(url: string, endpoint: string, verb: string, actor = currentActor()): Promise<ControlStore> {
    let client: pg.Client;
    try {
      client = await connectPostgres(url);
    } catch (error) {
      throw new HarnessError(`control database (the target unless --control-url / MIGRATE_CONTROL_URL): ${(error as Error).message}`);
    }
    const store = new ControlStore(client, endpoint, actor);
    try {
      await client.query(`SELECT set_config('application_name', $1, false)`, [`rh migrate ${verb} ${actor}`.slice(0, 63)]);
      // Two verbs starting at once would race on CREATE ... IF NOT EXISTS: serialise the schema creation.
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_CLASS]);
      await client.query(SCHEMA_SQL);
      await client.query('COMMIT');
    } catch (error) {
      await client.end().catch(() => undefined);
      throw new HarnessError(`control database ${endpoint}: cannot create schema ${CONTROL_SCHEMA}: ${(error as Error).message}; the role needs CREATE on the database, or pass --control-url to another one`);
    }
    return store;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  async create(migration: Omit<Migration, 'createdAt' | 'updatedAt' | 'state'>, verb: string): Promise<Migration> {
    const existing = await this.find(migration.id);
    if (existing) throw new HarnessError(`migration ${migration.id} already exists (state ${existing.state}, created ${existing.createdAt}); pick a new --migration-id (e.g. ${migration.id}-retry) or see 'migrate status --migration-id ${migration.id}'`);
    const rows = await this.client.query<MigrationRow>(
      `INSERT INTO ${CONTROL_SCHEMA}.migrations (id, state, source, target, tables, pipeline) VALUES ($1, 'initialized', $2, $3, $4, $5) RETURNING *`,
      [migration.id, JSON.stringify(migration.source), JSON.stringify(migration.target), JSON.stringify(migration.tables), JSON.stringify(migration.pipeline)],
    );
    await this.record({ migrationId: migration.id, actor: this.actor, verb, step: 'state', outcome: 'ok', detail: { from: null, to: 'initialized' } });
    return toMigration(rows.rows[0]!);
  }

  async find(id: string): Promise<Migration | undefined> {
    const rows = await this.client.query<MigrationRow>(`SELECT * FROM ${CONTROL_SCHEMA}.migrations WHERE id = $1`, [id]);
    return rows.rows[0] ? toMigration(rows.rows[0]) : undefined;
  }

  /** The migration, or a one-line error naming the known ids. */
  async get(id: string): Promise<Migration> {
    const found = await this.find(id);
    if (found) return found;
    const ids = (await this.client.query<{ id: string }>(`SELECT id FROM ${CONTROL_SCHEMA}.migrations ORDER BY created_at DESC LIMIT 10`)).rows.map((r) => r.id);
    throw new HarnessError(`no migration '${id}' in ${this.endpoint} schema ${CONTROL_SCHEMA}${ids.length ? ` (known: ${ids.join(', ')})` : ' (none recorded yet)'}; start one with 'runbook-harness migrate init --migration-id ${id}'`);
  }

  /** Moves the migration to `to` if the state machine allows it from its current state, and records the change. */
  async setState(id: string, to: MigrationState, verb: string, detail: Record<string, unknown> = {}): Promise<Migration> {
    await this.client.query('BEGIN');
    try {
      const rows = await this.client.query<MigrationRow>(`SELECT * FROM ${CONTROL_SCHEMA}.migrations WHERE id = $1 FOR UPDATE`, [id]);
      if (!rows.rows[0]) throw new HarnessError(`no migration '${id}' in ${this.endpoint}`);
      const from = toMigration(rows.rows[0]).state;
      if (from !== to) transition(from, to);
      const updated = await this.client.query<MigrationRow>(`UPDATE ${CONTROL_SCHEMA}.migrations SET state = $2, updated_at = now() WHERE id = $1 RETURNING *`, [id, to]);
      await this.insertEvent({ migrationId: id, actor: this.actor, verb, step: 'state', outcome: 'ok', detail: { from, to, ...detail } });
      await this.client.query('COMMIT');
      return toMigration(updated.rows[0]!);
    } catch (error) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      if (error instanceof TransitionError) throw new HarnessError(`migrate ${verb} --migration-id ${id}: ${error.message}`);
      throw error;
    }
  }

  async record(event: MigrationEvent): Promise<void> {
    await this.insertEvent(event);
  }

  private async insertEvent(event: MigrationEvent): Promise<void> {
    await this.client.query(`INSERT INTO ${CONTROL_SCHEMA}.events (migration_id, actor, verb, step, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)`, [
      event.migrationId,
      event.actor,
      event.verb,
      event.step,
      event.outcome,
      JSON.stringify(event.detail),
    ]);
  }

  /** Events oldest first; `last` keeps only the newest N. */
  async events(id: string, options: { last?: number; verb?: string } = {}): Promise<MigrationEvent[]> {
    const rows = await this.client.query<{ seq: string; migration_id: string; at: Date; actor: string; verb: string; step: string; outcome: EventOutcome; detail: Record<string, unknown> }>(
      `SELECT * FROM (SELECT * FROM ${CONTROL_SCHEMA}.events WHERE migration_id = $1 AND ($2::text IS NULL OR verb = $2) ORDER BY seq DESC LIMIT $3) e ORDER BY seq`,
      [id, options.verb ?? null, options.last ?? 1_000_000],
    );
    return rows.rows.map((r) => ({ seq: Number(r.seq), migrationId: r.migration_id, at: r.at.toISOString(), actor: r.actor, verb: r.verb, step: r.step, outcome: r.outcome, detail: r.detail }));
  }

  /** Who holds the migration's exclusive lock right now (another session), if anyone. */
  async lockHolder(id: string): Promise<LockHolder | undefined> {
    const rows = await this.client.query<{ pid: string; application_name: string; client_addr: string | null; since: string | null }>(LOCK_HOLDER_SQL, [id]);
    const row = rows.rows[0];
    return row ? { pid: Number(row.pid), applicationName: row.application_name, clientAddr: row.client_addr, since: row.since } : undefined;
  }

  /**
   * Takes the migration's exclusive lock for this session (released when the session ends, even if the process
   * dies). Refused with a one-line error naming the holder when another session has it.
   */
  async lockExclusive(id: string, verb: string): Promise<void> {
    const got = await this.client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [LOCK_CLASS, id]);
    if (got.rows[0]?.locked) return;
    const holder = await this.lockHolder(id);
    const who = holder ? `'${holder.applicationName}' (backend pid ${holder.pid}${holder.clientAddr ? ` from ${holder.clientAddr}` : ''}, connected since ${holder.since})` : 'another session (it released the lock as we looked)';
    if (await this.find(id)) await this.record({ migrationId: id, actor: this.actor, verb, step: 'lock', outcome: 'refused', detail: { holder: holder ?? null } }).catch(() => undefined);
    throw new HarnessError(`migration ${id} is busy: ${who} holds its lock; wait until it finishes (see 'migrate status --migration-id ${id}') or stop that process`);
  }

  async unlockExclusive(id: string): Promise<void> {
    await this.client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, id]).catch(() => undefined);
  }

  /** Raw query for the verbs that read the control database itself (none write outside the two tables). */
  query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.client.query<R>(sql, params);
  }
}

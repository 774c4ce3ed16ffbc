/**
 * Heartbeat lag: write a marker into a heartbeat row in the source, time until the target shows it. The heartbeat
 * table must be captured by the source connector and written by the sink like any other table.
 * Resolution is the poll interval; the start is taken when the source acknowledged the commit.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { dialectFor, parseTableName } from '../reconcile/table-reconcile.js';
import type { SqlSession } from '../reconcile/sql-session.js';
import { lagStats, type LagStats } from './timeline-stats.js';

export const DEFAULT_HEARTBEAT_TABLE = 'runbook_harness_heartbeat';
/** The single row every probe updates, so the table stays one row long. */
const HEARTBEAT_ROW_ID = 'runbook-harness';

export interface HeartbeatOptions {
  source: SqlSession;
  target: SqlSession;
  /** Source table (default runbook_harness_heartbeat in the default schema). */
  table?: string;
  /** Target table name if the sink renames it. */
  targetTable?: string;
  /** How long one probe waits for its marker before it counts as timed out. */
  timeoutMs?: number;
  pollIntervalMs?: number;
}

export interface HeartbeatSample {
  marker: string;
  /** ISO time the source acknowledged the write. */
  writtenAt: string;
  /** Seconds until the target showed the marker; for a timed-out probe, the time waited (a lower bound). */
  lagSeconds: number;
  timedOut: boolean;
  /** What the target showed last (marker or null), for the timeout message. */
  lastSeen: string | null;
  resolutionSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function names(options: HeartbeatOptions) {
  const sd = dialectFor(options.source);
  const td = dialectFor(options.target);
  const s = parseTableName(options.table ?? DEFAULT_HEARTBEAT_TABLE, sd.defaultSchema);
  const t = parseTableName(options.targetTable ?? s.name, td.defaultSchema);
  return { sourceRef: sd.tableRef(s), targetRef: td.tableRef(t), sd, td, s, t };
}

/** Creates the heartbeat table in the source (idempotent). The sink creates the target side. */
export async function ensureHeartbeatTable(options: Pick<HeartbeatOptions, 'source' | 'table'>): Promise<void> {
  const { sourceRef, s } = names({ ...options, target: options.source });
  if (options.source.dialect === 'postgres') {
    await options.source.query(`CREATE TABLE IF NOT EXISTS ${sourceRef} (id text PRIMARY KEY, marker text NOT NULL, written_at timestamptz NOT NULL DEFAULT now())`);
  } else {
    await options.source.query(
      `IF OBJECT_ID(N'${s.schema}.${s.name}', N'U') IS NULL CREATE TABLE ${sourceRef} (id nvarchar(64) NOT NULL PRIMARY KEY, marker nvarchar(64) NOT NULL, written_at datetime2(6) NOT NULL DEFAULT SYSUTCDATETIME())`,
    );
  }
}

/** Both sides have the heartbeat table (the CLI probes only then). */
export async function heartbeatTablesExist(options: HeartbeatOptions): Promise<{ source: boolean; target: boolean }> {
  const { sd, td, s, t } = names(options);
  const [si, ti] = await Promise.all([sd.introspect(options.source, s), td.introspect(options.target, t)]);
  return { source: Boolean(si), target: Boolean(ti) };
}

async function writeMarker(options: HeartbeatOptions, marker: string): Promise<void> {
  const { sourceRef } = names(options);
  if (options.source.dialect === 'postgres') {
    await options.source.query(
      `INSERT INTO ${sourceRef} (id, marker, written_at) VALUES ($1, $2, now()) ON CONFLICT (id) DO UPDATE SET marker = EXCLUDED.marker, written_at = EXCLUDED.written_at`,
      [HEARTBEAT_ROW_ID, marker],
    );
  } else {
    await options.source.query(
      `UPDATE ${sourceRef} SET marker = @p2, written_at = SYSUTCDATETIME() WHERE id = @p1; IF @@ROWCOUNT = 0 INSERT INTO ${sourceRef} (id, marker) VALUES (@p1, @p2)`,
      [HEARTBEAT_ROW_ID, marker],
    );
  }
}

async function readMarker(options: HeartbeatOptions): Promise<string | null> {
  const { targetRef } = names(options);
  const param = options.target.dialect === 'postgres' ? '$1' : '@p1';
  const rows = await options.target.query(`SELECT marker FROM ${targetRef} WHERE id = ${param}`, [HEARTBEAT_ROW_ID]);
  return rows[0]?.marker ?? null;
}

/** One probe: never throws on a timeout (that is a sample with timedOut=true); throws only on a database error. */
export async function probeHeartbeat(options: HeartbeatOptions): Promise<HeartbeatSample> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const poll = options.pollIntervalMs ?? 50;
  const marker = randomUUID();
  await writeMarker(options, marker);
  const t0 = performance.now();
  const writtenAt = new Date().toISOString();
  let lastSeen: string | null = null;
  for (;;) {
    lastSeen = await readMarker(options).catch(() => lastSeen); // the sink may not have created the table yet
    const elapsed = (performance.now() - t0) / 1000;
    if (lastSeen === marker) return { marker, writtenAt, lagSeconds: elapsed, timedOut: false, lastSeen, resolutionSeconds: poll / 1000 };
    if (elapsed * 1000 >= timeoutMs) return { marker, writtenAt, lagSeconds: elapsed, timedOut: true, lastSeen, resolutionSeconds: poll / 1000 };
    await sleep(poll);
  }
}

export interface HeartbeatTimeline extends LagStats {
  samples: HeartbeatSample[];
  timeouts: number;
  /** One line per timed-out probe: what it waited for, what it last saw, for how long. */
  problems: string[];
}

export function timelineOf(samples: HeartbeatSample[], options: Pick<HeartbeatOptions, 'table'> = {}): HeartbeatTimeline {
  const timeouts = samples.filter((s) => s.timedOut);
  return {
    ...lagStats(samples.map((s) => s.lagSeconds)),
    samples,
    timeouts: timeouts.length,
    problems: timeouts.map(
      (s) => `heartbeat marker ${s.marker} (written ${s.writtenAt} to ${options.table ?? DEFAULT_HEARTBEAT_TABLE}) not seen in the target after ${s.lagSeconds.toFixed(1)} s; last seen: ${s.lastSeen ?? 'no heartbeat row'}`,
    ),
  };
}

/**
 * Samples continuously: one probe, then the next one interval after the previous started (probes never overlap),
 * until `durationMs` has passed or `signal` aborts. Timed-out probes enter the stats with the time they waited.
 */
export async function sampleHeartbeatLag(options: HeartbeatOptions & { durationMs: number; intervalMs?: number; signal?: AbortSignal }): Promise<HeartbeatTimeline> {
  const interval = options.intervalMs ?? 1_000;
  const end = performance.now() + options.durationMs;
  const samples: HeartbeatSample[] = [];
  while (performance.now() < end && !options.signal?.aborted) {
    const started = performance.now();
    samples.push(await probeHeartbeat(options));
    const wait = interval - (performance.now() - started);
    if (wait > 0 && performance.now() + wait < end) await sleep(wait);
  }
  return timelineOf(samples, options);
}

/** Background sampler for scenarios: start before a fault, stop after, read the timeline. */
export function startHeartbeatSampler(options: HeartbeatOptions & { intervalMs?: number; maxDurationMs?: number }): { stop(): Promise<HeartbeatTimeline> } {
  const controller = new AbortController();
  const running = sampleHeartbeatLag({ ...options, durationMs: options.maxDurationMs ?? 3_600_000, signal: controller.signal });
  return {
    async stop() {
      controller.abort();
      return running;
    },
  };
}

export type { LagStats };

/**
 * Lag probes on two real PostgreSQL instances. No CDC pipeline here: a small copier stands in for it, copying the
 * heartbeat row from source to target after a chosen delay, so the measured lag has a known floor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type SqlSession } from '../../harness/verify/reconcile/index.js';
import { ensureHeartbeatTable, lagSloVerdict, lagStats, percentile, probeHeartbeat, replicationSlotLag, sampleHeartbeatLag, sinkConsumerLag } from '../../harness/verify/lag.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';

let sourceDb: PostgresInstance;
let targetDb: PostgresInstance;
let source: SqlSession;
let target: SqlSession;

beforeAll(async () => {
  [sourceDb, targetDb] = await Promise.all([startPostgresInstance(), startPostgresInstance()]);
  [source, target] = await Promise.all([openSession(sourceDb.url, 'source'), openSession(targetDb.url, 'target')]);
  await ensureHeartbeatTable({ source });
  await ensureHeartbeatTable({ source }); // idempotent
  await targetDb.sql('CREATE TABLE runbook_harness_heartbeat (id text PRIMARY KEY, marker text NOT NULL, written_at timestamptz NOT NULL)');
});
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
  await Promise.all([sourceDb?.stop(), targetDb?.stop()]);
});

/** Copies the heartbeat row every 25 ms, each change delayed by delayMs: a pipeline with a known lag. */
function startCopier(delayMs: number): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await sourceDb.sql('SELECT id, marker, written_at FROM runbook_harness_heartbeat');
      if (rows[0]) {
        await new Promise((r) => setTimeout(r, delayMs));
        await targetDb.sql(
          'INSERT INTO runbook_harness_heartbeat VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET marker = EXCLUDED.marker, written_at = EXCLUDED.written_at',
          [rows[0].id, rows[0].marker, rows[0].written_at],
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe('heartbeat lag', () => {
  it('measures the lag of a pipeline that delays each change by 300 ms', async () => {
    const copier = startCopier(300);
    try {
      const timeline = await sampleHeartbeatLag({ source, target, durationMs: 2_500, intervalMs: 400, pollIntervalMs: 10, timeoutMs: 5_000 });
      expect(timeline.count).toBeGreaterThanOrEqual(3);
      expect(timeline.timeouts).toBe(0);
      expect(timeline.p50).toBeGreaterThanOrEqual(0.28);
      expect(timeline.max).toBeLessThan(3); // generous: the machine may be shared; the floor above is the point
      expect(timeline.p50).toBeLessThanOrEqual(timeline.p95);
      expect(timeline.p95).toBeLessThanOrEqual(timeline.max);
      expect(lagSloVerdict(timeline, { metric: 'lag', comparator: '<', value: 5, unit: 'seconds' })).toMatchObject({ slo: 'lag', pass: true, unit: 'seconds', measured: timeline.p95 });
      expect(lagSloVerdict(timeline, { metric: 'lag', comparator: '<', value: 0.2, unit: 'seconds' }).pass).toBe(false);
    } finally {
      await copier.stop();
    }
  });

  it('reports a probe that is never replicated as timed out, with what it last saw', async () => {
    const before = (await targetDb.sql('SELECT marker FROM runbook_harness_heartbeat')).rows[0]?.marker;
    const sample = await probeHeartbeat({ source, target, timeoutMs: 300, pollIntervalMs: 20 });
    expect(sample.timedOut).toBe(true);
    expect(sample.lagSeconds).toBeGreaterThanOrEqual(0.3);
    expect(sample.lastSeen).toBe(before ?? null);
    expect(sample.lastSeen).not.toBe(sample.marker);
  });

  it('computes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(lagStats(values)).toEqual({ count: 100, p50: 50, p95: 95, max: 100 });
    expect(percentile([3], 95)).toBe(3);
    expect(Number.isNaN(lagStats([]).p95)).toBe(true);
  });
});

describe('replication slot lag', () => {
  it('reports the WAL a logical slot holds back, in bytes, and clears once confirmed', async () => {
    await sourceDb.sql("SELECT pg_create_logical_replication_slot('harness_test_slot', 'pgoutput')");
    await sourceDb.sql('CREATE TABLE slot_load (id int PRIMARY KEY, v text); INSERT INTO slot_load SELECT g, repeat(\'x\', 200) FROM generate_series(1, 20000) g');
    const [held] = await replicationSlotLag(source, 'harness_test_slot');
    expect(held).toMatchObject({ slot: 'harness_test_slot', plugin: 'pgoutput', active: false });
    expect(held!.unconfirmedBytes).toBeGreaterThan(4_000_000);
    await sourceDb.sql("SELECT pg_replication_slot_advance('harness_test_slot', pg_current_wal_lsn())");
    const [advanced] = await replicationSlotLag(source, 'harness_test_slot');
    expect(advanced!.unconfirmedBytes).toBeLessThan(held!.unconfirmedBytes);
    expect(advanced!.unconfirmedBytes).toBeLessThan(1_000);
    expect(await replicationSlotLag(source, 'no_such_slot')).toEqual([]);
    await sourceDb.sql("SELECT pg_drop_replication_slot('harness_test_slot')");
  });
});

describe('sink consumer lag', () => {
  it('returns an explained error instead of throwing when Kafka is not reachable', async () => {
    const lag = await sinkConsumerLag('127.0.0.1:1', 'postgresql-sink');
    expect(lag.group).toBe('connect-postgresql-sink');
    expect('error' in lag && lag.error).toMatch(/consumer (lag unavailable|group connect-postgresql-sink at 127\.0\.0\.1:1)/);
  }, 60_000);
});

/** The lag command end to end on two PostgreSQL instances (no Kafka here: the consumer part reports why). */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../harness/core/subprocess.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';

let source: PostgresInstance;
let target: PostgresInstance;
let stateDir: string;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgresInstance(), startPostgresInstance()]);
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'rh-state-'));
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

function lag(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(process.execPath, ['bin/runbook-harness.js', 'lag', ...args], { env: { RUNBOOK_HARNESS_STATE_DIR: stateDir }, reject: false }).then((r) => ({ code: r.exitCode ?? 2, stdout: r.stdout, stderr: r.stderr }));
}
const urls = () => ['--source-url', source.url, '--target-url', target.url, '--bootstrap', '127.0.0.1:1'];

describe('runbook-harness lag', () => {
  it('reports slot bytes and explains a skipped heartbeat and an unreachable Kafka; no heartbeat is no verdict (exit 2)', async () => {
    await source.sql("SELECT pg_create_logical_replication_slot('debezium_slot', 'pgoutput')");
    const r = await lag('--json', ...urls());
    // Not measured is not a pass: one line saying so and the remedy, after the snapshot.
    expect(r.stderr).toMatch(/^runbook-harness: lag: no verdict on the replication-lag SLO: heartbeat table runbook_harness_heartbeat missing in the source; create it .* or pass --no-heartbeat/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.code).toBe(2);
    const opted = await lag('--json', '--no-heartbeat', ...urls());
    expect(opted.code, opted.stderr).toBe(0);
    expect(JSON.parse(opted.stdout.trim()).heartbeat).toEqual({ skipped: '--no-heartbeat' });
    const snapshot = JSON.parse(r.stdout.trim());
    expect(snapshot.heartbeat.skipped).toMatch(/heartbeat table runbook_harness_heartbeat missing in the source/);
    expect(snapshot.consumer).toMatchObject({ group: 'connect-postgresql-sink', error: expect.stringMatching(/127\.0\.0\.1:1/) });
    expect(snapshot.slots).toEqual([expect.objectContaining({ slot: 'debezium_slot', active: false })]);
    expect(r.stdout).not.toContain(source.password);
  });

  it('exits 1 when the heartbeat never arrives, saying what it waited for and for how long', async () => {
    const ddl = 'CREATE TABLE runbook_harness_heartbeat (id text PRIMARY KEY, marker text NOT NULL, written_at timestamptz NOT NULL)';
    await Promise.all([source.sql(ddl), target.sql(ddl)]);
    const r = await lag('--timeout', '0.5', ...urls());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/heartbeat: 0\.\d+ s \(TIMED OUT, lower bound\)/);
    expect(r.stdout).toMatch(/FAIL Data replication lag/);
    expect(r.stdout).toMatch(/not seen in the target after 0\.\d s; last seen: no heartbeat row/);
  });

  it('exits 2 on a bad flag', async () => {
    const r = await lag('--interval', 'soon', ...urls());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^runbook-harness: lag: --interval must be a positive number, got 'soon'/);
  });
});

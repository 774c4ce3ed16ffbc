/**
 * runbooks/database-migration.md — Dashboards & Alerts: Migration Overview Dashboard.
 * The dashboard's three panels run as typed (connector health, CDC topics, replication lag) on a pipeline that
 * replicates a background workload. Each panel must show what it names and change when that thing changes:
 * a paused sink turns its health check non-zero, a table outside the migration has no CDC topic, and latency on
 * the sink's hop to the target database (Toxiproxy) puts the replication lag past the runbook's lag SLO, then
 * back under it once healed. The close-out checks that nothing was lost through the fault.
 */
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandGroups, migrationShell } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, awaitRows, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { runSql } from '../../harness/scenario/runbook-blocks.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE, ensureHeartbeatTable } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'migration-overview-dashboard');
const SQL_SERVER_SKIP = 'the section has no SQL Server commands (this runbook migrates a PostgreSQL source)';
const TABLE = 'customers';
const KEY = 'customer_id';
/** A source table the migration does not capture: the topics panel must not list it. */
const UNCAPTURED = 'not_migrated';
/** Added to every reply of the target database to the sink: a batch takes several round trips, so the lag passes the SLO. */
const TARGET_LATENCY_MS = 1_000;

/** The heartbeat lag `runbook-harness lag` prints ("heartbeat: 0.412 s"), or undefined when it printed none. */
function heartbeatSeconds(stdout: string): number | undefined {
  const m = /heartbeat: (\d+(?:\.\d+)?) s/.exec(stdout);
  return m ? Number(m[1]) : undefined;
}

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`connector health, CDC topics and replication lag ${variant.label}`, async ({ source, target, pipeline, connect, faults, endpoints, pgTools }) => {
      const groups = commandGroups(section.blocks({ lang: 'bash' })[0]!.value);
      expect(groups.map((g) => g.title)).toEqual(['Connector health', 'CDC topics (one per table: warehouse.public.<table>)', 'Replication lag']);
      const [health, topics, lag] = groups as [(typeof groups)[0], (typeof groups)[0], (typeof groups)[0]];
      await resetSampleTables(source, target, [UNCAPTURED, DEFAULT_HEARTBEAT_TABLE]);
      await source.query(`CREATE TABLE ${UNCAPTURED} (id integer PRIMARY KEY, note text)`);
      // The lag panel probes the heartbeat once the table is in both databases: one row, so the snapshot carries it.
      await ensureHeartbeatTable({ source });
      await source.query(`INSERT INTO ${DEFAULT_HEARTBEAT_TABLE} (id, marker) VALUES ('dashboard', 'seed')`);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 10 });
      onTestFinished(async () => void (await workload.stop()));

      await runbookStep(health.title, async () => {
        expect(health.lines).toEqual([`runbook-harness connector status ${pipeline.sourceName}`, `runbook-harness connector status ${pipeline.sinkName}`]);
        for (const line of health.lines) {
          const r = await shell.run(line);
          const status = JSON.parse(r.stdout) as { connector: { state: string }; tasks: { state: string }[] };
          expect(r.exitCode, r.stderr).toBe(0);
          expect(status.connector.state).toBe('RUNNING');
          expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
        }
        // The panel must show a connector that is not running: pause the sink.
        await connect.pauseConnector(pipeline.sinkName);
        const paused = await shell.run(health.lines[1]!);
        await connect.resumeConnector(pipeline.sinkName);
        expect(paused.exitCode, 'connector status exits non-zero for a paused sink').toBe(1);
        expect((JSON.parse(paused.stdout) as { connector: { state: string } }).connector.state).toBe('PAUSED');
      });

      await runbookStep(topics.title, async () => {
        // A write to the uncaptured table, then one to a captured table: once the second is in the replica, the
        // source connector has read past the first, so a topic for it would exist by now.
        await runSql(source, `INSERT INTO ${UNCAPTURED} (id, note) VALUES (1, 'outside the migration')`, 'a write to a table outside the migration');
        await source.query(`INSERT INTO ${TABLE} (${KEY}, name) VALUES (900001, 'after the uncaptured write')`);
        expect((await awaitRows(target, `SELECT ${KEY} FROM ${TABLE} WHERE ${KEY} = 900001`, 1, lagSloMs())).ok).toBe(true);
        const r = await shell.run(topics.lines[0]!);
        expect(r.exitCode, r.stderr).toBe(0);
        const listed = r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(`${pipeline.names.topicPrefix}.`));
        await attachJson('CDC topics of this migration', listed);
        for (const table of SAMPLE_TABLES) expect(listed, `a topic for ${table}`).toContain(pipeline.topicOf(table));
        expect(listed, 'no topic for a table outside the migration').not.toContain(pipeline.topicOf(UNCAPTURED));
      });

      await runbookStep(lag.title, async () => {
        expect(lag.lines).toEqual(['runbook-harness lag']);
        const sloSeconds = lagSloMs() / 1000;
        const healthy = await pollUntil({ what: `a heartbeat lag under the ${sloSeconds} s SLO from '${lag.lines[0]}'`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          const r = await shell.run(lag.lines[0]!);
          const seconds = heartbeatSeconds(r.stdout);
          return { done: r.exitCode === 0 && seconds !== undefined && seconds < sloSeconds, seen: `exit ${r.exitCode}, heartbeat ${seconds ?? 'none'}`, value: seconds };
        });

        const fault = await faults.network.latency('target-db', TARGET_LATENCY_MS);
        let slowed: number | undefined;
        try {
          const r = await shell.run(lag.lines[0]!);
          slowed = heartbeatSeconds(r.stdout);
          await attachJson('lag under the fault', { fault: fault.description, exit: r.exitCode, heartbeatSeconds: slowed });
          expect(r.exitCode, 'lag exits 1 when the heartbeat breaks the lag SLO').toBe(1);
          expect(slowed, 'the heartbeat lag is past the SLO').toBeGreaterThan(sloSeconds);
        } finally {
          await fault.heal();
        }
        const recovered = await pollUntil({ what: `the heartbeat lag back under ${sloSeconds} s after healing`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          const r = await shell.run(lag.lines[0]!);
          const seconds = heartbeatSeconds(r.stdout);
          return { done: r.exitCode === 0 && seconds !== undefined && seconds < sloSeconds, seen: `exit ${r.exitCode}, heartbeat ${seconds ?? 'none'}`, value: seconds };
        });
        await attachJson('heartbeat lag: healthy, under the fault, healed', { healthy, slowed, recovered, sloSeconds });
      });

      await runbookStep('Nothing lost through the lag fault', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
      });
    });
  }
});

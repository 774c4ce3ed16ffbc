/**
 * runbooks/database-migration.md — Monitoring & Troubleshooting: Essential Troubleshooting Commands, Debezium
 * Connector Issues. The section's commands run as typed against a source connector that failed for a real reason:
 * its replication connection is terminated on the source (pg_terminate_backend of the slot's walsender), and the
 * connector is deployed with `errors.max.retries=0`, so it fails instead of retrying. `status` must show the
 * failure and its trace, `config` the setting behind it; the restart must bring it back with the writes made
 * while it was down; delete and recreate from config/postgres-source.json must resume from the kept offsets
 * (no new snapshot) with nothing lost.
 */
import { inject, onTestFinished } from 'vitest';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandGroups, migrationShell, writeDeployFiles } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitState } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'debezium-connector-issues');
const SQL_SERVER_SKIP = 'the section has no SQL Server commands (this runbook migrates a PostgreSQL source)';
const TABLE = 'customers';
const KEY = 'customer_id';
/** The connector fails on a lost connection instead of retrying it (Debezium's default, -1, retries forever). */
const NO_RETRIES = { 'errors.max.retries': '0' };

interface Status {
  connector: { state: string };
  tasks: { state: string; trace?: string }[];
}

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`status, config, restart, delete and recreate a failed source connector ${variant.label}`, async ({ source, target, pipeline, connect, kafka, endpoints, pgTools }) => {
      const groups = commandGroups(section.blocks({ lang: 'bash' })[0]!.value);
      expect(groups.map((g) => g.title)).toEqual([`runbook-harness connector status ${pipeline.sourceName}`, 'Restart the connector and its failed tasks', 'Delete and recreate']);
      const [inspect, restart, recreate] = groups as [(typeof groups)[0], (typeof groups)[0], (typeof groups)[0]];
      await resetSampleTables(source, target);
      const deployed = await pipeline.deploy({ tables: [...SAMPLE_TABLES], source: NO_RETRIES });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());
      // config/postgres-source.json as Configure Debezium Connector saves it, for this pipeline: secrets as ${...}.
      writeDeployFiles(shell, [deployed.source]);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 10 });
      onTestFinished(async () => void (await workload.stop()));
      const topic = pipeline.topicOf(TABLE);

      const healthy = await shell.run(inspect.lines[0]!);
      expect(healthy.exitCode, 'a healthy connector: status exits 0').toBe(0);

      await runbookStep('The source connector fails: its replication connection is terminated on the source', async () => {
        const killed = await source.query('SELECT pg_terminate_backend(active_pid)::text AS terminated FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [pipeline.names.slotName]);
        expect(killed.map((r) => r.terminated)).toEqual(['true']);
        const failed = await awaitState(connect, pipeline.sourceName, 'FAILED', CONVERGE_LIMIT_MS);
        await attachJson('source connector after the termination', failed.status);
        expect(failed.reached, `source connector not FAILED: ${JSON.stringify(failed.status.tasks.map((t) => t.state))}`).toBe(true);
      });

      await runbookStep(`Status and configuration: ${inspect.lines.join('; ')}`, async () => {
        const status = await shell.run(inspect.lines[0]!);
        const parsed = JSON.parse(status.stdout) as Status;
        expect(status.exitCode, 'status exits non-zero for a failed task').toBe(1);
        expect(parsed.tasks.map((t) => t.state)).toEqual(['FAILED']);
        expect(parsed.tasks[0]!.trace, 'the trace names the lost replication connection').toMatch(/PSQLException: Database connection failed/);
        const config = await shell.run(inspect.lines[1]!);
        expect(config.exitCode, config.stderr).toBe(0);
        const shown = JSON.parse(config.stdout) as Record<string, string>;
        expect(shown['errors.max.retries'], 'the config shows the setting that made the loss fatal').toBe('0');
        expect(shown['slot.name']).toBe(pipeline.names.slotName);
        expect(config.stdout, 'config never prints the password').not.toContain(endpoints.source.password);
      });

      await runbookStep(restart.title, async () => {
        const r = await shell.run(restart.lines[0]!);
        expect(r.exitCode, r.stderr).toBe(0);
        const status = await connect.awaitConnectorState(pipeline.sourceName, 'RUNNING');
        await attachJson('source connector after the restart', status);
        expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
        // The slot kept what the source wrote while the task was down: a write made now arrives behind it.
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        expect(drained.drained, 'writes flow again after the restart').toBe(true);
      });

      await runbookStep(recreate.title, async () => {
        const eventsBefore = await kafka.count(topic);
        for (const line of recreate.lines) {
          const r = await shell.run(line);
          expect(r.exitCode, `${line}: ${r.stderr}`).toBe(0);
        }
        const status = await shell.run(inspect.lines[0]!);
        expect(status.exitCode, status.stdout).toBe(0);
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        expect(drained.drained, 'writes flow again after the recreate').toBe(true);
        // Offsets survive a delete: the recreated connector resumes, it does not snapshot the table again.
        const events = await kafka.read(topic, { limitMs: 10_000 });
        const snapshotReads = events.slice(eventsBefore).filter((m) => /"op":"r"/.test(m.value ?? ''));
        await attachJson('events after the recreate', { eventsBefore, eventsAfter: events.length, snapshotReadsAfterRecreate: snapshotReads.length });
        expect(snapshotReads, 'no new snapshot after the recreate').toHaveLength(0);
      });

      await runbookStep('Nothing lost through the failure, the restart and the recreate', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
      });
    });
  }
});

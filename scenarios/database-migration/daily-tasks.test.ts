/**
 * runbooks/database-migration.md — Maintenance Procedures: Daily Tasks.
 * First, what the section corrects: without a replicated heartbeat table `lag` skips the heartbeat and exits 0
 * even with the sink paused; the section's SQL creates and seeds it. Then the five daily checks run as typed on a healthy migration with a background workload (all pass), then on the
 * same stack with each condition they are there to catch, made for real: a paused sink (status, lag and the
 * sink's status flag it, the source's does not), a stopped source connector (status and the source's status flag
 * it), and a record the sink cannot read (the DLQ check shows it, with its error header). Nothing is lost.
 */
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandLines, migrationShell, runStatements } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, awaitRows, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { produceRaw } from '../../harness/scenario/topic-reads.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'daily-tasks');
const SQL_SERVER_SKIP = 'the section has no SQL Server commands (this runbook migrates a PostgreSQL source)';
const TABLE = 'customers';
const KEY = 'customer_id';

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`each daily check passes on a healthy migration and flags the condition it watches ${variant.label}`, async ({ source, target, pipeline, connect, endpoints, pgTools }) => {
      const lines = commandLines(section.blocks({ lang: 'bash' })[0]!.value);
      const [status, lag, sourceStatus, sinkStatus, dlq] = lines as [string, string, string, string, string];
      expect(lines).toHaveLength(5);
      expect(dlq).toContain(`--topic ${pipeline.dlqTopic}`);
      const [heartbeatSql] = section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' }).map((b) => b.value);
      // No heartbeat table in either database yet (the pipeline captures it, empty).
      await resetSampleTables(source, target, [DEFAULT_HEARTBEAT_TABLE]);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());

      await runbookStep('Without a replicated heartbeat table, lag gives no verdict and exits 2 (with the sink paused)', async () => {
        await connect.pauseConnector(pipeline.sinkName);
        try {
          const r = await shell.run(lag);
          expect(r.stdout).toMatch(/heartbeat: skipped \(heartbeat table runbook_harness_heartbeat missing in the target/);
          expect(r.stderr).toMatch(/no verdict on the replication-lag SLO: heartbeat table runbook_harness_heartbeat missing in the target/);
          expect(r.exitCode, 'nothing judged is not a pass: why the section creates the heartbeat table').toBe(2);
        } finally {
          await connect.resumeConnector(pipeline.sinkName);
        }
      });

      await runbookStep('Create and seed the heartbeat table (the section\'s SQL)', async () => {
        await runStatements(source, heartbeatSql!, 'heartbeat table (source)');
        const arrived = await awaitRows(target, `SELECT id FROM ${DEFAULT_HEARTBEAT_TABLE} WHERE id = 'daily'`, 1, lagSloMs() * 2);
        expect(arrived.ok, 'the heartbeat row is in the target').toBe(true);
      });
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 10 });
      onTestFinished(async () => void (await workload.stop()));
      const exits = async (which: string[]) => {
        const out: Record<string, number> = {};
        for (const line of which) out[line] = (await shell.run(line)).exitCode;
        return out;
      };

      await runbookStep('Healthy migration: every daily check passes', async () => {
        const seen = await exits([status, lag, sourceStatus, sinkStatus]);
        await attachJson('exit codes', seen);
        expect(seen).toEqual({ [status]: 0, [lag]: 0, [sourceStatus]: 0, [sinkStatus]: 0 });
        const r = await shell.run(dlq);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout.trim(), 'no dead letters').toBe('');
        expect(r.stderr).toMatch(/processed 0 messages/);
      });

      await runbookStep('A paused sink: status, lag and the sink status flag it; the source status does not', async () => {
        await connect.pauseConnector(pipeline.sinkName);
        try {
          const seen = await exits([status, lag, sourceStatus, sinkStatus]);
          await attachJson('exit codes with the sink paused', seen);
          expect(seen).toEqual({ [status]: 1, [lag]: 1, [sourceStatus]: 0, [sinkStatus]: 1 });
          expect((await shell.run(status)).stdout).toMatch(new RegExp(`connector ${pipeline.sinkName}: PAUSED`));
        } finally {
          await connect.resumeConnector(pipeline.sinkName);
        }
      });

      await runbookStep('A stopped source connector: status and the source status flag it', async () => {
        await connect.stopConnector(pipeline.sourceName);
        try {
          const seen = await exits([status, sourceStatus, sinkStatus]);
          await attachJson('exit codes with the source stopped', seen);
          expect(seen).toEqual({ [status]: 1, [sourceStatus]: 1, [sinkStatus]: 0 });
          expect((await shell.run(status)).stdout).toMatch(new RegExp(`connector ${pipeline.sourceName}: STOPPED`));
        } finally {
          await connect.resumeConnector(pipeline.sourceName);
        }
        const back = await pollUntil({ what: 'every daily status check passing again', limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          const seen = await exits([status, lag]);
          return { done: Object.values(seen).every((c) => c === 0), seen: JSON.stringify(seen), value: seen };
        });
        await attachJson('exit codes after the resume', back);
      });

      await runbookStep('A record the sink cannot read: the DLQ check shows it', async () => {
        await produceRaw(endpoints.kafka.bootstrap, pipeline.topicOf(TABLE), 'not json', 'not json either');
        const shown = await pollUntil({ what: `the poison record in ${pipeline.dlqTopic}`, limitMs: lagSloMs() * 4, intervalMs: 1_000 }, async () => {
          const r = await shell.run(dlq);
          return { done: /processed 1 messages/.test(r.stderr), seen: r.stderr.trim(), value: r };
        });
        expect(shown!.stdout.trim()).toBe('not json either');
        const withHeaders = await shell.run(`${dlq} --headers`);
        expect(withHeaders.stdout, 'the error header says why').toMatch(/__connect\.errors\.exception\.message:/);
      });

      await runbookStep('Nothing lost while the checks ran', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
      });
    });
  }
});

/**
 * runbooks/schema-evolution.md — Troubleshooting: Replication Stuck After Schema Change.
 * A schema change on the replica left open in a transaction holds an ACCESS EXCLUSIVE lock on the
 * target table; the sink blocks on it with its task RUNNING while the lag grows. The Diagnostic
 * Steps find the blocker through pg_locks, the Resolution ends it with pg_terminate_backend, and
 * replication resumes with every acknowledged write in the target.
 */
import { pollUntil } from '../../harness/core/poll.js';
import { holdTableLock } from '../../harness/faults/database.js';
import { awaitGroupCaughtUp } from '../../harness/pipeline/kafka-admin.js';
import { tmpdir } from 'node:os';
import { summariseState } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachSamples, attachSql, attachText, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { watchLagRise } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, awaitDrainedAfterResume, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { attachCommands, fillPlaceholders, harnessCommands } from '../../harness/scenario/runbook-blocks.js';
import { runShellLine, type ShellContext } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { inject } from 'vitest';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'issue-replication-stuck-after-schema-change');
const diagnostics = runbookSection('schema-evolution', 'issue-replication-stuck-after-schema-change/diagnostic-steps');
const resolution = runbookSection('schema-evolution', 'issue-replication-stuck-after-schema-change/resolution');
const TABLE = 'customers';
/** "LAG not decreasing": this many rises of the consumer-group lag in a row while the task is RUNNING. */
const LAG_RISES = 3;

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`diagnose the blocking lock and end it ${variant.label}`, async ({ source, target, pipeline, connect, kafka, endpoints, pgTools }) => {
      const lagMs = lagSloMs();
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 20 });
      // Consumer-group lag is measured from committed offsets: wait for the sink's first commit on the table's topic.
      const topic = pipeline.topicOf(TABLE);
      await pollUntil({ what: `the sink's first offset commit on ${topic}`, limitMs: lagMs * 2, intervalMs: 500 }, async () => {
        const lag = await kafka.sinkLag(pipeline.sinkName);
        const partition = lag.partitions.find((p) => p.topic === topic);
        return { done: (partition?.committed ?? 0) > 0, seen: JSON.stringify(lag.partitions) };
      });

      // The fault: an ALTER on the replica whose transaction was never committed holds the table's lock.
      const lock = await runbookStep('Fault: a replica schema change left open in a transaction locks the target table', async () => {
        const fault = await holdTableLock(endpoints.target.url, TABLE);
        await attachJson('fault', { description: fault.description });
        return fault;
      });

      try {
        await runbookStep(`Symptoms: ${section.field('Symptoms').value}`, async () => {
          const rise = await watchLagRise(async () => (await kafka.sinkLag(pipeline.sinkName)).total, LAG_RISES, lagMs * 2);
          await attachSamples('sink consumer-group lag', rise.samples);
          const status = await connect.getConnectorStatus(pipeline.sinkName);
          await attachJson('sink status', status);
          assertClaim(
            section.field('Symptoms').claim,
            rise.rising && status.connector.state === 'RUNNING' && status.tasks.every((t) => t.state === 'RUNNING'),
            `lag ${rise.samples.map((s) => s.lag).join(' → ')}; connector ${status.connector.state}, tasks ${status.tasks.map((t) => t.state).join(',')}`,
          );
        });

        await runbookStep(`1. ${diagnostics.step(1).title}`, async () => {
          await attachCommands(diagnostics.step(1));
          const status = await connect.getConnectorStatus(pipeline.sinkName);
          await attachJson('sink status', status);
          expect(status.tasks.map((t) => t.state), 'the stuck sink task still reports RUNNING').toEqual(['RUNNING']);
        });

        await runbookStep(`2. ${diagnostics.step(2).title}`, async () => {
          const [block] = await attachCommands(diagnostics.step(2));
          expect(harnessCommands(block!).join('\n')).toContain(`--group connect-${pipeline.sinkName}`);
          const rise = await watchLagRise(async () => (await kafka.sinkLag(pipeline.sinkName)).total, LAG_RISES, lagMs * 2);
          await attachSamples('consumer-group lag, not decreasing', rise.samples);
          expect(rise.rising, `lag did not keep rising: ${rise.samples.map((s) => s.lag).join(' → ')}`).toBe(true);
        });

        const blocker = await runbookStep(`3. ${diagnostics.step(3).title}`, async () => {
          const sql = fillPlaceholders(diagnostics.stepSql(3, { side: 'target' }), { table_name: TABLE });
          await attachSql('pg_locks query (target)', sql);
          const rows = await target.query(sql);
          await attachJson('pg_locks on the target table', rows);
          // The blocker holds a granted lock; the sink (its table-metadata read, then its upsert) waits on one not granted.
          const granted = (r: Record<string, string | null>) => r.granted === 't' || r.granted === 'true';
          const waiting = rows.filter((r) => !granted(r));
          const holders = rows.filter((r) => granted(r) && r.mode === 'AccessExclusiveLock');
          expect(waiting.length, 'the sink waits on a lock of the target table').toBeGreaterThan(0);
          expect(holders.map((r) => Number(r.pid)), 'the blocking session is found through pg_locks').toEqual([lock.pid]);
          return Number(holders[0]!.pid);
        });

        await runbookStep('Resolution', async () => {
          const [block] = await attachCommands(resolution);
          const lines = block!.value.split('\n').map((l: string) => l.trim()).filter((l: string) => l && !l.startsWith('#'));
          const shell: ShellContext = {
            stateDir: inject('stackStateDir'),
            cwd: tmpdir(),
            variables: { TARGET_URL: endpoints.target.url },
            tools: { psql: pgTools.psql },
            word: (w) => fillPlaceholders(w, { pid: blocker }),
          };
          // The runbook's commands in order, as an operator types them; each must succeed.
          for (const line of lines) {
            const result = await runShellLine(shell, line);
            await attachText(`$ ${line}`, `exit ${result.code}\n${result.stdout}\n${result.stderr}`.trim());
            expect(result.code, `${line}: ${result.stderr.trim().split('\n')[0] ?? ''}`).toBe(0);
          }
          const left = await target.query('SELECT pid FROM pg_stat_activity WHERE pid = $1', [String(blocker)]);
          expect(left, 'the blocking backend is gone').toEqual([]);
          const status = await connect.getConnectorStatus(pipeline.sinkName);
          await attachJson('sink status after the resolution', status);
          expect(summariseState(status), 'the sink runs again').toBe('RUNNING');
        });
      } finally {
        await lock.heal();
      }

      await runbookStep('Replication resumes: the lag drains and nothing is lost', async () => {
        const marker = await workload.mark();
        // The backlog built up behind the lock drains after the resume, with nothing restarted.
        const caughtUp = await awaitDrainedAfterResume({ source, target, kafka, connect, pipeline }, TABLE, 'customer_id', marker, lagSloMs() * 4);
        expect(caughtUp.drained, caughtUp.reason).toBe(true);
        // Reconcile once the writes stop: with the workload writing, source and replica never hold the same rows at one instant.
        const history = await workload.stop();
        const converged = await awaitConverged(source, target, [{ table: TABLE }], CONVERGE_LIMIT_MS);
        await attachJson('reconciliation report', converged.report);
        const verdict = await checkHistory(history, target);
        await attachJson('acknowledged-write check', { ...verdict, marker, drainedSeconds: caughtUp.seconds, convergedSeconds: converged.seconds, errors: history.errors.slice(0, 20) });
        // "The lag drains": the sink's committed offsets reach the log end of the table's topic.
        const lag = await awaitGroupCaughtUp(() => kafka.sinkLag(pipeline.sinkName), [topic], CONVERGE_LIMIT_MS);
        await attachJson('sink consumer-group lag after the drain', lag);
        expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts ?? converged.report.tables[0]?.error)).toBe(true);
        expect(lag.caughtUp, lag.reason).toBe(true);
        expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
        expect(history.writes.length).toBeGreaterThan(0);
        expect(await kafka.count(pipeline.dlqTopic), 'nothing went to the DLQ').toBe(0);
      });
    });
  }
});


/**
 * runbooks/database-migration.md — Migration Execution: Monitor Replication Lag.
 * The section's commands run as typed (`lag --watch` bounded with --count) on a migration under a real lag fault:
 * Toxiproxy caps the source hop (WAL stream) and the target hop (sink writes) below what the background workload
 * writes. `lag --watch` must show the heartbeat lag past the SLO and exit 1, `kafka groups --group
 * connect-postgresql-sink` the sink's backlog (the original's `migration-consumer-group` does not exist, and the
 * command says so with exit 2: Change Log row 6), and the slot SQL the WAL the slot holds back, growing. After the heal the lag must be back
 * within the SLO on every `lag --watch` snapshot and the slot must release its WAL. Nothing acknowledged is lost.
 */
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { withAdmin } from '../../harness/pipeline/kafka-admin.js';
import { attachJson, attachSamples, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { injectLagFault, LAG_WRITES_PER_SECOND, wideCustomerRow } from '../../harness/scenario/lag-fault.js';
import { commandLines, migrationShell, prettyBytes, runStatements } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { startConsumerLagSampler } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { probeHeartbeat } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'monitor-replication-lag');
const SQL_SERVER_SKIP =
  "the section's SQL Server query (sys.dm_cdc_log_scan_sessions) needs a SQL Server source with CDC, which runs only in container mode, and this scenario's lag fault and slot SQL are written for the PostgreSQL source the runbook migrates";
const TABLE = 'customers';
/** The runbook's slot name, which each test pipeline replaces with its own. */
const RUNBOOK_SLOT = 'debezium_warehouse';
/** The original document's consumer group (Change Log row 6). */
const ORIGINAL_GROUP = 'migration-consumer-group';
/** Records the sink must be behind before the section's commands are judged under the fault. */
const BACKLOG_RECORDS = 200;
/** Snapshots each bounded `lag --watch` takes, one second apart. */
const WATCH_SNAPSHOTS = 3;
/** How long each heartbeat of `lag --watch` waits under the fault: past it the sample is a lower bound (already over the SLO). */
const WATCH_HEARTBEAT_TIMEOUT_S = 3 * (lagSloMs() / 1000);
/** WAL (bytes) the slot must hold back beyond its most under the workload alone while the source hop is throttled. */
const RETAINED_GROWTH_BYTES = 2 * 1024 * 1024;
/** Readings of the slot SQL, a second apart, under the workload before the fault: what it holds back normally. */
const STEADY_READINGS = 5;

interface WatchSnapshot {
  heartbeatSeconds: number | undefined;
  timedOut: boolean;
  consumerBehind: number | undefined;
}

/** The text snapshots of `lag --watch`: each one's heartbeat seconds (and whether it timed out) and the consumer backlog. */
function watchSnapshots(stdout: string): WatchSnapshot[] {
  return stdout.split(/\n(?=\d{4}-\d\d-\d\dT)/).filter((s) => /heartbeat:/.test(s)).map((s) => ({
    heartbeatSeconds: /heartbeat: ([\d.]+) s/.exec(s)?.[1] !== undefined ? Number(/heartbeat: ([\d.]+) s/.exec(s)![1]) : undefined,
    timedOut: /TIMED OUT/.test(s),
    consumerBehind: /: (\d+) records behind/.exec(s)?.[1] !== undefined ? Number(/: (\d+) records behind/.exec(s)![1]) : undefined,
  }));
}

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`lag, the sink's consumer group and the slot's WAL under a lag fault, then within the SLO ${variant.label}`, async ({ source, target, pipeline, endpoints, pgTools, kafka, faults }) => {
      const [watch, groups] = commandLines(section.blocks({ lang: 'bash' })[0]!.value) as [string, string];
      expect([watch, groups], "the section's commands").toEqual(['runbook-harness lag --watch', 'runbook-harness kafka groups --group connect-postgresql-sink']);
      const sloSeconds = lagSloMs() / 1000;
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      await probeHeartbeat({ source, target, timeoutMs: CONVERGE_LIMIT_MS }); // the sink creates the heartbeat table
      const slot = pipeline.names.slotName;
      const slotSql = section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' })[0]!.value;
      expect(slotSql, 'the slot SQL names the runbook slot').toContain(`'${RUNBOOK_SLOT}'`);
      const slotQuery = slotSql.replaceAll(`'${RUNBOOK_SLOT}'`, `'${slot}'`);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());
      /** The section's slot SQL: the slot's retained WAL in bytes (from its pg_size_pretty text). */
      const retained = async (label: string) => {
        const [run] = await runStatements(source, slotQuery, label);
        expect(run!.rows.map((r) => r.slot_name), `the slot SQL lists slot ${slot}`).toEqual([slot]);
        return prettyBytes(run!.rows[0]!.lag);
      };
      /** The section's `lag --watch`, bounded: WATCH_SNAPSHOTS snapshots a second apart. */
      const boundedWatch = () => shell.run(`${watch} --count ${WATCH_SNAPSHOTS} --interval 1 --timeout ${WATCH_HEARTBEAT_TIMEOUT_S}`);

      const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (_, n) => wideCustomerRow(n), ratePerSecond: LAG_WRITES_PER_SECOND });
      onTestFinished(async () => void (await workload.stop()));
      // The slot holds some WAL back under the workload alone (it confirms once a second): its most over a few readings.
      const steady: number[] = [];
      await pollUntil({ what: `${STEADY_READINGS} readings of the slot SQL under the workload before the fault`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
        steady.push(await retained('slot under the workload, before the fault'));
        return { done: steady.length >= STEADY_READINGS, seen: `${steady.length} readings` };
      });
      const before = Math.max(...steady);
      const consumerLag = startConsumerLagSampler(() => kafka.sinkLag(pipeline.sinkName));
      onTestFinished(async () => void (await consumerLag.stop().catch(() => undefined)));
      const fault = await injectLagFault(faults.network);
      onTestFinished(() => fault.heal());
      let retainedUnderFault = 0;

      try {
        await runbookStep(`${watch}: the heartbeat lag past the SLO under ${fault.description}`, async () => {
          await pollUntil({ what: `sink consumer group ${BACKLOG_RECORDS} records behind under ${fault.description}`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
            const lag = await kafka.sinkLag(pipeline.sinkName);
            return { done: lag.total >= BACKLOG_RECORDS, seen: `${lag.total} records` };
          });
          const r = await boundedWatch();
          const snapshots = watchSnapshots(r.stdout);
          await attachJson('lag --watch snapshots under the fault', snapshots);
          expect(snapshots, `${WATCH_SNAPSHOTS} snapshots`).toHaveLength(WATCH_SNAPSHOTS);
          expect(r.exitCode, `lag --watch exits 1 when the heartbeat breaks the lag SLO: ${r.stdout.slice(-300)}`).toBe(1);
          expect(r.stdout, 'its verdict line').toMatch(/^\s*FAIL Data replication lag/m);
          for (const s of snapshots) {
            expect(s.heartbeatSeconds, `every snapshot's heartbeat lag past the ${sloSeconds} s SLO`).toBeGreaterThan(sloSeconds);
            expect(s.consumerBehind, "and the sink's backlog in its consumer line").toBeGreaterThanOrEqual(BACKLOG_RECORDS);
          }
        });

        await runbookStep(`${groups}: the sink's consumer group is behind`, async () => {
          const r = await shell.run(groups);
          expect(r.exitCode, r.stderr).toBe(0);
          const total = Number(/TOTAL LAG (\d+)/.exec(r.stdout)?.[1]);
          expect(total, `the group's total lag (${r.stdout.slice(0, 200)})`).toBeGreaterThanOrEqual(BACKLOG_RECORDS);
          expect(r.stdout, "the group's partitions are the pipeline's table topics").toContain(pipeline.topicOf(TABLE));

          // Change Log row 6: the original's group is not the sink's. It does not exist, and asked for, it shows no lag
          // at all while the sink is behind: a monitor on it would stay green.
          const row6 = changeLogClaim('database-migration', 6);
          const original = await shell.run(groups.replace('connect-postgresql-sink', ORIGINAL_GROUP));
          const existing = await withAdmin(kafka.bootstrap, async (admin) => (await admin.listGroups()).groups.map((g) => g.groupId));
          await attachJson('consumer groups on the broker', { groups: existing, originalGroup: { exit: original.exitCode, stderr: original.stderr.trim() }, sinkGroupTotalLag: total });
          // The original's group is not there, and `kafka groups` says so (exit 2) rather than reading it as lag 0.
          assertClaim(
            row6,
            existing.includes('connect-postgresql-sink') && !existing.includes(ORIGINAL_GROUP) && original.exitCode === 2 && original.stderr.includes(`consumer group ${ORIGINAL_GROUP} does not exist`),
            `groups on the broker: ${existing.join(', ')}; kafka groups --group ${ORIGINAL_GROUP} exited ${original.exitCode} (${original.stderr.trim().split('\n')[0]}) while connect-postgresql-sink shows ${total}`,
          );
        });

        await runbookStep('WAL the slot still holds back (the section\'s slot SQL)', async () => {
          const first = await retained('slot under the fault');
          const grown = await pollUntil({ what: `slot ${slot} to hold back ${RETAINED_GROWTH_BYTES} B more WAL than before the fault (${before} B)`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 2_000 }, async () => {
            const now = await retained('slot under the fault');
            return { done: now >= before + RETAINED_GROWTH_BYTES && now > first, seen: `${now} B retained (at most ${before} B before the fault)`, value: now };
          });
          retainedUnderFault = grown;
          await attachJson('retained WAL (bytes)', { beforeFault: steady, underFault: [first, grown] });
        });

        await runbookStep('Heal the fault: every lag --watch snapshot back within the SLO, the slot releases its WAL', async () => {
          await fault.heal();
          await pollUntil({ what: 'the sink to catch up with the writes after the heal', limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
            const lag = await kafka.sinkLag(pipeline.sinkName);
            return { done: lag.total <= LAG_WRITES_PER_SECOND, seen: `${lag.total} records` };
          });
          const r = await boundedWatch();
          const snapshots = watchSnapshots(r.stdout);
          await attachJson('lag --watch snapshots after the heal', snapshots);
          expect(snapshots).toHaveLength(WATCH_SNAPSHOTS);
          expect(r.exitCode, `lag --watch exits 0 only while the heartbeat meets the SLO: ${r.stdout.slice(-300)}`).toBe(0);
          for (const s of snapshots) expect(s.heartbeatSeconds, `heartbeat lag within the ${sloSeconds} s SLO`).toBeLessThan(sloSeconds);
          const released = await pollUntil({ what: `slot ${slot} to release the WAL it held under the fault (${retainedUnderFault} B) to near its level before (${before} B)`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
            const now = await retained('slot after the heal');
            return { done: now <= before + RETAINED_GROWTH_BYTES / 2, seen: `${now} B retained`, value: now };
          });
          const series = await consumerLag.stop();
          await attachSamples('sink consumer-group lag, fault to heal (records)', series.map((s) => ({ t: s.t, records: s.records })));
          await attachJson('retained WAL after the heal (bytes)', { underFault: retainedUnderFault, afterHeal: released });
        });
      } finally {
        await fault.heal();
      }

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        expect(await kafka.count(pipeline.dlqTopic)).toBe(0);
      });
    });
  }
});

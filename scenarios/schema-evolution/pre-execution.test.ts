/**
 * runbooks/schema-evolution.md — Pre-Change Checklist, Pre-Execution: back up the replica table with the runbook's
 * pg_dump command (then restore the dump into a scratch database and check it row by row), record the baseline
 * (heartbeat and consumer-group lag, row counts, an empty DLQ), and pause the sink as for a high-risk change (its
 * group lag grows while paused, then drains after the resume). A workload writes to customers throughout.
 */
import { pollUntil } from '../../harness/core/poll.js';
import { summariseState } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachSamples, attachText, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { sloTarget } from '../../harness/runbook/slo.js';
import { backupDir, checkBackup, filesIn, removeDir, restoreIntoScratch, type ScratchRestore } from '../../harness/scenario/backup-restore.js';
import { closeOutWorkload } from '../../harness/scenario/no-loss.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS, describeTable, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { commandLine, runRunbookCommand } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE, ensureHeartbeatTable, lagSloVerdict, probeHeartbeat, sampleHeartbeatLag, sinkConsumerLag } from '../../harness/verify/lag.js';
import { reconcileSessions } from '../../harness/verify/reconcile/index.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'pre-execution');
const TABLE = 'customers';
const KEY = 'customer_id';
/** Seed rows of customers (fixtures/seed): a table with more holds rows the workload wrote through the pipeline. */
const SEED_ROWS = 3;
/** Rows the workload writes before the backup, so the dump holds workload rows as well as seed rows. */
const WRITES_BEFORE_BACKUP = 40;
/** Heartbeat window of the baseline: one probe a second. */
const BASELINE_WINDOW_MS = 5_000;
/** Records the paused sink must fall behind by, to show that its group lag grows (the workload writes 20/s). */
const PAUSED_LAG_GROWTH = 20;

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`backup, baseline metrics, pause and resume ${variant.label}`, async ({ source, target, pipeline, connect, kafka, endpoints, pgTools }) => {
      const lagMs = lagSloMs();
      const lagSlo = sloTarget('database-migration', 'Data replication lag');
      await resetSampleTables(source, target, [DEFAULT_HEARTBEAT_TABLE]);
      await ensureHeartbeatTable({ source });
      await pipeline.deploy({ tables: [TABLE, DEFAULT_HEARTBEAT_TABLE] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}`, email_column: `w${n}@example.com` }), ratePerSecond: 20 });
      await pollUntil({ what: `${WRITES_BEFORE_BACKUP} acknowledged workload writes`, limitMs: CONVERGE_LIMIT_MS }, async () => ({ done: workload.acknowledged >= WRITES_BEFORE_BACKUP, seen: `${workload.acknowledged}` }));

      const dir = backupDir();
      let scratch: ScratchRestore | undefined;
      const backup = await runbookStep(`1. ${section.step(1).title}`, async () => {
        // Drain first: everything acknowledged before this point is in the target, hence in the dump.
        const writesBeforeMark = workload.acknowledged;
        const markerKey = await workload.mark();
        const drained = await awaitDrained(target, TABLE, KEY, markerKey);
        expect(drained.drained, 'sink drained past the mark before the backup').toBe(true);
        const bash = section.step(1).codeBlocks.find((b) => b.lang === 'bash')!.value;
        const line = commandLine(bash, 'pg_dump');
        expect(line, `${section.file} [pre-execution] step 1 has a pg_dump command`).toBeDefined();
        const dump = await runRunbookCommand(line!, pgTools, { TARGET_URL: endpoints.target.url }, dir);
        await attachJson('pg_dump run', dump);
        expect(dump.exitCode, dump.stderr).toBe(0);
        const files = filesIn(dir);
        await attachJson('backup files', files);
        expect(files).toHaveLength(1);
        expect(files[0]!.file).toMatch(/backup_customers_\d{8}_\d{6}\.dump$/);
        // Restore the backup into a scratch database on the target server and look at it.
        scratch = await restoreIntoScratch(target, endpoints.target.url, pgTools, files[0]!.file, TABLE, `rh_restore_${pipeline.names.topicPrefix}`);
        await attachJson('pg_restore run', scratch.restore);
        expect(scratch.restore.exitCode, scratch.restore.stderr).toBe(0);
        const [restoredColumns, targetColumns] = [await describeTable(scratch.session, TABLE), await describeTable(target, TABLE)];
        await attachJson('restored table columns', restoredColumns);
        expect(restoredColumns).toEqual(targetColumns);
        const marker = await scratch.session.query(`SELECT ${KEY} FROM ${TABLE} WHERE ${KEY} = $1`, [String(markerKey)]);
        expect(marker, 'the drain marker, applied before the dump, is in the restored table').toHaveLength(1);
        return { markerKey, writesBeforeMark, file: files[0]! };
      });

      await runbookStep(`2. ${section.step(2).title}`, async () => {
        const timeline = await sampleHeartbeatLag({ source, target, durationMs: BASELINE_WINDOW_MS, intervalMs: 1_000, timeoutMs: lagMs });
        await attachSamples('heartbeat lag samples', timeline.samples.map((s) => ({ writtenAt: s.writtenAt, lagSeconds: s.lagSeconds, timedOut: String(s.timedOut) })));
        const verdict = lagSloVerdict(timeline, lagSlo);
        assertClaim(lagSlo.claim, verdict.pass, `baseline heartbeat p95 ${timeline.p95.toFixed(3)} s over ${timeline.count} samples, ${timeline.timeouts} timed out`);
        const consumer = await sinkConsumerLag(kafka.bootstrap, pipeline.sinkName);
        await attachJson('sink consumer-group lag', consumer);
        expect('error' in consumer ? consumer.error : undefined).toBeUndefined();
        const counts = await reconcileSessions(source, target, [{ table: TABLE }], { mode: 'row-count' });
        await attachJson('row counts (reconcile --row-count-only)', counts);
        const t = counts.tables[0]!;
        expect(t.error).toBeUndefined();
        expect(t.sourceRows).toBeGreaterThan(SEED_ROWS);
        expect(t.targetRows).toBeGreaterThan(SEED_ROWS);
        // The runbook: the DLQ must be empty before the change.
        const dlq = await kafka.read(pipeline.dlqTopic, { maxMessages: 10, limitMs: 5_000 });
        await attachJson('DLQ messages', dlq);
        expect(dlq).toEqual([]);
        expect(await kafka.count(pipeline.dlqTopic)).toBe(0);
      });

      await runbookStep(`3. ${section.step(3).title}`, async () => {
        const bash = section.step(3).codeBlocks.find((b) => b.lang === 'bash')!.value;
        const expected = /# Expected: connector state (\w+)/.exec(bash)?.[1];
        expect(expected, `${section.file} [pre-execution] step 3 states the expected connector state`).toBeDefined();
        await attachText('runbook commands', bash);
        const paused = await connect.pauseConnector(pipeline.sinkName);
        await attachJson('sink status after pause', paused);
        expect(summariseState(paused)).toBe(expected);
        // While paused the group falls behind the workload, and the target stops moving.
        const lagSamples: { at: string; lag: number }[] = [];
        const grown = await pollUntil({ what: `sink group lag to grow by ${PAUSED_LAG_GROWTH} records while paused`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const lag = await kafka.sinkLag(pipeline.sinkName);
          lagSamples.push({ at: new Date().toISOString(), lag: lag.total });
          return { done: lag.total >= PAUSED_LAG_GROWTH, seen: `${lag.total} records behind`, value: lag.total };
        });
        const frozen = await probeHeartbeat({ source, target, timeoutMs: lagMs });
        await attachJson('heartbeat while paused', frozen);
        expect(frozen.timedOut, 'a paused sink applies nothing: the heartbeat must not arrive').toBe(true);
        const peak = (await kafka.sinkLag(pipeline.sinkName)).total;
        lagSamples.push({ at: new Date().toISOString(), lag: peak });
        expect(peak, 'the group kept falling behind while paused').toBeGreaterThanOrEqual(grown);
        const resumed = await connect.resumeConnector(pipeline.sinkName);
        await attachJson('sink status after resume', resumed);
        expect(summariseState(resumed)).toBe('RUNNING');
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark());
        expect(drained.drained, 'the resumed sink drains the backlog').toBe(true);
        // Connect commits the group's offsets periodically: poll until the committed lag is back under the peak.
        const after = await pollUntil({ what: `sink group lag below its paused peak of ${peak}`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const lag = await kafka.sinkLag(pipeline.sinkName);
          lagSamples.push({ at: new Date().toISOString(), lag: lag.total });
          return { done: lag.total < peak, seen: `${lag.total} records behind`, value: lag.total };
        }).catch(() => undefined);
        await attachSamples('sink group lag (paused, then resumed)', lagSamples);
        expect(after, `group lag after the resume never fell below its paused peak (${peak}); samples: ${lagSamples.map((s) => s.lag).join(',')}`).toBeDefined();
        const heartbeat = await probeHeartbeat({ source, target, timeoutMs: lagMs });
        assertClaim(lagSlo.claim, !heartbeat.timedOut && heartbeat.lagSeconds * 1000 < lagMs, `heartbeat after the resume and drain: ${heartbeat.lagSeconds.toFixed(3)} s${heartbeat.timedOut ? ' (timed out)' : ''}`);
      });

      await runbookStep('Nothing lost: final reconciliation, every acknowledged write in the target, and the backup checked row by row', async () => {
        try {
          const { history, converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
          expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
          expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
          expect(history.writes.length).toBeGreaterThan(0);
          const backupVerdict = await checkBackup(scratch!.session, target, TABLE, history, backup.markerKey, backup.writesBeforeMark);
          await attachJson('restored backup vs target', { ...backupVerdict, report: backupVerdict.report.tables[0] });
          expect(backupVerdict.pass, `rows that differ from the target although untouched since the backup: ${JSON.stringify(backupVerdict.unexplained.slice(0, 10))}`).toBe(true);
          expect(backupVerdict.restoredRows, 'the backup holds workload rows as well as the seed rows').toBeGreaterThan(SEED_ROWS);
        } finally {
          await scratch?.drop();
          removeDir(dir);
        }
      });
    });
  }
});

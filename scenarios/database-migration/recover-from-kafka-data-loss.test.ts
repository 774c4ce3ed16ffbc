/**
 * runbooks/database-migration.md — Recovery Procedures, Recover from Kafka Data Loss.
 * Real loss: the sink falls behind (the target hop throttled with Toxiproxy) and the table's topic is deleted with
 * the backlog in it, while the background workload writes. The replica then misses what the lost events carried
 * (measured). The section's steps run as written: both connectors stopped (a paused sink's group cannot be moved:
 * Change Log row 10), the sink's group set to the topic's end, the replica table emptied (the snapshot carries no
 * deletes, and a rewind to the earliest offset replays rows deleted since: Change Log row 22), the source's offsets
 * cleared so that it snapshots again, both resumed. The replica must match the source again and keep every acknowledged write.
 */
import { inject } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { withAdmin } from '../../harness/pipeline/kafka-admin.js';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { commentSteps, runSql } from '../../harness/scenario/runbook-blocks.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { reconcileSessions } from '../../harness/verify/reconcile/index.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'recover-from-kafka-data-loss');
const TABLE = 'customers';
const RUNBOOK_TOPIC = 'warehouse.public.customers';
const WRITES_PER_SECOND = 40;
/** Bandwidth left on the target hop (KB/s) so that the sink falls behind, and the backlog lost with the topic. */
const THROTTLE_KB_PER_SECOND = 4;
const BACKLOG_RECORDS = 5 * WRITES_PER_SECOND;
const PAD = 'x'.repeat(150);

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(variant.dialect !== 'postgres' || !variant.runs)(`topics deleted, snapshot again ${variant.label}`, async ({ source, target, pipeline, connect, kafka, faults, endpoints }) => {
      const stateDir = inject('stackStateDir');
      const sink = pipeline.sinkName;
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [TABLE] });
      const topic = pipeline.topicOf(TABLE);
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0]?.diffCounts)).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (key, n) => ({ name: `writer ${n} ${PAD}`, email_column: `w${key}@example.com`, customer_name: PAD }), ratePerSecond: WRITES_PER_SECOND, deleteShare: 0.1 });
      await awaitDrained(target, TABLE, 'customer_id', await workload.mark());

      // The loss: the sink is behind when the topic goes.
      const throttle = await faults.network.inject('target-db', 'bandwidth', { rate: THROTTLE_KB_PER_SECOND }, 'upstream');
      const behind = await pollUntil({ what: `sink ${BACKLOG_RECORDS} records behind under ${throttle.description}`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
        const lag = await kafka.sinkLag(sink);
        return { done: lag.total >= BACKLOG_RECORDS, seen: `${lag.total} records`, value: lag.total };
      });
      await withAdmin(endpoints.kafka.bootstrap, (admin) => admin.deleteTopics({ topics: [topic], timeout: 30_000 }));
      await throttle.heal();
      // The source keeps producing: the broker re-creates the topic with only what came after.
      const after = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
      expect(after.drained, 'the sink applies the re-created topic').toBe(true);
      const lost = (await reconcileSessions(source, target, [{ table: TABLE }])).tables[0]!;
      // Keys the source deleted whose delete event went with the topic: the replica still has them.
      const lostDeletes = new Set(lost.extraInTarget.map((k) => Number(k.customer_id)));
      let lingering = 0;
      await attachJson('the replica after the topic was lost', { backlogAtDeletion: behind, diffCounts: lost.diffCounts, missing: lost.missingInTarget.slice(0, 20) });
      expect(lost.diffCounts.missingInTarget + lost.diffCounts.differing, 'the lost events left rows missing or stale in the replica').toBeGreaterThan(0);

      const [block] = section.blocks({ lang: 'bash' });
      const steps = commentSteps(block!);
      expect(steps.map((s) => s.number)).toEqual([1, 2, 3, 4, 5]);
      const words = (line: string) => line.replace(RUNBOOK_TOPIC, topic).split(/\s+/).slice(1);
      const row10 = changeLogClaim('database-migration', 10);

      const whilePaused = await runbookStep(`1. ${steps[0]!.title}`, async () => {
        const [stopSink, stopSource] = steps[0]!.commands;
        // A paused sink first (the original): its group cannot be moved.
        const paused = await runCli(stateDir, ['connector', 'pause', sink]);
        expect(paused.code, paused.stderr).toBe(0);
        const whilePaused = await runCli(stateDir, words(steps[1]!.commands[0]!));
        for (const line of [stopSink!, stopSource!]) {
          const r = await runCli(stateDir, words(line));
          expect(r.code, `${r.command}: ${r.stderr}`).toBe(0);
        }
        return whilePaused;
      });

      await runbookStep(`2. ${steps[1]!.title}`, async () => {
        const whileStopped = await runCli(stateDir, words(steps[1]!.commands[0]!));
        assertClaim(row10, whilePaused.code !== 0 && whileStopped.code === 0, `reset-offsets with the sink paused: exit ${whilePaused.code} (${whilePaused.stderr.trim().split('\n').at(-1)}); stopped: exit ${whileStopped.code}`);
      });

      await runbookStep(`3. ${steps[2]!.title}`, async () => {
        // Without the rebuild (the original): rows whose delete was lost stay in the replica. Counted before the truncate.
        const stale = (await reconcileSessions(source, target, [{ table: TABLE }])).tables[0]!;
        lingering = stale.extraInTarget.filter((k) => lostDeletes.has(Number(k.customer_id))).length;
        await attachJson('rows in the replica the source deleted while the topic was lost', { extraInTarget: stale.diffCounts.extraInTarget, lostDeletes: lingering });
        await runSql(target, /-c "([^"]+)"/.exec(steps[2]!.commands[0]!)![1]!, 'empty the replica table');
      });

      await runbookStep(`4. ${steps[3]!.title}`, async () => {
        const [del, resumeSource, resumeSink] = steps[3]!.commands;
        expect(del, 'the offsets DELETE').toMatch(/curl -s -X DELETE "\$CONNECT_URL\/connectors\/postgres-source\/offsets"/);
        await attachText('$ ' + del!, '(run through the Connect client)');
        await connect.deleteOffsets(pipeline.sourceName);
        expect((await connect.getOffsets(pipeline.sourceName)).offsets, 'the source\'s offsets are cleared').toEqual([]);
        for (const line of [resumeSource!, resumeSink!]) {
          const r = await runCli(stateDir, words(line));
          expect(r.code, `${r.command}: ${r.stderr}`).toBe(0);
        }
      });

      const verdict = await runbookStep(`5. ${steps[4]!.title}`, async () => {
        const [watch, reconcile] = steps[4]!.commands;
        const drained = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
        expect(drained.drained, 'the sink caught up with the new snapshot and the writes').toBe(true);
        const lag = await runCli(stateDir, [...words(watch!), '--count', '2', '--interval', '1', '--slot', pipeline.names.slotName]);
        expect(lag.code, `lag --watch within the lag SLO: ${lag.stdout.slice(-300)}`).toBe(0);
        // The checksum reconcile needs a quiet table: the workload stops here (the close-out) and then it runs.
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        assertClaim(changeLogClaim('database-migration', 22), converged && lingering > 0, `${lostDeletes.size} rows deleted on the source while the topic was lost were in the replica (${lingering} still there before the rebuild); after the rebuild from the new snapshot the replica ${converged ? 'matches' : `differs: ${JSON.stringify(report.tables[0]?.diffCounts)}`}`);
        const check = await runCli(stateDir, words(reconcile!).map((w) => (w === 'customers,orders,products' ? TABLE : w)));
        expect(check.code, check.stdout.slice(0, 300)).toBe(0);
        return verdict;
      });

      await runbookStep('Nothing lost: every acknowledged write in the target (history checker)', async () => {
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
      });
    });
  }
});

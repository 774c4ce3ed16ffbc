/**
 * runbooks/schema-evolution.md — Emergency 2: Massive Replication Lag.
 * The target hop is throttled with Toxiproxy (bandwidth towards the replica) while a workload writes wide rows, so
 * the sink falls behind for real. The lag is quantified with the sink's consumer group (Change Log row 8 names it)
 * and with the heartbeat; the sink's batch size is raised through pause, update, resume; then the hop is healed
 * and the lag must drain back under the SLO. Every acknowledged write must reach the target.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { summariseState } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachSamples, attachSql, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { splitSql } from '../../harness/runbook/lint/sql-split.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { sloTarget } from '../../harness/runbook/slo.js';
import { closeOutWorkload } from '../../harness/scenario/no-loss.js';
import { type ConsumerLagSample, measureFlow, parseLagSnapshot, startConsumerLagSampler } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE, ensureHeartbeatTable, type HeartbeatTimeline, lagSloVerdict, probeHeartbeat, sampleHeartbeatLag, startHeartbeatSampler } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'emergency-2-massive-replication-lag');
const TABLE = 'customers';
/** Throughput the throttled hop lets through towards the replica, well under what the workload writes. */
const THROTTLE_KB_PER_SECOND = 8;
const WRITES_PER_SECOND = 50;
/** Wide rows, so that the throttle bites: about 600 bytes of values per write. */
const PAD = 'x'.repeat(180);
/** "Massive" for this rehearsal: this many records behind, many times what one second of writes adds. */
const MASSIVE_LAG_RECORDS = 10 * WRITES_PER_SECOND;
/** A heartbeat probe waits this long before it counts as timed out (the lag is then at least this). */
const PROBE_TIMEOUT_MS = 30_000;
/** How long the drained pipeline is sampled to show the lag back under the SLO. */
const SETTLED_WINDOW_MS = 10_000;
/**
 * Longest the flow in and out of the pipeline is measured to tell where the lag comes from. Under the throttle one
 * put() batch takes tens of seconds to cross the hop and is committed at once, so the window must span several
 * batches' worth of writes; it closes early once the backlog has grown past SINK_BEHIND_MARGIN.
 */
const FLOW_WINDOW_MS = 90_000;
/** The Debezium JDBC sink's default batch.size (and the consumer's default max.poll.records): one commit's jump. */
const DEFAULT_SINK_BATCH = 500;
/** One side outpaces the other when its rate is more than this many times the other's. */
const SURGE_FACTOR = 2;

/** The `**Cause?**` labels of step `n` (Identify Cause), in order, read from the runbook's lines up to step n+1. */
function listedCauses(n: number): string[] {
  const lines = readFileSync(path.resolve(fileURLToPath(new URL('../..', import.meta.url)), section.file), 'utf8').split('\n');
  return lines.slice(section.step(n).line, section.step(n + 1).line - 1).flatMap((l) => [...l.matchAll(/\*\*([^*]+\?)\*\*/g)].map((m) => m[1]!));
}

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`immediate actions ${variant.label}`, async ({ source, target, pipeline, connect, kafka, faults }) => {
      const stateDir = inject('stackStateDir');
      const sink = pipeline.sinkName;
      const sloMs = lagSloMs();
      const heartbeat = { source, target, timeoutMs: PROBE_TIMEOUT_MS };

      await resetSampleTables(source, target, [DEFAULT_HEARTBEAT_TABLE]);
      await ensureHeartbeatTable({ source });
      await pipeline.deploy({ tables: ['customers', 'orders', 'products', DEFAULT_HEARTBEAT_TABLE] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0]?.diffCounts)).toBe(true);
      await probeHeartbeat({ ...heartbeat, timeoutMs: CONVERGE_LIMIT_MS }); // the sink creates the heartbeat table
      const baseline = await probeHeartbeat(heartbeat);
      await attachJson('baseline heartbeat', baseline);
      expect(baseline.lagSeconds * 1000, 'before the fault the pipeline meets the lag SLO').toBeLessThan(sloMs);

      const workload = Workload.start(source, {
        table: TABLE,
        keyColumn: 'customer_id',
        shape: (_, n) => ({ name: `writer ${n} ${PAD}`, email_column: `w${n}@example.com ${PAD}`, customer_name: `writer ${n} ${PAD}` }),
        ratePerSecond: WRITES_PER_SECOND,
      });
      const consumerLag = startConsumerLagSampler(() => kafka.sinkLag(sink));
      const faultSampler = startHeartbeatSampler({ ...heartbeat, intervalMs: 1_000 });
      const throttle = await faults.network.inject('target-db', 'bandwidth', { rate: THROTTLE_KB_PER_SECOND }, 'upstream');
      let faulted: HeartbeatTimeline | undefined;
      let lagSeries: ConsumerLagSample[] = [];

      try {
        await runbookStep(`1. ${section.step(1).title}`, async () => {
          const behind = await pollUntil({ what: `sink consumer group ${MASSIVE_LAG_RECORDS} records behind`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
            const lag = await kafka.sinkLag(sink);
            return { done: lag.total >= MASSIVE_LAG_RECORDS, seen: `${lag.total} records`, value: lag };
          });
          faulted = await faultSampler.stop();
          await attachSamples('heartbeat lag under the throttle', faulted.samples.map((s) => ({ writtenAt: s.writtenAt, lagSeconds: Number(s.lagSeconds.toFixed(2)), timedOut: String(s.timedOut) })));
          await attachJson('heartbeat timeline under the throttle', { ...faulted, samples: undefined, fault: throttle.description });
          const groups = await runCli(stateDir, ['kafka', 'groups', '--group', `connect-${sink}`]);
          const total = Number(/TOTAL LAG (\d+)/.exec(groups.stdout)?.[1]);
          // `lag` exits 1 when the heartbeat breaks the lag SLO; a probe that waits the SLO out is such a break.
          const lagCli = await runCli(stateDir, ['lag', '--json', '--connector', sink, '--timeout', String(sloMs / 1000)]);
          const snapshot = parseLagSnapshot(lagCli.stdout);
          await attachJson('lag --json', snapshot ?? { stdout: lagCli.stdout, stderr: lagCli.stderr });
          expect(snapshot, `lag --json printed no JSON snapshot (exit ${lagCli.code}): ${lagCli.stderr.trim().slice(0, 300)}`).toBeDefined();
          expect(lagCli.code, 'lag --json exits 1: the heartbeat breaks the lag SLO').toBe(1);
          expect(snapshot!.verdict?.pass, 'lag --json: SLO verdict').toBe(false);
          expect((snapshot!.heartbeat.lagSeconds ?? 0) * 1000, 'lag --json: heartbeat lag at least the SLO').toBeGreaterThanOrEqual(sloMs);
          expect(snapshot!.consumer.group, 'lag --json reads the sink\'s consumer group').toBe(`connect-${sink}`);
          expect(snapshot!.consumer.total ?? 0, `lag --json: records behind (${snapshot!.consumer.error ?? 'no error'})`).toBeGreaterThanOrEqual(MASSIVE_LAG_RECORDS);
          // Change Log row 8: the sink's group is connect-postgresql-sink; the original's group does not exist.
          const original = await runCli(stateDir, ['kafka', 'groups', '--group', 'postgresql-sink-connector']);
          const originalMissing = original.code === 2 && original.stderr.includes('consumer group postgresql-sink-connector does not exist');
          assertClaim(changeLogClaim('schema-evolution', 8), groups.code === 0 && total >= MASSIVE_LAG_RECORDS && originalMissing, `group connect-${sink}: ${total} records behind (API: ${behind.total}); group postgresql-sink-connector: exit ${original.code}, ${original.stderr.trim().split('\n')[0]}`);
          const worst = Math.max(...faulted.samples.map((s) => s.lagSeconds));
          expect(worst * 1000, `heartbeat lag under the throttle (${faulted.timeouts} probes timed out)`).toBeGreaterThan(sloMs);
        });

        await runbookStep(`2. ${section.step(2).title}`, async () => {
          // Each cause the step lists, judged on the stack: a backfill or a bulk job puts more events on the
          // topic than the application writes; slow replica writes leave the backlog (the topic's log-end minus
          // the sink group's committed offset) growing while events reach the topic at the application's rate.
          // A healthy sink's backlog differs between two moments by at most one put() batch (committed at once)
          // plus what the lag SLO lets it hold, so only growth past both is the sink falling behind.
          const batch = Number((await connect.getConnectorConfig(sink))['batch.size'] ?? DEFAULT_SINK_BATCH);
          const sinkBehindMargin = batch + (sloMs / 1000) * WRITES_PER_SECOND;
          const flow = await measureFlow(
            { acknowledged: () => workload.acknowledged, partitions: async () => (await kafka.sinkLag(sink)).partitions },
            pipeline.topicOf(TABLE),
            FLOW_WINDOW_MS,
            (first, now) => now.end - now.committed - (first.end - first.committed) > sinkBehindMargin,
          );
          await attachSamples('flow: acknowledged writes, topic log-end, sink committed', flow.samples.map((s) => ({ ...s, backlog: s.end - s.committed })));
          const sourceSurge = flow.producedPerSecond > SURGE_FACTOR * flow.sourceWritesPerSecond;
          const topicKeepsUp = flow.producedPerSecond * SURGE_FACTOR >= flow.sourceWritesPerSecond && !sourceSurge;
          const replicaSlow = topicKeepsUp && flow.backlogGrowth > sinkBehindMargin;
          const judged: Record<string, boolean> = { 'Recent schema change?': sourceSurge, 'High volume of updates?': sourceSurge, 'Slow PostgreSQL writes?': replicaSlow };
          const listed = listedCauses(2);
          const identified = Object.keys(judged).filter((cause) => judged[cause]);
          await attachJson('cause', { flow: { ...flow, samples: undefined }, batch, sinkBehindMargin, listed, identified, fault: throttle.description });
          expect(listed, `${section.file}: the causes step 2 lists, each with a check here`).toEqual(Object.keys(judged));
          expect(identified, `the lag's cause on the stack over ${flow.seconds.toFixed(1)} s (source events ${flow.producedPerSecond}/s for ${flow.sourceWritesPerSecond} writes/s, sink applied ${flow.appliedPerSecond}/s, backlog ${flow.backlogAtStart} -> ${flow.backlogAtEnd}, growth past ${sinkBehindMargin} means slow sink writes)`).toEqual(['Slow PostgreSQL writes?']);
        });

        await runbookStep(`3. ${section.step(3).title}`, async () => {
          const sql = section.stepSql(3, { side: 'target' });
          await attachSql('replica activity and waiting locks', sql);
          const [activity, waiting] = splitSql(sql).map((s) => s.text);
          const active = await target.query(activity!);
          const blocked = await target.query(waiting!);
          await attachJson('replica activity', { active, blocked });
          expect(blocked, 'no lock holds the sink back: the cause is the slow hop').toEqual([]);
        });

        await runbookStep(`4. ${section.step(4).title}`, async () => {
          const block = section.step(4).codeBlocks.find((b) => b.lang === 'bash')!.value;
          const raised = /"batch\.size":\s*"(\d+)"/.exec(block)?.[1];
          expect(raised, 'the step names the new batch.size').toBeDefined();
          const before = (await connect.getConnectorConfig(sink))['batch.size'];
          // The original procedure (see the Change Log): dump the config, edit batch.size, deploy the file.
          const dumped = await runCli(stateDir, ['connector', 'config', sink]);
          const file = path.join(mkdtempSync(path.join(tmpdir(), 'rh-emergency-2-')), 'postgresql-sink.json');
          writeFileSync(file, JSON.stringify({ ...(JSON.parse(dumped.stdout) as Record<string, string>), 'batch.size': raised }, null, 2));
          const redeployed = await runCli(stateDir, ['connector', 'deploy', sink, '--file', file]);
          await attachJson('the original procedure', { exit: redeployed.code, error: redeployed.stderr.trim().split('\n').slice(-1)[0], passwordInDump: /\*\*\*/.test(dumped.stdout) ? 'redacted' : 'present' });
          expect(redeployed.code, 'the dumped config cannot be deployed back').not.toBe(0);
          expect((await connect.getConnectorConfig(sink))['batch.size'], 'the failed deploy changed nothing').toBe(before);
          // The runbook's procedure: pause, PATCH the one property, resume.
          const paused = await runCli(stateDir, ['connector', 'pause', sink]);
          expect(paused.code, paused.stderr).toBe(0);
          // The runbook's curl PATCH; the client waits until the worker shows the value and the sink is still PAUSED.
          const patched = await connect.patchConnectorConfig(sink, { 'batch.size': raised! }, 'PAUSED');
          await attachJson(`PATCH /connectors/${sink}/config`, { request: { 'batch.size': raised }, status: patched });
          expect(summariseState(patched), 'an update keeps a paused connector paused').toBe('PAUSED');
          const resumed = await runCli(stateDir, ['connector', 'resume', sink]);
          expect(resumed.code, resumed.stderr).toBe(0);
          const shown = await runCli(stateDir, ['connector', 'config', sink]);
          const config = JSON.parse(shown.stdout) as Record<string, string>;
          await attachJson('batch.size', { before, after: config['batch.size'] });
          expect(config['batch.size']).toBe(raised);
          expect(Object.keys(config).sort(), 'the update kept every other property').toEqual(Object.keys(JSON.parse(dumped.stdout) as object).sort());
        });

        await runbookStep(`5. ${section.step(5).title}`, async () => {
          await throttle.heal();
          const drained = await pollUntil({ what: 'the sink to catch up with the writes', limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
            const lag = await kafka.sinkLag(sink);
            return { done: lag.total <= WRITES_PER_SECOND, seen: `${lag.total} records`, value: lag };
          });
          const settled = await sampleHeartbeatLag({ ...heartbeat, durationMs: SETTLED_WINDOW_MS, intervalMs: 500 });
          lagSeries = await consumerLag.stop();
          await attachSamples('sink consumer-group lag, fault to drain (records)', lagSeries.map((s) => ({ t: s.t, records: s.records })));
          await attachSamples('heartbeat lag after the heal', settled.samples.map((s) => ({ writtenAt: s.writtenAt, lagSeconds: Number(s.lagSeconds.toFixed(2)), timedOut: String(s.timedOut) })));
          const watch = await runCli(stateDir, ['lag', '--watch', '--count', '2', '--interval', '1', '--connector', sink]);
          expect(watch.code, `lag --watch exits 0 only while the heartbeat meets the lag SLO: ${watch.stderr}`).toBe(0);
          expect(watch.stdout.match(/^\s*PASS Data replication lag/gm)?.length, 'lag --watch: both snapshots within the lag SLO').toBe(2);
          const verdict = lagSloVerdict(settled, sloTarget('database-migration', 'Data replication lag'));
          await attachJson('lag SLO after the heal', { verdict, drainedTo: drained.total, peak: Math.max(...lagSeries.map((s) => s.records)) });
          expect(verdict.pass, `heartbeat after the heal: ${JSON.stringify(verdict)}`).toBe(true);
        });
      } finally {
        await throttle.heal().catch(() => undefined);
        await faultSampler.stop().catch(() => undefined);
        if (lagSeries.length === 0) await consumerLag.stop().catch(() => undefined);
      }

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
        expect(await kafka.count(pipeline.dlqTopic)).toBe(0);
      });
    });
  }
});

/**
 * runbooks/schema-evolution.md — Appendix, F. Useful Monitoring Queries, Connector Throughput.
 * Change Log row 30: the original reads task metrics with `curl http://localhost:8083/metrics`; the real Kafka Connect
 * answers its REST root and 404 on /metrics (the task metrics are JMX attributes). The section's replacement commands
 * then run as typed (`lag --watch` ended with `--count`) while the background workload writes, and show what they are
 * there to show: with the sink running the group's committed offset advances (records applied per second) and the lag
 * stays within the lag SLO; with the sink paused the committed offset stands still while the lag grows and the
 * heartbeat breaks the SLO (`lag` exits 1); resumed, the lag falls back. Nothing the workload wrote is lost.
 */
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandLines, migrationShell } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { parseGroupReadout, parseLagText } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE, ensureHeartbeatTable, probeHeartbeat } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'connector-throughput');
const TABLE = 'customers';
const WRITES_PER_SECOND = 20;
/** Snapshots each `lag --watch` run takes (the section's `--watch` runs until Ctrl-C; the test ends it with --count). */
const WATCH_SNAPSHOTS = 3;
/** The metric the original greps for in the REST answer. */
const ORIGINAL_METRIC = 'sink-record-send-rate';

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`no REST metrics endpoint; the sink's lag and committed offsets show throughput ${variant.label}`, async ({ source, target, pipeline, endpoints, pgTools, connect }) => {
      const sloMs = lagSloMs();
      const sloSeconds = sloMs / 1000;
      /** Within the lag SLO, the group can be behind by at most what the source writes in that time. */
      const withinSloRecords = WRITES_PER_SECOND * sloSeconds;
      const [watchLine, groupsLine] = commandLines(section.blocks({ lang: 'bash' })[0]!.value) as [string, string];
      expect(watchLine).toBe('runbook-harness lag --watch');
      expect(groupsLine).toBe(`runbook-harness kafka groups --group connect-${pipeline.sinkName}`);

      await resetSampleTables(source, target, [DEFAULT_HEARTBEAT_TABLE]);
      await ensureHeartbeatTable({ source });
      await pipeline.deploy({ tables: [TABLE, DEFAULT_HEARTBEAT_TABLE] });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      await probeHeartbeat({ source, target, timeoutMs: CONVERGE_LIMIT_MS }); // the sink creates the heartbeat table
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());
      const topic = pipeline.topicOf(TABLE);
      const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (key, n) => ({ name: `writer ${n}`, email_column: `w${key}@example.com` }), ratePerSecond: WRITES_PER_SECOND });
      onTestFinished(async () => void (await workload.stop()));
      const watch = (extra: string) => shell.run(`${watchLine} --count ${WATCH_SNAPSHOTS} --interval 1 ${extra}`.trim());
      const groups = async () => {
        const r = await shell.run(groupsLine);
        expect(r.exitCode, r.stderr).toBe(0);
        const readout = parseGroupReadout(r.stdout);
        const row = readout.partitions.find((p) => p.topic === topic);
        return { at: Date.now(), total: readout.totalLag, row };
      };

      await runbookStep(`The original: ${changeLogClaim('schema-evolution', 30).row['The original said']!.replaceAll('`', '')} (Change Log row 30)`, async () => {
        const original = changeLogClaim('schema-evolution', 30).row['The original said']!.replaceAll('`', '').trim();
        expect(original).toBe('curl http://localhost:8083/metrics');
        const typed = original.replace('http://localhost:8083', '$CONNECT_URL');
        const metrics = await shell.run(`${typed} -s -w '\\n%{http_code}'`);
        const root = await shell.run(`curl -s -o /dev/null -w '%{http_code}' "$CONNECT_URL/"`);
        const metricsCode = metrics.stdout.trim().split('\n').at(-1);
        assertClaim(
          changeLogClaim('schema-evolution', 30, 'has no metrics endpoint'),
          root.stdout.trim() === '200' && metricsCode === '404' && !metrics.stdout.includes(ORIGINAL_METRIC),
          `GET $CONNECT_URL/ -> HTTP ${root.stdout.trim()}; GET $CONNECT_URL/metrics -> HTTP ${metricsCode} (${metrics.stdout.trim().split('\n')[0]!.slice(0, 200)}); '${ORIGINAL_METRIC}' ${metrics.stdout.includes(ORIGINAL_METRIC) ? 'present' : 'absent'}`,
        );
      });

      const running = await runbookStep(`${watchLine} and ${groupsLine}: the sink running, records applied every second`, async () => {
        const before = await groups();
        const r = await watch('');
        const snapshots = parseLagText(r.stdout);
        await attachJson('lag --watch, sink running', snapshots);
        expect(r.exitCode, `lag --watch exits 0 within the lag SLO: ${r.stdout.slice(-300)}`).toBe(0);
        expect(snapshots, `${WATCH_SNAPSHOTS} snapshots`).toHaveLength(WATCH_SNAPSHOTS);
        for (const s of snapshots) {
          expect(s.group).toBe(`connect-${pipeline.sinkName}`);
          expect(s.heartbeatSeconds! * 1000, `heartbeat at ${s.at}`).toBeLessThan(sloMs);
          expect(s.recordsBehind, `records behind at ${s.at}`).toBeLessThanOrEqual(withinSloRecords);
        }
        // Throughput: the committed offset on the table's partition advances between two readings.
        const after = await pollUntil({ what: `the committed offset of ${topic} to pass ${before.row?.committed} (sink applying)`, limitMs: sloMs * 2, intervalMs: 1_000 }, async () => {
          const now = await groups();
          return { done: (now.row?.committed ?? 0) > (before.row?.committed ?? 0), seen: JSON.stringify(now.row), value: now };
        });
        const appliedPerSecond = (after.row!.committed - before.row!.committed) / ((after.at - before.at) / 1000);
        await attachJson('kafka groups, sink running', { before, after, appliedPerSecond });
        expect(appliedPerSecond, 'records applied per second').toBeGreaterThan(0);
        expect(after.row!.lag, 'LAG on the table partition within the lag SLO').toBeLessThanOrEqual(withinSloRecords);
        return { after, appliedPerSecond };
      });

      const paused = await runbookStep(`${watchLine} and ${groupsLine}: the sink paused, the lag grows and nothing is applied`, async () => {
        const pause = await shell.run(`runbook-harness connector pause ${pipeline.sinkName}`);
        expect(pause.exitCode, pause.stderr).toBe(0);
        const first = await groups();
        const grown = await pollUntil({ what: `LAG on ${topic} past ${2 * withinSloRecords} with the sink paused`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          const now = await groups();
          return { done: (now.row?.lag ?? 0) > 2 * withinSloRecords, seen: JSON.stringify(now.row), value: now };
        });
        await attachJson('kafka groups, sink paused', { first, grown });
        expect(grown.row!.committed, 'the committed offset stands still: 0 records applied per second').toBe(first.row!.committed);
        expect(grown.row!.end, 'while the topic grows').toBeGreaterThan(first.row!.end);
        const r = await watch(`--timeout ${sloSeconds + 1}`);
        const snapshots = parseLagText(r.stdout);
        await attachJson('lag --watch, sink paused', snapshots);
        expect(snapshots, `${WATCH_SNAPSHOTS} snapshots`).toHaveLength(WATCH_SNAPSHOTS);
        expect(r.exitCode, `lag --watch exits 1: the heartbeat breaks the lag SLO (${r.stdout.slice(-300)})`).toBe(1);
        for (const s of snapshots) expect(s.heartbeatTimedOut, `heartbeat at ${s.at} waited its timeout out`).toBe(true);
        const behind = snapshots.map((s) => s.recordsBehind!);
        for (let i = 1; i < behind.length; i++) expect(behind[i], `records behind never falls while paused (${behind.join(' -> ')})`).toBeGreaterThanOrEqual(behind[i - 1]!);
        expect(behind.at(-1)!, `records behind grows (${behind.join(' -> ')})`).toBeGreaterThan(behind[0]!);
        expect(behind[0]!, 'already past the paused group\'s LAG on the table').toBeGreaterThanOrEqual(grown.row!.lag);
        return { peak: behind.at(-1)!, grown };
      });

      await runbookStep(`${watchLine} and ${groupsLine}: resumed, the lag falls`, async () => {
        const resumedAt = Date.now();
        const resume = await shell.run(`runbook-harness connector resume ${pipeline.sinkName}`);
        expect(resume.exitCode, resume.stderr).toBe(0);
        const drained = await pollUntil({ what: `LAG on ${topic} back within ${withinSloRecords} after the resume`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          const now = await groups();
          return { done: now.row !== undefined && now.row.lag <= withinSloRecords, seen: JSON.stringify(now.row), value: now };
        });
        // The backlog's drain rate (to 1 s, the poll interval): records applied from the resume until the lag was back.
        const appliedPerSecond = (drained.row!.committed - paused.grown.row!.committed) / ((drained.at - resumedAt) / 1000);
        const r = await watch('');
        const snapshots = parseLagText(r.stdout);
        await attachJson('lag --watch and kafka groups, resumed', { snapshots, drained, backlogAppliedPerSecond: appliedPerSecond, runningAppliedPerSecond: running.appliedPerSecond });
        expect(r.exitCode, `lag --watch exits 0 again: ${r.stdout.slice(-300)}`).toBe(0);
        expect(drained.row!.committed - paused.grown.row!.committed, 'the backlog was applied').toBeGreaterThanOrEqual(paused.grown.row!.lag);
        for (const s of snapshots) expect(s.recordsBehind!, `records behind at ${s.at}, from ${paused.peak} while paused`).toBeLessThanOrEqual(withinSloRecords);
        await connect.awaitConnectorState(pipeline.sinkName, 'RUNNING');
      });

      await runbookStep('Nothing lost while the sink was paused', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
      });
    });
  }
});

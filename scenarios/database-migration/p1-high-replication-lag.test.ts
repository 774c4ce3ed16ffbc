/**
 * runbooks/database-migration.md — Incident Response Procedures, P1: High Replication Lag.
 * A real lag fault: the target hop is throttled with Toxiproxy while the background workload writes wide rows, until
 * the heartbeat lag passes the P1 threshold of the Alerts table (Replication lag > 60 seconds). Investigation runs
 * the section's commands and queries on the faulted stack; Mitigation raises tasks.max and batch.size the way the
 * section says (the saved config file; the dumped config cannot be deployed back, Change Log row 20), shows that
 * tasks.max is a connector setting that the PostgreSQL source ignores past one task (row 7), and then gives the
 * bottleneck (the target hop) its resources back: the lag must drain under the lag SLO. Nothing acknowledged lost.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { type ConnectorDefinition } from '../../harness/pipeline/connector-config.js';
import { attachJson, attachSamples, attachSql, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { parseLagSnapshot, startConsumerLagSampler } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { expectedHarnessCommands } from '../../harness/scenario/runbook-blocks.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { loadRunbook } from '../../harness/runbook/parse.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE, ensureHeartbeatTable, probeHeartbeat } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'p1-high-replication-lag');
const TABLE = 'customers';
/** Bandwidth left on the target hop (KB/s), well under what the workload writes. */
const THROTTLE_KB_PER_SECOND = 4;
const WRITES_PER_SECOND = 50;
/** Wide rows, so that the throttle bites: about 600 bytes of values per write. */
const PAD = 'x'.repeat(180);
/** Backlog (records) after which a heartbeat written now waits behind more than the P1 threshold of writes. */
const BACKLOG_RECORDS = 20 * WRITES_PER_SECOND;
/** Heartbeat probes asked at most before the lag must have shown past the P1 threshold. */
const P1_PROBE_ROUNDS = 3;
/** How long the drained pipeline is sampled by `lag --watch`. */
const WATCH_SNAPSHOTS = 3;

/** The P1 lag threshold of the Alerts table ("Replication lag > 60 seconds"), in seconds. */
function p1LagSeconds(): number {
  const runbook = loadRunbook('database-migration');
  for (const s of runbook.sections) {
    for (const table of s.tables) {
      const row = table.rows.find((r) => /P1/.test(r[0] ?? '') && /Replication lag/i.test(r[1] ?? ''));
      const seconds = row && /> ?(\d+) seconds/.exec(row[1]!)?.[1];
      if (seconds) return Number(seconds);
    }
  }
  throw new Error(`${runbook.file}: no P1 "Replication lag > N seconds" row in the Alerts table`);
}

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(variant.dialect !== 'postgres' || !variant.runs)(`investigation and mitigation ${variant.label}`, async ({ source, target, pipeline, connect, kafka, faults }) => {
      const stateDir = inject('stackStateDir');
      const sink = pipeline.sinkName;
      const p1Seconds = p1LagSeconds();
      const heartbeat = { source, target, timeoutMs: CONVERGE_LIMIT_MS };

      await resetSampleTables(source, target, [DEFAULT_HEARTBEAT_TABLE]);
      await ensureHeartbeatTable({ source });
      const deployed = await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const configDir = path.join(mkdtempSync(path.join(tmpdir(), 'rh-p1-lag-')), 'config');
      mkdirSync(configDir);
      const save = (file: string, definition: ConnectorDefinition) => {
        writeFileSync(file, JSON.stringify(definition, null, 2), { mode: 0o600 });
        chmodSync(file, 0o600);
      };
      const sinkFile = path.join(configDir, 'postgresql-sink.json');
      const sourceFile = path.join(configDir, 'postgres-source.json');
      save(sinkFile, deployed.sink);
      save(sourceFile, deployed.source);
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0]?.diffCounts)).toBe(true);
      await probeHeartbeat(heartbeat); // the sink creates the heartbeat table
      const baseline = await probeHeartbeat({ ...heartbeat, timeoutMs: 30_000 });
      expect(baseline.lagSeconds * 1000, 'before the fault the pipeline meets the lag SLO').toBeLessThan(lagSloMs());

      const workload = Workload.start(source, {
        table: TABLE,
        keyColumn: 'customer_id',
        shape: (_, n) => ({ name: `writer ${n} ${PAD}`, email_column: `w${n}@example.com ${PAD}`, customer_name: `writer ${n} ${PAD}` }),
        ratePerSecond: WRITES_PER_SECOND,
      });
      const consumerLag = startConsumerLagSampler(() => kafka.sinkLag(sink));
      const throttle = await faults.network.inject('target-db', 'bandwidth', { rate: THROTTLE_KB_PER_SECOND }, 'upstream');

      try {
        await runbookStep('Investigation: lag past the P1 threshold, the sink group, source load, target waits', async () => {
          await pollUntil({ what: `sink consumer group ${BACKLOG_RECORDS} records behind under ${throttle.description}`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
            const lag = await kafka.sinkLag(sink);
            return { done: lag.total >= BACKLOG_RECORDS, seen: `${lag.total} records` };
          });
          const [bash] = section.blocks({ lang: 'bash' });
          const commands = expectedHarnessCommands(bash!.value, { 'connect-postgresql-sink': `connect-${sink}` });
          expect(commands.map((c) => c.args[0]), 'lag, kafka groups').toEqual(['lag', 'kafka']);
          // Each heartbeat probe waits past the P1 threshold (a heartbeat not there by then is a P1 either way); a probe
          // may slip into the sink's next batch, so the section's `lag` is asked again until one shows the P1 lag.
          const snapshots: unknown[] = [];
          const measured = await pollUntil({ what: `runbook-harness lag to show a heartbeat lag past ${p1Seconds} s`, limitMs: P1_PROBE_ROUNDS * (2 * p1Seconds + 30) * 1000, intervalMs: 1_000 }, async () => {
            const lag = await runCli(stateDir, [...commands[0]!.args, '--json', '--slot', pipeline.names.slotName, '--timeout', String(2 * p1Seconds)], (2 * p1Seconds + 60) * 1000);
            const snapshot = parseLagSnapshot(lag.stdout);
            snapshots.push({ exit: lag.code, heartbeat: snapshot?.heartbeat, consumer: snapshot?.consumer.total, stderr: snapshot ? undefined : lag.stderr.slice(0, 300) });
            return { done: lag.code === 1 && (snapshot?.heartbeat.lagSeconds ?? 0) > p1Seconds, seen: `exit ${lag.code}, heartbeat ${snapshot?.heartbeat.lagSeconds ?? '?'} s`, value: snapshot };
          }).catch((e: Error) => e.message);
          await attachJson('lag --json under the fault (each probe)', snapshots);
          expect(typeof measured === 'string' ? measured : '', `heartbeat lag past the P1 threshold (${p1Seconds} s)`).toBe('');
          const groups = await runCli(stateDir, commands[1]!.args);
          const total = Number(/TOTAL LAG (\d+)/.exec(groups.stdout)?.[1]);
          expect(groups.code, groups.stderr).toBe(0);
          expect(total, `kafka groups: the sink's group is behind (${groups.stdout.slice(0, 200)})`).toBeGreaterThanOrEqual(BACKLOG_RECORDS);

          const sourceSql = section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' })[0]!.value;
          const targetSql = section.blocks({ lang: 'sql', side: 'target' })[0]!.value;
          await attachSql('source activity', sourceSql);
          await attachSql('target wait events', targetSql);
          const active = await source.query(sourceSql);
          const waits = await target.query(targetSql);
          await attachJson('source active sessions and target wait events', { active, waits });
          // The source is not the bottleneck: nothing on it runs longer than the lag SLO.
          const long = await source.query(`SELECT pid, query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND now() - query_start > make_interval(secs => $1)`, [String(lagSloMs() / 1000)]);
          expect(long, 'no long-running query on the source').toEqual([]);
        });

        await runbookStep('Mitigation: tasks.max and batch.size are connector settings, raised in the saved config', async () => {
          const row7 = changeLogClaim('database-migration', 7);
          const row20 = changeLogClaim('database-migration', 20);
          const raised = JSON.parse(section.blocks({ lang: 'json' })[0]!.value) as Record<string, string>;
          expect(Object.keys(raised).sort(), 'the section raises tasks.max and batch.size').toEqual(['batch.size', 'tasks.max']);

          // The original route: dump the running config, edit it, deploy the dump. The dump masks the secrets, so
          // deploying it would replace the sink's password with the mask (not done here: it would fail the live sink).
          const before = await connect.getConnectorConfig(sink);
          const dumped = await runCli(stateDir, ['connector', 'config', sink]);
          expect(dumped.code, dumped.stderr).toBe(0);
          const dump = JSON.parse(dumped.stdout) as Record<string, string>;
          const masked = Object.keys(before).filter((k) => /password/i.test(k) && dump[k] !== before[k]);
          await attachJson('the dumped config against the running one', { secretsMasked: masked, maskedAs: masked.map((k) => dump[k]) });
          assertClaim(row20, masked.includes('connection.password') && /\*\*\*/.test(dump['connection.password'] ?? ''), `connector config prints connection.password as ${JSON.stringify(dump['connection.password'])}, not the running value: the dump cannot be deployed back`);

          // The section's route: the saved file, edited, deployed.
          const saved = JSON.parse(readFileSync(sinkFile, 'utf8')) as ConnectorDefinition;
          save(sinkFile, { name: saved.name, config: { ...saved.config, ...raised } });
          const bash = section.blocks({ lang: 'bash' }).find((b) => b.value.includes('connector deploy'))!;
          const commands = expectedHarnessCommands(bash.value, { 'config/postgresql-sink.json': sinkFile });
          expect(commands.map((c) => c.args.slice(0, 2).join(' '))).toEqual(['connector deploy', 'lag --watch']);
          const deployed = await runCli(stateDir, commands[0]!.args);
          expect(deployed.code, deployed.stderr).toBe(0);
          const sinkStatus = await connect.awaitConnectorState(sink, 'RUNNING');
          const applied = await connect.getConnectorConfig(sink);
          expect({ 'tasks.max': applied['tasks.max'], 'batch.size': applied['batch.size'] }).toEqual(raised);
          const wanted = Number(raised['tasks.max']);
          const sinkTasks = await pollUntil({ what: `the sink to run ${wanted} tasks`, limitMs: connect.stateLimitMs }, async () => {
            const s = await connect.getConnectorStatus(sink);
            return { done: s.tasks.length === wanted && s.tasks.every((t) => t.state === 'RUNNING'), seen: s.tasks.map((t) => t.state).join(','), value: s.tasks.length };
          });

          // The same setting on the PostgreSQL source: still one task.
          const sourceSaved = JSON.parse(readFileSync(sourceFile, 'utf8')) as ConnectorDefinition;
          save(sourceFile, { name: sourceSaved.name, config: { ...sourceSaved.config, 'tasks.max': raised['tasks.max']! } });
          const sourceDeployed = await runCli(stateDir, ['connector', 'deploy', pipeline.sourceName, '--file', sourceFile]);
          expect(sourceDeployed.code, sourceDeployed.stderr).toBe(0);
          const sourceStatus = await connect.awaitConnectorState(pipeline.sourceName, 'RUNNING');
          await attachJson('tasks after raising tasks.max', { sink: sinkStatus.tasks.length, sinkTasks, source: sourceStatus.tasks.length });
          assertClaim(row7, sinkTasks === wanted && sourceStatus.tasks.length === 1, `tasks.max ${wanted} on the connectors: sink runs ${sinkTasks} tasks, the PostgreSQL source ${sourceStatus.tasks.length}`);
        });

        await runbookStep('Mitigation: the target is the bottleneck, give it more resources; the lag drains', async () => {
          await throttle.heal();
          await pollUntil({ what: 'the sink to catch up with the writes after the heal', limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
            const lag = await kafka.sinkLag(sink);
            return { done: lag.total <= WRITES_PER_SECOND, seen: `${lag.total} records` };
          });
          const watch = await runCli(stateDir, ['lag', '--watch', '--count', String(WATCH_SNAPSHOTS), '--interval', '1', '--slot', pipeline.names.slotName]);
          const series = await consumerLag.stop();
          await attachSamples('sink consumer-group lag, fault to drain (records)', series.map((s) => ({ t: s.t, records: s.records })));
          expect(watch.code, `lag --watch exits 0 only while the heartbeat meets the lag SLO: ${watch.stdout.slice(-400)}`).toBe(0);
          expect(watch.stdout.match(/^\s*PASS Data replication lag/gm)?.length, 'every lag --watch snapshot within the lag SLO').toBe(WATCH_SNAPSHOTS);
          expect(Math.max(...series.map((s) => s.records)), 'the lag the mitigation drained').toBeGreaterThanOrEqual(BACKLOG_RECORDS);
        });
      } finally {
        await throttle.heal().catch(() => undefined);
        await consumerLag.stop().catch(() => undefined);
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


/**
 * runbooks/database-migration.md — Incident Response, Detection.
 * The Manual Detection commands run twice: on a healthy pipeline (each must pass, or it would cry wolf) and after a
 * real failure (each must flag it). The failure: a constraint added on the target rejects rows the source accepts,
 * so the sink's write fails and its task stops. Each Automated Detection alert is the exit code of the command that
 * implements it. The pipeline is then repaired the way the P0 row of the Alerts table says (restart the failed
 * task), and every acknowledged write of the background workload must reach the target.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { type ConnectorStatus } from '../../harness/pipeline/connect-client.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitState, traceHead } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { expectedHarnessCommands, runSql } from '../../harness/scenario/runbook-blocks.js';
import { type CliResult, runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables, SAMPLE_TABLES } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { probeHeartbeat } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'detection');
const TABLE = 'customers';
/** Names the target's new constraint rejects (the source has no such rule). */
const REJECTED_PREFIX = 'rejected';
const CONSTRAINT = 'rh_detection_name_rule';
/** A heartbeat probe longer than the lag SLO: a probe that waits it out is a breach, not a hang. */
const LAG_PROBE_SECONDS = (2 * lagSloMs()) / 1000;

interface Detection {
  command: string;
  code: number;
  expected?: string;
}

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`manual and automated detection ${variant.label}`, async ({ source, target, pipeline, connect }) => {
      const stateDir = inject('stackStateDir');
      const block = section.blocks({ lang: 'bash' });
      expect(block.length, `${section.file} [${section.id}] has one bash block of manual detection commands`).toBe(1);
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      const snapshot = await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })));
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables.map((t) => t.diffCounts))).toBe(true);
      // `lag` measures with the heartbeat table; the sink creates its target side with the first heartbeat.
      await probeHeartbeat({ source, target, timeoutMs: CONVERGE_LIMIT_MS });

      // The section's commands, with this pipeline's slot and a bounded heartbeat probe for `lag`.
      const commands = expectedHarnessCommands(block[0]!.value).map(({ args, expected }) =>
        args[0] === 'lag' ? { args: [...args, '--slot', pipeline.names.slotName, '--timeout', String(LAG_PROBE_SECONDS)], expected } : { args, expected });
      expect(commands.map((c) => c.args[0]), 'connector status (source, sink), lag, reconcile').toEqual(['connector', 'connector', 'lag', 'reconcile']);
      const runAll = async (): Promise<{ results: CliResult[]; detections: Detection[] }> => {
        const results: CliResult[] = [];
        for (const c of commands) results.push(await runCli(stateDir, c.args));
        return { results, detections: results.map((r, i) => ({ command: r.command, code: r.code, expected: commands[i]!.expected })) };
      };

      await runbookStep('Manual Detection on a healthy pipeline: every command passes', async () => {
        const { results, detections } = await runAll();
        await attachJson('healthy: exit codes', detections);
        for (const r of results) expect(r.code, `${r.command} flags a healthy pipeline: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`).toBe(0);
        for (const r of results.slice(0, 2)) expect(summaryOf(r).state, `${r.command}: Expected RUNNING`).toBe('RUNNING');
      });

      // A real failure: the target gains a rule the source does not have, and the application writes rows it rejects.
      await runSql(target, `ALTER TABLE ${TABLE} ADD CONSTRAINT ${CONSTRAINT} CHECK (name NOT LIKE '${REJECTED_PREFIX}%')`, 'the failure: a target-only constraint');
      const workload = Workload.start(source, {
        table: TABLE,
        keyColumn: 'customer_id',
        shape: (key, n) => ({ name: n % 10 === 5 ? `${REJECTED_PREFIX} ${n}` : `writer ${n}`, email_column: `w${key}@example.com`, customer_name: `writer ${n}` }),
        ratePerSecond: 20,
      });
      const sink = pipeline.sinkName;
      const failed = await awaitState(connect, sink, 'FAILED', CONVERGE_LIMIT_MS);
      await attachJson('sink status after the rejected writes (REST)', failed.status);
      expect(failed.reached, `the sink did not fail within ${CONVERGE_LIMIT_MS / 1000} s: ${JSON.stringify(failed.status.tasks.map((t) => t.state))}`).toBe(true);
      await workload.mark(); // rows written after the failure: the row counts must now differ

      const found = await runbookStep('Manual Detection after the failure: the commands find it', async () => {
        const { results, detections } = await runAll();
        await attachJson('failed sink: exit codes', detections);
        const [sourceStatus, sinkStatus, lag, reconcile] = results as [CliResult, CliResult, CliResult, CliResult];
        expect(sourceStatus.code, 'the source connector is healthy and says so').toBe(0);
        expect(sinkStatus.code, 'connector status exits non-zero for the failed sink').toBe(1);
        const sinkSummary = summaryOf(sinkStatus);
        expect(sinkSummary.tasks).toEqual(['FAILED']);
        // "a FAILED task shows its trace": the trace names the real cause.
        expect(sinkSummary.trace, 'the failed task shows its trace, naming the constraint').toMatch(new RegExp(CONSTRAINT));
        expect(lag.code, `lag exits 1: the heartbeat breaks the lag SLO while the sink is down (${lag.stdout.slice(0, 300)})`).toBe(1);
        expect(reconcile.code, `reconcile --row-count-only exits 1 on the missing rows (${reconcile.stdout.slice(0, 300)})`).toBe(1);
        return detections;
      });

      await runbookStep('Automated Detection: each alert is the exit code of the command behind it', async () => {
        const alerts = sectionLines().filter((l) => l.startsWith('- ')).map((l) => l.slice(2));
        const behind: Record<string, string> = { 'Connector status alerts': 'runbook-harness connector status', 'Replication lag threshold alerts': 'runbook-harness lag', 'Validation failure alerts': 'runbook-harness reconcile' };
        const fired = Object.fromEntries(alerts.map((a) => [a, found.filter((d) => behind[a] && d.command.startsWith(behind[a]!) && d.code === 1).map((d) => d.command)]));
        await attachJson('alerts and the commands that fired', fired);
        expect(alerts, `${section.file}: the Automated Detection alerts, each with its command here`).toEqual(Object.keys(behind));
        for (const alert of alerts) expect(fired[alert]!.length, `${alert} did not fire on the failed sink`).toBeGreaterThan(0);
      });

      await runbookStep('Repair (Alerts, P0: restart failed tasks): drop the target-only rule, restart the failed task', async () => {
        await runSql(target, `ALTER TABLE ${TABLE} DROP CONSTRAINT ${CONSTRAINT}`, 'remove the target-only constraint');
        const restarted = await runCli(stateDir, ['connector', 'restart', sink, '--include-tasks', '--only-failed']);
        expect(restarted.code, restarted.stderr).toBe(0);
        const drained = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
        expect(drained.drained, 'the sink applied the backlog after the restart').toBe(true);
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const { converged, report, verdict, history } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        expect(history.writes.filter((w) => w.row?.name?.startsWith(REJECTED_PREFIX)).length, 'the workload wrote rows the constraint rejected').toBeGreaterThan(0);
      });
    });
  }
});

/** The section's own lines (trimmed) from the runbook file: the Automated Detection list is prose, not a block. */
function sectionLines(): string[] {
  const lines = readFileSync(path.resolve(fileURLToPath(new URL('../..', import.meta.url)), section.file), 'utf8').split('\n');
  return lines.slice(section.line, section.endLine).map((l) => l.trim());
}

function summaryOf(result: CliResult): { state: string; tasks: string[]; trace: string } {
  const status = JSON.parse(result.stdout) as ConnectorStatus;
  return { state: status.connector.state === 'RUNNING' && status.tasks.every((t) => t.state === 'RUNNING') ? 'RUNNING' : status.connector.state, tasks: status.tasks.map((t) => t.state), trace: traceHead(status) };
}

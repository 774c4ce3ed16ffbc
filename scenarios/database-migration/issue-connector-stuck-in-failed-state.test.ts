/**
 * runbooks/database-migration.md — Common Issues & Solutions, Issue: Connector Stuck in FAILED State.
 * Two real failures of the source connector, which captures as a role of its own.
 * 1. An administrator disables the role's login and its sessions are cut: Debezium counts that as retriable and
 *    restarts the task every 10 s for ever, errors.max.retries notwithstanding, so status shows RUNNING with no trace
 *    while nothing is captured and the slot is inactive (Change Log row 19); with the login back it resumes by itself.
 * 2. No real cause was found that fails the source task for good (a refused login retries for ever; idle sessions
 *    killed under it are reconnected), so the FAILED procedure runs on the sink: the target gains a rule the source
 *    does not have and the sink's write fails. Symptoms and Diagnosis run the section's command; the Solution runs
 *    after the rule is dropped, so that only the restart decides whether the task runs again: a plain connector
 *    restart leaves it FAILED (Change Log row 5), the section's restart --include-tasks --only-failed brings it back,
 *    and the delete-and-recreate fallback keeps the offsets (no second snapshot).
 * Every acknowledged write of the background workload must reach the target.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { type ConnectorStatus } from '../../harness/pipeline/connect-client.js';
import { registerSecrets } from '../../harness/report/secrets.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitState, traceHead, watchState } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { expectedHarnessCommands, runSql } from '../../harness/scenario/runbook-blocks.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables, SAMPLE_TABLES } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'issue-connector-stuck-in-failed-state');
const TABLE = 'customers';
/** The seed rows of customers: the workload never touches them, so each is in the topic once per snapshot. */
const SEED_KEYS = [1, 2, 3];
/** How long a FAILED task is watched for a recovery nobody asked for: several lag SLOs. */
const WATCH_FAILED_MS = 4 * lagSloMs();
/** How long the refused login is watched: three of Debezium's 10 s restart back-offs, more than BOUNDED_RETRIES. */
const HIDDEN_WINDOW_MS = 30_000;
const BOUNDED_RETRIES = 1;
/** Names the target's constraint rejects (the source has no such rule). */
const REJECTED_PREFIX = 'rejected';
const CONSTRAINT = 'rh_stuck_name_rule';

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(variant.dialect !== 'postgres' || !variant.runs)(`symptoms, diagnosis and solution ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const stateDir = inject('stackStateDir');
      const name = pipeline.sourceName;
      const role = `rh_cdc_${randomBytes(3).toString('hex')}`;
      const password = randomBytes(18).toString('base64url');
      registerSecrets(password);

      await resetSampleTables(source, target);
      await source.query(`CREATE ROLE ${role} LOGIN SUPERUSER REPLICATION PASSWORD '${password}'`);
      try {
        const deployed = await pipeline.deploy({
          tables: [...SAMPLE_TABLES],
          source: { 'database.user': role, 'database.password': password, 'errors.max.retries': String(BOUNDED_RETRIES) },
        });
        // The operator's saved config (Configure Debezium Connector): what the fallback redeploys. Mode 0600: it holds a secret.
        const configDir = path.join(mkdtempSync(path.join(tmpdir(), 'rh-connector-stuck-')), 'config');
        mkdirSync(configDir);
        const configFile = path.join(configDir, 'postgres-source.json');
        writeFileSync(configFile, JSON.stringify(deployed.source, null, 2), { mode: 0o600 });
        chmodSync(configFile, 0o600);
        const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
        expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0]?.diffCounts)).toBe(true);
        const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (key, n) => ({ name: `writer ${n}`, email_column: `w${key}@example.com` }), ratePerSecond: 20 });
        await awaitDrained(target, TABLE, 'customer_id', await workload.mark());

        // Failure 1: the capture role loses its login and its sessions are cut; the task cannot reconnect.
        await runSql(source, `ALTER ROLE ${role} NOLOGIN`, 'an administrator disables the capture role');
        const cut = await source.query(`SELECT pg_terminate_backend(pid)::text AS terminated FROM pg_stat_activity WHERE usename = $1`, [role]);
        await attachJson('capture sessions cut', cut);
        expect(cut.length, 'the connector had sessions as its own role').toBeGreaterThan(0);
        const bash = section.blocks({ lang: 'bash' });
        const blockWith = (text: string) => bash.find((b) => b.value.includes(text))!.value;

        await runbookStep('Symptoms: a retriable failure never shows FAILED; the inactive slot shows it', async () => {
          const row19 = changeLogClaim('database-migration', 19);
          const hidden = await watchState(connect, name, 'RUNNING', HIDDEN_WINDOW_MS);
          const marker = await workload.mark();
          const captured = await awaitDrained(target, TABLE, 'customer_id', marker, lagSloMs());
          const cli = await runCli(stateDir, ['connector', 'status', name]);
          const status = JSON.parse(cli.stdout) as ConnectorStatus;
          const [slot] = await source.query(`SELECT active::text AS active FROM pg_replication_slots WHERE slot_name = $1`, [pipeline.names.slotName]);
          await attachJson('while the login is refused', { errorsMaxRetries: BOUNDED_RETRIES, stayedRunning: hidden.stayed, left: hidden.left, markerReplicated: captured.drained, statusExit: cli.code, trace: traceHead(status) || '(none)', slotActive: slot?.active });
          expect(captured.drained, 'nothing is captured while the login is refused').toBe(false);
          expect(slot?.active, 'the slot is inactive: nobody streams from it').toBe('false');
          assertClaim(row19, hidden.stayed && cli.code === 0 && traceHead(status) === '', `errors.max.retries ${BOUNDED_RETRIES}, login refused for ${HIDDEN_WINDOW_MS / 1000} s (${HIDDEN_WINDOW_MS / 10_000} restart back-offs): ${hidden.stayed ? 'RUNNING at every poll' : `left RUNNING: ${hidden.left}`}; status exit ${cli.code}, trace ${traceHead(status) ? 'present' : 'none'}; slot active ${slot?.active}`);
          await runSql(source, `ALTER ROLE ${role} LOGIN`, 'the cause fixed: the login given back');
          const recovered = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
          expect(recovered.drained, 'once it may log in the task resumes by itself').toBe(true);
        });

        // Failure 2. No real cause found that fails the *source* task for good (a refused login retries for ever; killed
        // idle sessions are reconnected): the section's FAILED procedure runs on the sink, whose write fails on a rule
        // the target has and the source does not (a real failure that stops the task).
        const sink = pipeline.sinkName;
        await runSql(target, `ALTER TABLE ${TABLE} ADD CONSTRAINT ${CONSTRAINT} CHECK (name NOT LIKE '${REJECTED_PREFIX}%')`, 'a target-only constraint');
        workload.setShape((key, n) => ({ name: n % 5 === 0 ? `${REJECTED_PREFIX} ${n}` : `writer ${n}`, email_column: `w${key}@example.com` }));
        const failed = await awaitState(connect, sink, 'FAILED', CONVERGE_LIMIT_MS);
        await attachJson('sink status after the rejected writes (REST)', failed.status);
        expect(failed.reached, `the sink did not fail within ${CONVERGE_LIMIT_MS / 1000} s: ${summary(failed.status)}`).toBe(true);
        const onSink = (text: string) => text.replaceAll(name, sink);

        const symptoms = expectedHarnessCommands(onSink(blockWith('# The trace of the failed connector or task')));
        await runbookStep('Symptoms: connector status shows the connector or a task FAILED', async () => {
          const cli = await runCli(stateDir, ['connector', 'status', sink]);
          expect(cli.code, 'connector status exits non-zero for a FAILED task').toBe(1);
          const status = JSON.parse(cli.stdout) as ConnectorStatus;
          expect([status.connector.state, ...status.tasks.map((t) => t.state)], 'the connector or a task is FAILED').toContain('FAILED');
          const stays = await watchState(connect, sink, 'FAILED', WATCH_FAILED_MS);
          expect(stays.stayed, `Kafka Connect restarted the task by itself: ${stays.left}`).toBe(true);
        });

        await runbookStep('Diagnosis: the trace of the failed connector or task', async () => {
          expect(symptoms.map((c) => c.args.join(' ')), 'the diagnosis command').toEqual([`connector status ${sink}`]);
          const cli = await runCli(stateDir, symptoms[0]!.args);
          const trace = traceHead(JSON.parse(cli.stdout) as ConnectorStatus, 1_000);
          await attachJson('the trace: its error and cause lines', trace.split('\n').filter((l) => /Exception|ERROR|Caused by/.test(l)).slice(0, 10));
          expect(trace, 'the trace names the constraint').toMatch(new RegExp(CONSTRAINT));
        });

        workload.setShape((key, n) => ({ name: `writer ${n}`, email_column: `w${key}@example.com` }));
        await runSql(target, `ALTER TABLE ${TABLE} DROP CONSTRAINT ${CONSTRAINT}`, 'the cause fixed: the target-only constraint removed');

        await runbookStep('Solution: a plain connector restart leaves failed tasks failed; restart with --include-tasks --only-failed', async () => {
          const row5 = changeLogClaim('database-migration', 5);
          const plain = await connect.restartConnector(sink, { expect: 'FAILED' });
          const afterPlain = await watchState(connect, sink, 'FAILED', WATCH_FAILED_MS);
          await attachJson('after POST /restart (connector only)', { plain: summary(plain), afterPlain: afterPlain.stayed ? 'still FAILED' : afterPlain.left });
          assertClaim(row5, afterPlain.stayed, `after POST /connectors/${sink}/restart with the cause fixed: task ${afterPlain.stayed ? `still FAILED for ${WATCH_FAILED_MS / 1000} s` : `left FAILED: ${afterPlain.left}`}`);

          const [retry] = blockWith('--only-failed').split('# If it fails again');
          const solution = expectedHarnessCommands(onSink(retry!));
          expect(solution.map((c) => c.args.slice(0, 2).join(' ') + ' ' + c.args[2]), 'restart, status').toEqual([`connector restart ${sink}`, `connector status ${sink}`]);
          const restarted = await runCli(stateDir, solution[0]!.args);
          expect(restarted.code, restarted.stderr).toBe(0);
          const status = await runCli(stateDir, solution[1]!.args);
          expect(solution[1]!.expected).toBe('RUNNING');
          assertClaim(row5, status.code === 0, `after restart --include-tasks --only-failed: ${summary(JSON.parse(status.stdout) as ConnectorStatus)}`);
          const drained = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
          expect(drained.drained, 'the sink applied the backlog after the restart').toBe(true);
        });

        await runbookStep('Solution: if it fails again, delete and recreate (offsets are kept)', async () => {
          const solution = expectedHarnessCommands(blockWith('--only-failed'), { 'config/postgres-source.json': configFile });
          const before = await connect.getOffsets(name);
          const seedEventsBefore = await seedEvents(kafka, pipeline.topicOf(TABLE));
          const deleted = await runCli(stateDir, solution[2]!.args);
          expect(deleted.code, deleted.stderr).toBe(0);
          const redeployed = await runCli(stateDir, solution[3]!.args);
          expect(redeployed.code, redeployed.stderr).toBe(0);
          const drained = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
          expect(drained.drained, 'the recreated connector captures').toBe(true);
          const after = await connect.getOffsets(name);
          const seedEventsAfter = await seedEvents(kafka, pipeline.topicOf(TABLE));
          await attachJson('offsets and snapshot records around the recreate', { before, after, seedEventsBefore, seedEventsAfter });
          expect(after.offsets.length, 'the recreated connector has stored offsets').toBeGreaterThan(0);
          expect(seedEventsAfter, 'no second snapshot: each seed row is in the topic once').toEqual(seedEventsBefore);
          expect(seedEventsBefore).toEqual(SEED_KEYS.map(() => 1));
        });

        await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
          const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
          expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
          expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        });
      } finally {
        await pipeline.teardown();
        await source.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
        await target.query(`ALTER TABLE IF EXISTS ${TABLE} DROP CONSTRAINT IF EXISTS ${CONSTRAINT}`).catch(() => undefined);
      }
    });
  }
});

function summary(status: ConnectorStatus): string {
  return `connector ${status.connector.state}, tasks ${status.tasks.map((t) => t.state).join(',') || 'none'}`;
}

/** How many change events of each seed key the table's topic holds (a snapshot adds one per key). */
async function seedEvents(kafka: { read(topic: string, options?: { limitMs?: number }): Promise<{ key: string | null }[]> }, topic: string): Promise<number[]> {
  const messages = await kafka.read(topic, { limitMs: 10_000 });
  return SEED_KEYS.map((k) => messages.filter((m) => m.key !== null && new RegExp(`"customer_id":${k}[,}]`).test(m.key)).length);
}

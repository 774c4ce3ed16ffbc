/**
 * runbooks/schema-evolution.md — Emergency 1: Sink Connector in FAILED State.
 * A real failure: the source widens orders.notes (a compatible ALTER TYPE the sink never carries over) and a
 * workload writes notes longer than the replica column, so the sink's write fails with "value too long".
 * Every Immediate Action runs in order; the restart claims of Change Log row 7 are checked after the schema
 * fix (so that only the restart decides whether the task runs again). Nothing acknowledged may be lost.
 */
import { inject } from 'vitest';
import { summariseState } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachSql, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { awaitState, traceHead, watchState } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS, describeTable, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { referencedStepSql, runSql } from '../../harness/scenario/runbook-blocks.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'emergency-1-sink-connector-in-failed-state');
const TABLE = 'orders';
const COLUMN = 'notes';
/** The replica column as the sink created it (column.propagate.source.type) and the source's new width. */
const REPLICA_WIDTH = 500;
const SOURCE_WIDTH = 2000;
/** A note that fits the source's new width but not the replica's. */
const LONG_NOTE = 'n'.repeat(REPLICA_WIDTH + 100);
/** How long a FAILED task is watched for a recovery nobody asked for: several lag SLOs. */
const WATCH_FAILED_MS = 4 * lagSloMs();

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`immediate actions ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const stateDir = inject('stackStateDir');
      const sink = pipeline.sinkName;

      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
      const before = (await describeTable(target, TABLE)).find((c) => c.column_name === COLUMN);
      expect(before?.character_maximum_length, 'the sink created the replica column with the source width').toBe(String(REPLICA_WIDTH));

      // The recent schema change: widen the source column. The sink never retypes the replica column.
      const widen = dialect === 'postgres' ? `ALTER TABLE public.${TABLE} ALTER COLUMN ${COLUMN} TYPE VARCHAR(${SOURCE_WIDTH});` : `ALTER TABLE dbo.${TABLE} ALTER COLUMN ${COLUMN} VARCHAR(${SOURCE_WIDTH}) NULL;`;
      await runSql(source, widen, 'the recent schema change on the source');
      const workload = Workload.start(source, {
        table: TABLE,
        keyColumn: 'order_id',
        shape: (_, n) => ({ customer_id: '1', amount: `${n % 1000}.50`, notes: n % 4 === 0 ? `${n} ${LONG_NOTE}` : `note ${n}` }),
        ratePerSecond: 20,
      });

      const failed = await runbookStep(`1. ${section.step(1).title}`, async () => {
        const reached = await awaitState(connect, sink, 'FAILED', CONVERGE_LIMIT_MS);
        await attachJson('sink status (REST)', reached.status);
        expect(reached.reached, `sink not FAILED within ${CONVERGE_LIMIT_MS / 1000} s: ${JSON.stringify(reached.status.tasks.map((t) => t.state))}`).toBe(true);
        const cli = await runCli(stateDir, ['connector', 'status', sink]);
        expect(cli.code, 'connector status exits non-zero for a FAILED task').not.toBe(0);
        const status = JSON.parse(cli.stdout) as typeof reached.status;
        expect(status.tasks.map((t) => t.state)).toEqual(['FAILED']);
        // Connect never restarts a FAILED task by itself (Change Log row 7, first half).
        const watched = await watchState(connect, sink, 'FAILED', WATCH_FAILED_MS);
        assertClaim(changeLogClaim('schema-evolution', 7), watched.stayed, watched.stayed ? `task still FAILED after ${WATCH_FAILED_MS / 1000} s, nobody restarted it` : `task left FAILED by itself: ${watched.left}`);
        return { status, trace: traceHead(status) };
      });

      await runbookStep(`2. ${section.step(2).title}`, async () => {
        // A PostgreSQL source has no schema-change topic: the runbook sends us to compare the columns instead.
        const schemaTopicExists = await kafka.exists(pipeline.names.topicPrefix);
        const schemaTopic = schemaTopicExists ? await kafka.read(pipeline.names.topicPrefix, { maxMessages: 10, limitMs: 5_000 }) : [];
        await attachJson('schema change topic messages', { topic: pipeline.names.topicPrefix, exists: schemaTopicExists, messages: schemaTopic });
        if (dialect === 'postgres') expect(schemaTopicExists, `no schema-change topic ${pipeline.names.topicPrefix}`).toBe(false);
        const fill = (sql: string) => sql.replaceAll('<table_name>', TABLE).replaceAll('<column_name>', COLUMN);
        const sourceSql = fill(referencedStepSql('schema-evolution', 'issue-column-type-mismatch', 2, { side: 'source', dialect }));
        const targetSql = fill(referencedStepSql('schema-evolution', 'issue-column-type-mismatch', 2, { side: 'target' }));
        await attachSql('compare types (source)', sourceSql);
        await attachSql('compare types (target)', targetSql);
        const [s] = await source.query(sourceSql);
        const [t] = await target.query(targetSql);
        await attachJson('column on each side', { source: s, target: t });
        expect(Number(s?.character_maximum_length ?? s?.CHARACTER_MAXIMUM_LENGTH)).toBe(SOURCE_WIDTH);
        expect(Number(t?.character_maximum_length)).toBe(REPLICA_WIDTH);
      });

      await runbookStep(`3. ${section.step(3).title}`, async () => {
        // The step lists causes as "message": meaning; "..." in a message stands for any text.
        const causes = [...section.step(3).text.matchAll(/"([^"]+)":/g)].map((m) => m[1]!);
        const matching = causes.filter((cause) => new RegExp(cause.split('...').map((p) => p.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*'), 'i').test(failed.trace));
        await attachJson('root causes the runbook lists, and those the trace matches', { causes, matching, trace: failed.trace.split('\n').filter((l) => /ERROR|Caused by/.test(l)) });
        expect(causes.length).toBeGreaterThan(0);
        expect(matching).toEqual(['value too long']);
      });

      await runbookStep(`4. ${section.step(4).title}`, async () => {
        // The runbook's command; with the schema still wrong the task must fail again at once.
        await runCli(stateDir, ['connector', 'restart', sink, '--include-tasks', '--only-failed']);
        const again = await awaitState(connect, sink, 'FAILED', CONVERGE_LIMIT_MS);
        await attachJson('sink status after the restart', again.status);
        expect(again.reached, 'the restarted task should fail again while the replica column is too narrow').toBe(true);
        expect(traceHead(again.status)).toMatch(/value too long/);
      });

      await runbookStep(`5. ${section.step(5).title}`, async () => {
        const cli = await runCli(stateDir, ['kafka', 'consume', '--topic', pipeline.dlqTopic, '--from-beginning', '--headers', '--timeout-ms', '10000']);
        expect(cli.code).toBe(0);
        const dlq = await kafka.read(pipeline.dlqTopic, { limitMs: 10_000 });
        await attachJson('DLQ messages', dlq);
        // The runbook (corrected): a write error never reaches the DLQ; the failed batch stays uncommitted.
        const sentence = /A write error[^.]*\./i.exec(section.step(5).text)?.[0].trim() ?? section.step(5).text.slice(0, 200);
        assertClaim(
          { runbook: section.runbook, file: section.file, sectionId: section.id, sectionTitle: section.title, line: section.step(5).line, text: sentence },
          /write error[^.]*never reaches the DLQ/i.test(sentence) && dlq.length === 0,
          `${dlq.length} DLQ messages while the task is FAILED on a write error`,
        );
        const lag = await kafka.sinkLag(sink);
        await attachJson('sink consumer-group lag (the failed batch and everything after it)', lag);
        expect(lag.total).toBeGreaterThan(0);
      });

      await runbookStep(`6. ${section.step(6).title}`, async () => {
        // The runbook's fix for "value too long": widen the replica column (the statement for this table).
        const statements = section.stepSql(6, { side: 'target' }).split(';').map((s) => s.trim()).filter((s) => s && !s.startsWith('--'));
        const fix = statements.find((s) => new RegExp(`\\b${TABLE}\\b`).test(s) && new RegExp(`\\b${COLUMN}\\b`).test(s));
        expect(fix, `step 6 has a fix for ${TABLE}.${COLUMN}`).toBeDefined();
        await runSql(target, `${fix};`, 'schema fix on the replica');
        const after = (await describeTable(target, TABLE)).find((c) => c.column_name === COLUMN);
        await attachJson('replica column after the fix', after);
        expect(after?.data_type).toBe('text');
      });

      await runbookStep(`7. ${section.step(7).title}`, async () => {
        // Change Log row 7: with the schema fixed, neither resume nor a connector-only restart revives the task.
        const row7 = changeLogClaim('schema-evolution', 7);
        const resume = summariseState(await connect.resumeConnector(sink, 'FAILED'));
        const afterResume = await watchState(connect, sink, 'FAILED', WATCH_FAILED_MS / 2);
        const restart = summariseState(await connect.restartConnector(sink, { expect: 'FAILED' }));
        const afterRestart = await watchState(connect, sink, 'FAILED', WATCH_FAILED_MS / 2);
        await attachJson('resume and connector-only restart after the fix', { resume, afterResume, restart, afterRestart });
        assertClaim(row7, afterResume.stayed, `after PUT /resume: ${resume}; task ${afterResume.stayed ? 'still FAILED' : `left FAILED: ${afterResume.left}`}`);
        assertClaim(row7, afterRestart.stayed, `after POST /restart (connector only): ${restart}; task ${afterRestart.stayed ? 'still FAILED' : `left FAILED: ${afterRestart.left}`}`);

        const restarted = await runCli(stateDir, ['connector', 'restart', sink, '--include-tasks', '--only-failed']);
        expect(restarted.code, restarted.stderr).toBe(0);
        const status = await runCli(stateDir, ['connector', 'status', sink]);
        const expected = section.step(7).expected;
        expect(expected).toEqual(['connector and tasks RUNNING']);
        const parsed = JSON.parse(status.stdout) as { connector: { state: string }; tasks: { state: string }[] };
        assertClaim(row7, status.code === 0 && parsed.connector.state === 'RUNNING' && parsed.tasks.every((t) => t.state === 'RUNNING'), `after restart --include-tasks --only-failed: connector ${parsed.connector.state}, tasks ${parsed.tasks.map((t) => t.state).join(',')}`);
        const stays = await watchState(connect, sink, 'RUNNING', lagSloMs());
        expect(stays.stayed, `the task failed again after the fix: ${traceHead(stays.status, 5)}`).toBe(true);
        const drained = await awaitDrained(target, TABLE, 'order_id', await workload.mark());
        await attachJson('sink drained the backlog', drained);
        expect(drained.drained).toBe(true);
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const history = await workload.stop();
        const converged = await awaitConverged(source, target, [{ table: TABLE }]);
        await attachJson('reconciliation report', converged.report);
        const dlq = await kafka.count(pipeline.dlqTopic);
        const verdict = await checkHistory(history, target, { excusedKeys: [] });
        const longNotes = history.writes.filter((w) => (w.row?.notes?.length ?? 0) > REPLICA_WIDTH).length;
        await attachJson('acknowledged-write check', { ...verdict, dlqMessages: dlq, writesWithLongNotes: longNotes, errors: history.errors.slice(0, 20) });
        expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
        expect(dlq, 'no row went to the DLQ, so none is excused').toBe(0);
        expect(longNotes, 'the workload wrote the notes that failed the sink').toBeGreaterThan(0);
      });
    });
  }
});

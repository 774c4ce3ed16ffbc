/**
 * runbooks/database-migration.md — Incident Response, P0: Debezium Connector Failed During Cutover, for real.
 * The application is a client writing and reading through the pooler. The source connector is deployed with
 * `errors.max.retries=0` (with Debezium's default, -1, a lost connection is retried for ever and never shows FAILED:
 * Change Log row 19). A cutover starts; as it reaches step 3 (drain) the source connector's replication connection is
 * terminated on the source (pg_terminate_backend of the slot's walsender: what a failover, a DBA or a network cut
 * does), and the connector FAILS. The drain marker never reaches the target, the step runs out of its limit, and the
 * cutover undoes itself before the switch (source unfenced, pooler resumed on the source).
 * Then the section as written: Immediate Actions (status shows FAILED; the application is on the source already, so
 * Emergency Rollback has nothing to roll back, and run there it pauses the application and stops: Change Log row 26;
 * SELECT 1), Investigation (the trace, `status`, the slot query: the slot is kept, inactive), Resolution (restart
 * --include-tasks --only-failed, then the delete-and-recreate fallback from the saved deploy file), then "start again
 * from Validate Data Consistency" (its reconcile lines, 100 %) and a new cutover, which succeeds.
 * Nothing lost: every write the application had acknowledged is in the target as written; failed requests counted.
 */
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { cutover } from '../../harness/migrate/cutover.js';
import type { ReversePipeline } from '../../harness/migrate/reverse-pipeline.js';
import { rollback } from '../../harness/migrate/rollback.js';
import type { StepEvent, StepWrapper } from '../../harness/migrate/steps.js';
import type { ConnectorStatus } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { APP_KEY, APP_TABLE, appShape, awaitAcknowledged, cutoverInputs, poolerAdmin, restoreStack, startApplication, stopApplication } from '../../harness/scenario/cutover-rehearsal.js';
import { commandLines, migrationShell, writeDeployFiles } from '../../harness/scenario/migration-shell.js';
import { verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitState, traceHead } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { referencedSectionBlocks, statementsWithExpected } from '../../harness/scenario/runbook-blocks.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { AppClient } from '../../harness/workload/app-client.js';

const section = runbookSection('database-migration', 'p0-debezium-connector-failed-during-cutover');
const SQL_SERVER_SKIP = 'the cutover moves a PostgreSQL application through PgBouncer; a SQL Server source has no pooler here';
const SEED_ROWS = 200;
const WRITES_PER_PHASE = 30;
/** A lost connection fails the source connector instead of being retried for ever (Debezium's default, -1). */
const NO_RETRIES = { 'errors.max.retries': '0' };
/** The tables and slot the runbook's lines name; this migration moves the application's table on its own slot. */
const RUNBOOK_TABLES = 'customers,orders,products';
const RUNBOOK_SLOT = 'debezium_warehouse';

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`the source connector fails during a cutover: immediate actions, investigation, resolution, a new cutover ${variant.label}`, async ({ endpoints, source, target, connect, pipeline, pgTools }) => {
      const bash = section.blocks({ lang: 'bash' });
      const [checkBlock, poolerBlock, selectBlock, investigationBlock, resolutionBlock] = bash.map((b) => commandLines(b.value)) as [string[], string[], string[], string[], string[]];
      expect(section.step(2).codeBlocks.map((b) => commandLines(b.value)), 'step 2 checks the pooler').toEqual([poolerBlock]);
      const [slotQuery] = statementsWithExpected(section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' })[0]!.value);
      const validateLines = commandLines(referencedSectionBlocks('database-migration', 'validate-data-consistency')[0]!.value).slice(0, 2);
      expect(validateLines.map((l) => l.split(' ').slice(0, 2).join(' ')), 'Validate Data Consistency: counts, then checksums').toEqual(['runbook-harness reconcile', 'runbook-harness reconcile']);

      const started = await startApplication({ endpoints, source, target, pipeline, pgTools }, { seedRows: SEED_ROWS, writes: WRITES_PER_PHASE, limitMs: CONVERGE_LIMIT_MS, sourceConfig: NO_RETRIES });
      const first = started.client;
      expect(started.snapshot.converged, JSON.stringify(started.snapshot.report.tables[0]?.diffCounts)).toBe(true);
      expect(started.poolerPort, 'the application starts on the source').toBe(endpoints.source.port);
      const clients: AppClient[] = [first];
      let reverse: ReversePipeline | undefined;
      onTestFinished(async () => {
        for (const c of clients) if (!c.stopped) await stopApplication(c, 'stopped early');
        await restoreStack(endpoints, source, target, connect, reverse);
      });
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix, variables: { POOLER_ADMIN_URL: endpoints.pooler!.adminUrl } });
      onTestFinished(() => shell.dispose());
      // config/postgres-source.json as Configure Debezium Connector saves it: what the recreate fallback deploys.
      writeDeployFiles(shell, [(await connect.getConnectorConfig(pipeline.sourceName).then((config) => ({ name: pipeline.sourceName, config })))]);
      const slot = pipeline.names.slotName;
      const pooler = poolerAdmin(endpoints);

      // The incident: the cutover reaches its drain, and the source connector loses its replication connection.
      const failedCutover = await runbookStep('During the cutover: the source connector fails as the drain begins (its replication connection terminated)', async () => {
        const events: StepEvent[] = [];
        let terminated: string[] = [];
        const around: StepWrapper = async (step, body) => {
          if (step === 'drain') terminated = (await source.query('SELECT pg_terminate_backend(active_pid)::text AS t FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [slot])).map((r) => r.t!);
          return body();
        };
        const result = await cutover({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events, pipeline.sourceName), around });
        if (result.switched) reverse = result.reverse; // a cutover that went through: its reverse pipeline is removed at the end
        await attachJson('cutover events', events);
        expect(terminated, 'the slot\'s walsender was terminated').toEqual(['true']);
        expect(result.ok, 'the cutover does not complete').toBe(false);
        expect(result.failed?.name, `the step that failed: ${result.failed?.error}`).toBe('drain');
        // The drain watches the connectors: it stops on the FAILED source, not at the end of its limit.
        expect(result.failed?.error, 'the drain names the failed connector').toMatch(new RegExp(`connector ${pipeline.sourceName} FAILED during the drain`));
        expect(result.switched, 'it stopped before the switch').toBe(false);
        expect(result.undone?.ok, `the undo: ${JSON.stringify(result.undone)}`).toBe(true);
        expect(result.undone!.steps.map((s) => s.name), 'what the undo did').toEqual(['undo:unfence-source', 'undo:resume-pooler-on-source']);
        return { result, failedAt: Date.now() };
      });

      await runbookStep(`1. ${section.step(1).title} ${checkBlock[0]}`, async () => {
        const run = await shell.run(checkBlock[0]!);
        const status = JSON.parse(run.stdout) as ConnectorStatus;
        expect(run.exitCode, 'connector status exits 1 on a failed task').toBe(1);
        expect(status.tasks.map((t) => t.state), 'the source task is FAILED').toEqual(['FAILED']);
      });

      await runbookStep(`2. ${section.step(2).title}`, async () => {
        const row26 = changeLogClaim('database-migration', 26);
        // Where the undo left the application: the step's check as written, then the role's fence on the source.
        const shown = await shell.run(poolerBlock[0]!);
        expect(shown.exitCode, shown.stderr).toBe(0);
        const app = psqlRows(shown.stdout).find((r) => r.name === endpoints.pooler!.database);
        await attachJson('SHOW DATABASES: the application entry', app ?? {});
        const at = { port: Number(app?.port) };
        const paused = app?.paused;
        const [fence] = await source.query(`SELECT count(*)::int AS n FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = $1 AND array_to_string(s.setconfig, ',') LIKE '%default_transaction_read_only%'`, [endpoints.pooler!.appRole]);
        const writing = await awaitAcknowledged(first, endpoints.source.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS, failedCutover.failedAt);
        // Emergency Rollback, run on this state: its step 3 needs the reverse pipeline the undo removed.
        const events: StepEvent[] = [];
        const back = await rollback({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events) });
        const pausedByRollback = (await pooler.databaseRow()).paused;
        await attachJson('the application after the undo; Emergency Rollback run on it', { poolerPointsAt: at, paused, sourceFence: fence?.n, acknowledgedOnSourceSince: writing, rollback: { ok: back.ok, failed: back.failed, ran: back.steps.map((s) => s.name) }, poolerPausedAfterRollback: pausedByRollback, events });
        await restoreStack(endpoints, source, target, connect);
        assertClaim(row26, at.port === endpoints.source.port && paused === '0' && Number(fence?.n) === 0 && writing >= WRITES_PER_PHASE && !back.ok && back.failed?.name === 'drain-reverse' && pausedByRollback === '1',
          `after the undo: pooler at port ${at.port} (source ${endpoints.source.port}), paused ${paused}, source fence settings ${fence?.n}, ${writing} writes acknowledged by the source; Emergency Rollback: ${back.ok ? 'completed' : `stopped at ${back.failed?.name} (${back.failed?.error})`}, pooler paused ${pausedByRollback}`);
      });

      await runbookStep(`3. ${section.step(3).title} ${selectBlock[0]}`, async () => {
        const run = await shell.run(selectBlock[0]!);
        expect(run.exitCode, run.stderr).toBe(0);
        expect(run.stdout).toMatch(/^\s*1\s*$/m);
        const since = Date.now();
        expect(await awaitAcknowledged(first, endpoints.source.database, 5, CONVERGE_LIMIT_MS, since), 'the application writes on the source').toBeGreaterThanOrEqual(5);
      });

      await runbookStep(`4. ${section.step(4).title}`, async () => {
        await attachText('outside the harness', 'the team is told: the cutover stopped before the switch and undid itself; the application stayed on the source');
      });

      await runbookStep(`Investigation: ${investigationBlock.join('; ')}`, async () => {
        const [statusLine, stackLine] = investigationBlock as [string, string];
        const status = JSON.parse((await shell.run(statusLine)).stdout) as ConnectorStatus;
        const trace = traceHead(status, 200);
        await attachText('the failed task\'s trace (error and cause lines)', trace.split('\n').filter((l) => /Exception|Caused by|ERROR/.test(l)).slice(0, 12).join('\n'));
        expect(trace, 'the trace names the lost replication connection').toMatch(/PSQLException/);
        const stack = await shell.run(stackLine);
        expect(stack.exitCode, 'status exits 1: a connector is not RUNNING').toBe(1);
        const components = stack.stdout.split('\n').filter((l) => /^\s{2}\S+\s+(running|down)$/.test(l));
        expect(components.length, stack.stdout).toBeGreaterThan(0);
        expect(components.filter((l) => !/running$/.test(l)), 'every component reachable').toEqual([]);
        expect(stack.stdout).toMatch(new RegExp(`connector ${pipeline.sourceName}: FAILED`));
        const rows = await source.query(slotQuery!.sql.replace(RUNBOOK_SLOT, slot));
        await attachJson('the slot', rows);
        expect(rows.map((r) => ({ slot: r.slot_name, active: pgBool(r.active) })), 'the slot is kept, and nobody streams from it').toEqual([{ slot, active: false }]);
      });

      await runbookStep(`Resolution: ${resolutionBlock[0]}`, async () => {
        const run = await shell.run(resolutionBlock[0]!);
        expect(run.exitCode, run.stderr).toBe(0);
        const status = await connect.awaitConnectorState(pipeline.sourceName, 'RUNNING');
        expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
        // RUNNING comes before the task has opened its replication connection: wait for the slot to be held again.
        const held = await pollUntil({ what: `slot ${slot} held by the restarted task`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 250 }, async () => {
          const [row] = await source.query(slotQuery!.sql.replace(RUNBOOK_SLOT, slot));
          return { done: pgBool(row?.active) === true, seen: `active=${row?.active}`, value: row };
        }).then(() => true, (e: Error) => e.message);
        expect(held, 'the restarted task streams from the kept slot').toBe(true);
      });

      await runbookStep(`Resolution, if the restart does not help: ${resolutionBlock.slice(1).join('; ')}`, async () => {
        for (const line of resolutionBlock.slice(1)) {
          const r = await shell.run(line);
          expect(r.exitCode, `${line}: ${r.stderr}`).toBe(0);
        }
        const status = await awaitState(connect, pipeline.sourceName, 'RUNNING', CONVERGE_LIMIT_MS);
        expect(status.reached, JSON.stringify(status.status.tasks.map((t) => t.state))).toBe(true);
      });

      await runbookStep(`Then start again from Validate Data Consistency: ${validateLines.join('; ')}`, async () => {
        const summary = await stopApplication(first, 'through the failed cutover and the resolution');
        await attachJson('the application through the failed cutover', { failedRequests: summary.failedRequests, failuresByCode: summary.failuresByCode, longestWritePauseSeconds: summary.longestWritePause.longestMs / 1000, longestReadPauseSeconds: summary.longestReadPause.longestMs / 1000 });
        expect(summary.failedRequests, `failed requests: ${JSON.stringify(summary.failuresByCode)}`).toBe(0);
        // The writes the source took while the connector was down arrive from the kept slot.
        const converged = await awaitConverged(source, target, [{ table: APP_TABLE }]);
        expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts)).toBe(true);
        for (const line of validateLines) {
          const r = await shell.run(line.replace(RUNBOOK_TABLES, APP_TABLE));
          expect(r.exitCode, `${line}: ${r.stdout}${r.stderr}`).toBe(0);
        }
      });

      await runbookStep('A new cutover, the application writing through the pooler: it succeeds', async () => {
        const second = AppClient.start({ url: endpoints.pooler!.url, table: APP_TABLE, keyColumn: APP_KEY, shape: appShape });
        clients.push(second);
        await awaitAcknowledged(second, endpoints.source.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS);
        const events: StepEvent[] = [];
        const secondStarted = Date.now();
        const result = await cutover(cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events));
        reverse = result.reverse;
        await attachJson('the new cutover\'s events', events);
        expect(result.ok, JSON.stringify(result.failed)).toBe(true);
        await awaitAcknowledged(second, endpoints.target.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS, secondStarted);
        const summary = await stopApplication(second, 'the new cutover');
        await attachJson('the new cutover as the application saw it', { cutoverSeconds: result.cutoverSeconds, failedRequests: summary.failedRequests, longestWritePauseSeconds: summary.longestWritePause.longestMs / 1000 });
        expect(summary.failedRequests, `failed requests: ${JSON.stringify(summary.failuresByCode)}`).toBe(0);
      });

      await runbookStep('Nothing lost: every write the application acknowledged, through both cutovers, is in the target', async () => {
        const verdicts = await Promise.all(clients.map((c) => checkHistory(c.history(), target)));
        await attachJson('history checker on the target, per application run', verdicts.map((v, i) => ({ run: i + 1, acknowledgedBy: clients[i]!.summary().acknowledgedBy, ...v })));
        for (const v of verdicts) expect(v.pass, verdictSummary(v)).toBe(true);
        expect(clients.flatMap((c) => c.reusedKeys()), 'no key handed out twice').toEqual([]);
      });
    });
  }
});

/** The rows of psql's aligned table output, by column header. */
function psqlRows(output: string): Record<string, string>[] {
  const lines = output.split('\n');
  const rule = lines.findIndex((l) => /^-+(\+-+)*$/.test(l.trim()));
  if (rule < 1) return [];
  const header = lines[rule - 1]!.split('|').map((h) => h.trim());
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(rule + 1)) {
    if (!line.includes('|')) break;
    const cells = line.split('|').map((c) => c.trim());
    rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])));
  }
  return rows;
}

/** A boolean column as the session returns it ('t' / 'f'). */
function pgBool(value: unknown): boolean | undefined {
  return value === 't' || value === true ? true : value === 'f' || value === false ? false : undefined;
}

/**
 * runbooks/database-migration.md — Cutover Operations, Post-Cutover Validation, after a real cutover: the application
 * is a client writing and reading through the pooler while the library's cutover (every step of Execute Cutover, the
 * reverse pipeline included) moves it to the target. Then the section's blocks, as written:
 *   - the source query's count against its `-- Expected: 0` (no application session left on the old database);
 *   - the target's sessions by state, which must include the application's (role `app`, through the pooler);
 *   - `reconcile --row-count-only` (the section's table list replaced by the application's table): source and target
 *     match, because the reverse pipeline brings the target's writes back to the source.
 * The first check can fail: a second application instance that still connects to the source directly (not through
 * the pooler) makes the count 1, and the comparison with the runbook's Expected says so. Nothing lost: every write the
 * client had acknowledged (on the source before the cutover, on the target after it) is in the target as written.
 */
import pg from 'pg';
import { inject, onTestFinished } from 'vitest';
import { cutover } from '../../harness/migrate/cutover.js';
import type { ReversePipeline } from '../../harness/migrate/reverse-pipeline.js';
import type { StepEvent } from '../../harness/migrate/steps.js';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { APP_TABLE, awaitAcknowledged, cutoverInputs, restoreStack, startApplication, stopApplication } from '../../harness/scenario/cutover-rehearsal.js';
import { commandLines, migrationShell } from '../../harness/scenario/migration-shell.js';
import { verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { statementsWithExpected } from '../../harness/scenario/runbook-blocks.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import type { SqlSession } from '../../harness/verify/reconcile/index.js';

const section = runbookSection('database-migration', 'post-cutover-validation');
const SQL_SERVER_SKIP = 'the cutover moves a PostgreSQL application through PgBouncer; a SQL Server source has no pooler here';
/** Rows the source has before the application starts. */
const SEED_ROWS = 200;
/** Acknowledged writes the client makes on each database before the next phase. */
const WRITES_PER_PHASE = 30;
/** The tables the section's reconcile line names; this migration moves the application's table. */
const RUNBOOK_TABLES = 'customers,orders,products';

/** The runbook's `-- Expected: N` against a count the query returned. */
function countVerdict(rows: Record<string, string | null>[], expected: string | undefined): { count: number; expected: number; holds: boolean } {
  const want = Number(expected);
  if (expected === undefined || !Number.isInteger(want)) throw new Error(`the section's query has no numeric '-- Expected:' (found '${expected}')`);
  const count = Number(Object.values(rows[0] ?? {})[0]);
  return { count, expected: want, holds: count === want };
}

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`after a real cutover, the section's checks as written ${variant.label}`, async ({ endpoints, source, target, connect, pipeline, pgTools }) => {
      const [sourceBlock] = section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' });
      const [targetBlock] = section.blocks({ lang: 'sql', side: 'target' });
      const [reconcileBlock] = section.blocks({ lang: 'bash' });
      const [noAppSessions] = statementsWithExpected(sourceBlock!.value);
      expect(noAppSessions?.expected, 'the source query states what it expects').toBe('0');
      const started = await startApplication({ endpoints, source, target, pipeline, pgTools }, { seedRows: SEED_ROWS, writes: WRITES_PER_PHASE, limitMs: CONVERGE_LIMIT_MS });
      const client = started.client;
      expect(started.snapshot.converged, JSON.stringify(started.snapshot.report.tables[0]?.diffCounts)).toBe(true);
      expect(started.poolerPort, 'the application starts on the source').toBe(endpoints.source.port);
      let reverse: ReversePipeline | undefined;
      onTestFinished(async () => {
        if (!client.stopped) await stopApplication(client, 'post-cutover validation (stopped early)');
        await restoreStack(endpoints, source, target, connect, reverse);
      });
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());

      const cutoverStarted = Date.now();
      await runbookStep('Before: Execute Cutover (every step, the reverse pipeline started), the application writing through the pooler', async () => {
        const events: StepEvent[] = [];
        const result = await cutover(cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events));
        reverse = result.reverse;
        await attachJson('cutover events', events);
        expect(result.ok, JSON.stringify(result.failed)).toBe(true);
        const onTarget = await awaitAcknowledged(client, endpoints.target.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS, cutoverStarted);
        await attachJson('the application after the cutover', { cutoverSeconds: result.cutoverSeconds, acknowledgedOnTarget: onTarget });
      });

      await runbookStep('No application sessions left on the old database (Expected: 0)', async () => {
        const rows = await source.query(noAppSessions!.sql);
        const verdict = countVerdict(rows, noAppSessions!.expected);
        await attachText('source query and result', `${noAppSessions!.sql}\n--- ${JSON.stringify(rows)} (Expected: ${noAppSessions!.expected})`);
        expect(verdict.holds, `application sessions on the source: ${verdict.count}, the runbook expects ${verdict.expected}`).toBe(true);

        // The check can fail: a second instance of the application that still connects to the source directly.
        const { appRole, appPassword } = endpoints.pooler!;
        const stray = new pg.Client({ host: endpoints.source.host, port: endpoints.source.port, database: endpoints.source.database, user: appRole, password: appPassword, connectionTimeoutMillis: 10_000 });
        await stray.connect();
        try {
          await stray.query('SELECT 1');
          const withStray = countVerdict(await source.query(noAppSessions!.sql), noAppSessions!.expected);
          await attachJson('with an application session left on the source', withStray);
          expect(withStray, 'an application session left on the source fails the Expected: 0').toEqual({ count: 1, expected: 0, holds: false });
        } finally {
          await stray.end();
        }
      });

      await runbookStep('The SQL Server variant of the source query', async () => {
        const [sqlServer] = section.blocks({ lang: 'sql', side: 'source', dialect: 'sqlserver' });
        await attachText('not run: this migration has a PostgreSQL source', sqlServer?.value ?? '(none)');
        expect(statementsWithExpected(sqlServer!.value)[0]?.expected, 'it expects the same as the PostgreSQL query').toBe('0');
      });

      await runbookStep('The target\'s sessions by state: the application is there', async () => {
        const [bySession] = statementsWithExpected(targetBlock!.value);
        const rows = await target.query(bySession!.sql);
        const app = await target.query(`SELECT state, count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND usename = $2 GROUP BY state`, [endpoints.target.database, endpoints.pooler!.appRole]);
        await attachJson('sessions on the target by state; the application role\'s among them', { section: rows, application: app });
        const total = rows.reduce((n, r) => n + Number(r.count), 0);
        const appSessions = app.reduce((n, r) => n + Number(r.n), 0);
        expect(appSessions, 'the pooler holds server connections to the target as the application role').toBeGreaterThan(0);
        expect(total, 'the section\'s count includes the application\'s sessions').toBeGreaterThanOrEqual(appSessions);
      });

      await runbookStep(`Row counts match: ${commandLines(reconcileBlock!.value)[0]}`, async () => {
        const summary = await stopApplication(client, 'post-cutover validation');
        expect(summary.failedRequests, `failed requests through the cutover: ${JSON.stringify(summary.failuresByCode)}`).toBe(0);
        // The reverse pipeline brings the target's last writes to the source: wait until it has, then run the line.
        const converged = await awaitConverged(source, target, [{ table: APP_TABLE }]);
        expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts)).toBe(true);
        const line = commandLines(reconcileBlock!.value)[0]!;
        expect(line, 'the section reconciles counts only').toContain('--row-count-only');
        const run = await shell.run(line.replace(RUNBOOK_TABLES, APP_TABLE));
        expect(run.exitCode, `reconcile --row-count-only: ${run.stdout}${run.stderr}`).toBe(0);
        // The check can fail: a row on the target only makes the same line exit 1.
        await dropOneReplicaRow(source);
        const differs = await shell.run(line.replace(RUNBOOK_TABLES, APP_TABLE));
        expect(differs.exitCode, `reconcile --row-count-only with a row missing on the source: ${differs.stdout}`).toBe(1);
      });

      await runbookStep('Nothing lost: every acknowledged write of the application is in the target', async () => {
        const verdict = await checkHistory(client.history(), target);
        const summary = client.summary();
        await attachJson('history checker on the target', { verdict, acknowledgedBy: summary.acknowledgedBy });
        expect(summary.acknowledgedBy[endpoints.source.database], 'writes acknowledged by the source before the cutover').toBeGreaterThanOrEqual(WRITES_PER_PHASE);
        expect(summary.acknowledgedBy[endpoints.target.database], 'writes acknowledged by the target after it').toBeGreaterThanOrEqual(WRITES_PER_PHASE);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
      });
    });
  }
});

/** Deletes one row from the source's copy as the harness (not the application): the two sides then differ by one row. */
async function dropOneReplicaRow(source: SqlSession): Promise<void> {
  await source.query(`DELETE FROM ${APP_TABLE} WHERE ctid = (SELECT ctid FROM ${APP_TABLE} LIMIT 1)`);
}

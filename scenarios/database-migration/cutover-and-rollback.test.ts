/**
 * runbooks/database-migration.md — Execute Cutover and Emergency Rollback, for real: the application is a client
 * that keeps writing (DEFAULT keys from a sequence) and reading through the application endpoint, a PgBouncer, while
 * the cutover pauses it, fences the source, drains, validates, carries the sequences over, starts the reverse
 * pipeline, switches the pooler to the target and resumes; the rollback brings it back.
 *
 *   (a) control: without step 5 (sequences) the first insert into the target collides with a replicated key;
 *   (b) every step: no request fails, and the longest write/read pause and the cutover time against the SLOs;
 *   (c) the original runbook's rollback (switch back, stop the connector) loses the writes the target took;
 *   (d) the corrected rollback keeps every acknowledged write (history checker on the source); RTO against the SLO.
 */
import { pollUntil } from '../../harness/core/poll.js';
import { CUTOVER_STEPS, cutover, type CutoverStep } from '../../harness/migrate/cutover.js';
import { ORIGINAL_ROLLBACK_SKIPS, rollback, type RollbackStep, ROLLBACK_STEPS } from '../../harness/migrate/rollback.js';
import type { StepEvent, StepWrapper } from '../../harness/migrate/steps.js';
import { attachJson, attachSql, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { assertSlo, sloTarget } from '../../harness/runbook/slo.js';
import { APP_KEY, APP_TABLE, awaitAcknowledged as awaitAcknowledgedWrites, cutoverInputs, prepareAppTable, restoreStack, startApplication, stopApplication } from '../../harness/scenario/cutover-rehearsal.js';
import { CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { awaitState, traceHead } from '../../harness/scenario/pipeline-observers.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { reversePipeline, startReversePipeline } from '../../harness/migrate/reverse-pipeline.js';
import { MARKER_TABLE } from '../../harness/migrate/drain.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import type { AppClient, AppClientSummary } from '../../harness/workload/app-client.js';
import type { ReversePipeline } from '../../harness/migrate/reverse-pipeline.js';
import type { PostgresTools, StackEndpoints } from '../../harness/env/stack.js';
import type { Pipeline } from '../../harness/fixtures/pipeline.js';
import { openSession, type SqlSession } from '../../harness/verify/reconcile/index.js';

const cutoverSection = runbookSection('database-migration', 'execute-cutover');
const rollbackSection = runbookSection('database-migration', 'emergency-rollback');
const CUTOVER_SLO = sloTarget('database-migration', 'Cutover time');
const RTO_SLO = sloTarget('database-migration', 'Rollback time (RTO)');
const DOWNTIME_SLO = sloTarget('database-migration', 'Migration downtime');

/** Rows the source has before the application starts: the target's sequence, left at 1, collides with these. */
const SEED_ROWS = 300;
/** Acknowledged writes the client makes on each database before the next phase (enough to see each phase work). */
const WRITES_PER_PHASE = 40;
/** The client's own request interval plus the polling that observes RESUME: what a measured pause may exceed the window by. */
const PAUSE_MEASUREMENT_SLACK_S = 1;

const CUTOVER_STEP_NUMBER: Record<CutoverStep, number> = {
  'pause-pooler': 1, 'fence-source': 2, drain: 3, validate: 4, 'carry-sequences': 5, 'stop-forward-sink': 6, 'start-reverse-pipeline': 7, 'switch-pooler': 8, 'resume-pooler': 9,
};
const ROLLBACK_STEP_NUMBER: Record<RollbackStep, number> = {
  'pause-pooler': 1, 'fence-target': 2, 'drain-reverse': 3, 'carry-sequences-back': 4, 'stop-reverse-sink': 5, 'unfence-source': 6, 'switch-pooler': 7, 'resume-pooler': 8,
};

/** Each library step runs as the runbook's numbered step, titled with it. */
function asRunbookSteps(section: typeof cutoverSection, numbers: Record<string, number>): StepWrapper {
  return (step, body) => runbookStep(`${numbers[step]}. ${section.step(numbers[step]!).title}`, async () => {
    const detail = await body();
    await attachJson(`${step}: what was observed`, detail ?? {});
    return detail;
  });
}

/** Waits until the client has `n` writes acknowledged by `database` (since `since`), within the converge limit. */
const awaitAcknowledged = (client: AppClient, database: string, n: number, since = 0) => awaitAcknowledgedWrites(client, database, n, CONVERGE_LIMIT_MS, since);

function pauses(summary: AppClientSummary) {
  return { longestWritePauseSeconds: summary.longestWritePause.longestMs / 1000, longestReadPauseSeconds: summary.longestReadPause.longestMs / 1000 };
}

interface Ctx {
  endpoints: StackEndpoints;
  source: SqlSession;
  target: SqlSession;
  pipeline: Pipeline;
  pgTools: PostgresTools;
}

/** Tables, forward pipeline, snapshot, and the client writing through the pooler to the source. */
async function setUp(ctx: Ctx): Promise<AppClient> {
  const started = await startApplication(ctx, { seedRows: SEED_ROWS, writes: WRITES_PER_PHASE, limitMs: CONVERGE_LIMIT_MS });
  expect(started.snapshot.converged, JSON.stringify(started.snapshot.report.tables[0]?.diffCounts)).toBe(true);
  expect(started.poolerPort, 'the pooler points at the source first').toBe(ctx.endpoints.source.port);
  return started.client;
}

const stopClient = stopApplication;

describe(`${cutoverSection.title} and ${rollbackSection.title}`, () => {
  for (const variant of sourceVariants()) {
    // The pooler, the fence and the reverse pipeline are PostgreSQL's; a SQL Server source is reported skipped.
    const runs = variant.runs && variant.dialect === 'postgres';

    test.skipIf(!runs)(`(a) control: without carrying the sequences over, the first insert into the target collides ${variant.label}`, async ({ endpoints, source, target, connect, pipeline, pgTools }) => {
      const client = await setUp({ endpoints, source, target, pipeline, pgTools });
      const events: StepEvent[] = [];
      try {
        // The original's cutover: no sequence step, no reverse pipeline.
        const result = await cutover({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events), skip: ['carry-sequences', 'start-reverse-pipeline'], around: asRunbookSteps(cutoverSection, CUTOVER_STEP_NUMBER) });
        await attachJson('cutover events', events);
        expect(result.ok, JSON.stringify(result.failed)).toBe(true);
        // Requests begun once the pooler was paused were held, and went to the target.
        const switchedAt = Date.parse(String(events.find((e) => e.step === 'pause-pooler' && e.outcome === 'ok')?.detail?.at));
        await runbookStep('Without step 5: the inserts on the target collide with replicated keys', async () => {
          const collisions = await pollUntil({ what: 'an insert on the target to fail or succeed', limitMs: CONVERGE_LIMIT_MS, intervalMs: 100 }, async () => {
            const inserts = client.between(switchedAt).filter((r) => r.kind === 'write' && r.op === 'insert' && r.end > r.start);
            return { done: inserts.length >= 10, seen: `${inserts.length} inserts since the pause`, value: inserts };
          });
          const first = collisions[0]!;
          const collided = collisions.filter((r) => r.sqlstate === '23505');
          const [seq] = await target.query(`SELECT last_value::text AS v FROM pg_sequences WHERE sequencename = $1`, [`${APP_TABLE}_${APP_KEY}_seq`]);
          const [max] = await target.query(`SELECT max(${APP_KEY})::text AS m FROM ${APP_TABLE}`);
          await attachJson('the first inserts into the target', { first, collided: collided.length, of: collisions.length, targetSequence: seq?.v, highestKey: max?.m });
          expect(first.outcome, `first insert on the target: ${first.message}`).toBe('failed');
          expect(first.sqlstate, 'unique_violation: the target sequence handed out a key the snapshot had copied').toBe('23505');
          expect(collided.length, 'every one of the first inserts collides while the sequence is below the highest key').toBe(collisions.length);
        });
      } finally {
        if (!client.stopped) await stopClient(client, 'control run');
        await restoreStack(endpoints, source, target, connect);
      }
    });

    test.skipIf(!runs)(`(b, d) every cutover step, then the corrected rollback: no failed request, every acknowledged write on the source ${variant.label}`, async ({ endpoints, source, target, connect, pipeline, pgTools }) => {
      const client = await setUp({ endpoints, source, target, pipeline, pgTools });
      const events: StepEvent[] = [];
      let reverse: ReversePipeline | undefined;
      try {
        const cutoverStarted = Date.now();
        const result = await cutover({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events), around: asRunbookSteps(cutoverSection, CUTOVER_STEP_NUMBER) });
        reverse = result.reverse;
        await attachJson('cutover events', events);
        expect(result.ok, JSON.stringify(result.failed)).toBe(true);
        expect(result.steps.map((s) => s.name)).toEqual([...CUTOVER_STEPS]);

        await runbookStep(`10. ${cutoverSection.step(10).title}`, async () => {
          const sql = cutoverSection.stepSql(10, { side: 'target' });
          await attachSql('verify (target)', sql);
          const owned = (await target.query(sql.split(';').filter((s) => /pg_depend/.test(s))[0]!)).filter((r) => r.table_name === APP_TABLE);
          // The highest key first: the application keeps inserting, and the sequence only grows, so a sequence read
          // after it that is still below it was not carried (read the other way round, a new insert in between races).
          const [max] = await target.query(`SELECT max(${APP_KEY})::text AS m FROM ${APP_TABLE}`);
          const [seq] = await target.query(`SELECT last_value::text AS v FROM pg_sequences WHERE sequencename = $1`, [owned[0]?.sequence_name ?? '']);
          await attachJson('sequence of the application table on the target', { owned, sequence: seq?.v, highestKey: max?.m });
          expect(owned.map((r) => r.column_name)).toEqual([APP_KEY]);
          expect(BigInt(seq?.v ?? '0') >= BigInt(max?.m ?? '0'), `target sequence ${seq?.v} below the highest key ${max?.m}`).toBe(true);
        });

        const window = client.summary(client.between(cutoverStarted));
        await runbookStep('SLOs: Migration downtime, Cutover time; the longest pause the application saw', async () => {
          await attachJson('the cutover as the application saw it', { cutoverSeconds: result.cutoverSeconds, ...pauses(window), failedRequests: window.failedRequests, failuresByCode: window.failuresByCode });
          expect(window.failedRequests, `failed requests through the cutover: ${JSON.stringify(window.failuresByCode)}`).toBe(0);
          assertSlo(DOWNTIME_SLO, window.failedSeconds, `${window.failedRequests} failed requests`);
          assertSlo(CUTOVER_SLO, result.cutoverSeconds!, 'pause to resume');
          const { longestWritePauseSeconds: w, longestReadPauseSeconds: r } = pauses(window);
          expect(w, 'the longest write pause fits in the cutover window').toBeLessThanOrEqual(result.cutoverSeconds! + PAUSE_MEASUREMENT_SLACK_S);
          expect(r, 'the longest read pause fits in the cutover window').toBeLessThanOrEqual(result.cutoverSeconds! + PAUSE_MEASUREMENT_SLACK_S);
          expect(w, 'writes did wait: the pooler held them while the cutover ran').toBeGreaterThan(0);
        });

        const onTarget = await awaitAcknowledged(client, endpoints.target.database, WRITES_PER_PHASE, cutoverStarted);
        const rollbackEvents: StepEvent[] = [];
        const back = await rollback({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, rollbackEvents), reverse, around: asRunbookSteps(rollbackSection, ROLLBACK_STEP_NUMBER) });
        await attachJson('rollback events', rollbackEvents);
        expect(back.ok, JSON.stringify(back.failed)).toBe(true);
        expect(back.steps.map((s) => s.name)).toEqual([...ROLLBACK_STEPS]);
        const rolledBackAt = Date.now();
        await awaitAcknowledged(client, endpoints.source.database, WRITES_PER_PHASE, rolledBackAt);

        await runbookStep(`9. ${rollbackSection.step(9).title}`, async () => {
          const summary = await stopClient(client, 'cutover and corrected rollback');
          const verdict = await checkHistory(client.history(), source);
          const insertedOnTarget = client.acknowledged().filter((w) => w.database === endpoints.target.database && w.op === 'insert').map((w) => w.key);
          await attachJson('history checker on the source: every acknowledged write', { verdict, acknowledgedOnTarget: onTarget, insertedOnTarget: insertedOnTarget.length, reusedKeys: client.reusedKeys() });
          expect(summary.failedRequests, `failed requests over the whole run: ${JSON.stringify(summary.failuresByCode)}`).toBe(0);
          expect(insertedOnTarget.length, 'the target took inserts after the cutover').toBeGreaterThan(0);
          expect(insertedOnTarget.filter((k) => verdict.lost.includes(k)), 'inserts the target acknowledged, lost on the source').toEqual([]);
          expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 5) })).toBe(true);
          expect(client.reusedKeys(), 'no key handed out twice (sequences carried both ways)').toEqual([]);
          assertSlo(RTO_SLO, back.rtoSeconds!, 'pause to resume on the source');
        });
      } finally {
        if (!client.stopped) await stopClient(client, 'cutover and corrected rollback (stopped early)');
        await restoreStack(endpoints, source, target, connect, reverse);
      }
    });

    test.skipIf(!runs)(`(c) the original runbook's rollback loses the writes the target took after the cutover ${variant.label}`, async ({ endpoints, source, target, connect, pipeline, pgTools }) => {
      const client = await setUp({ endpoints, source, target, pipeline, pgTools });
      const events: StepEvent[] = [];
      try {
        const cutoverStarted = Date.now();
        // As the original: no reverse pipeline (its rollback does not know one).
        const result = await cutover({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events), skip: ['start-reverse-pipeline'], around: asRunbookSteps(cutoverSection, CUTOVER_STEP_NUMBER) });
        expect(result.ok, JSON.stringify(result.failed)).toBe(true);
        await awaitAcknowledged(client, endpoints.target.database, WRITES_PER_PHASE, cutoverStarted);
        const rollbackEvents: StepEvent[] = [];
        const back = await runbookStep('The original rollback: switch the connection strings back to the source, stop the connector', () =>
          rollback({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, rollbackEvents), skip: ORIGINAL_ROLLBACK_SKIPS }),
        );
        await attachJson('original rollback events', rollbackEvents);
        expect(back.ok, JSON.stringify(back.failed)).toBe(true);
        await awaitAcknowledged(client, endpoints.source.database, WRITES_PER_PHASE, Date.now());
        await runbookStep('What the original rollback lost: the target\'s acknowledged writes, checked on the source', async () => {
          const summary = await stopClient(client, 'cutover and original rollback');
          const fromTarget = await checkHistory(client.history({ acknowledgedBy: endpoints.target.database }), source);
          const insertedOnTarget = new Set(client.acknowledged().filter((w) => w.database === endpoints.target.database && w.op === 'insert').map((w) => w.key));
          const missing = new Set([...fromTarget.lost, ...fromTarget.stale.map((s) => s.key)]);
          const reused = client.reusedKeys();
          await attachJson('target writes missing on the source', { acknowledgedOnTarget: fromTarget.acknowledgedWrites, insertedOnTarget: insertedOnTarget.size, lost: fromTarget.lost.length, overwrittenByReusedKeys: fromTarget.stale.length, reusedKeys: reused.length, failedRequests: summary.failedRequests });
          expect(fromTarget.acknowledgedWrites, 'the target took writes after the cutover').toBeGreaterThanOrEqual(WRITES_PER_PHASE);
          expect(fromTarget.pass, 'the original rollback keeps the target\'s writes').toBe(false);
          // Every key the target handed out is gone from the source as written: absent, or reused by the source's own sequence.
          expect([...insertedOnTarget].filter((k) => !missing.has(k)), 'inserts on the target that survived the original rollback').toEqual([]);
        });
      } finally {
        if (!client.stopped) await stopClient(client, 'cutover and original rollback (stopped early)');
        await restoreStack(endpoints, source, target, connect);
      }
    });

    test.skipIf(!runs)(`a database-wide read-only fence on the source also stops the reverse pipeline's sink ${variant.label}`, async ({ endpoints, source, target, connect, pgTools }) => {
      await prepareAppTable(source, target, endpoints, pgTools, 0);
      const reverse = reversePipeline(endpoints, [APP_TABLE, MARKER_TABLE]);
      const database = endpoints.source.database;
      // Sessions opened under the fence stay read-only for their life: this one is used only while it holds, then closed.
      const fencedSource = await openSession(endpoints.source.url, 'source (under the fence)', { connections: 1 });
      try {
        const fenced = await runbookStep('The database-wide fence: ALTER DATABASE … SET default_transaction_read_only = on', async () => {
          await fencedSource.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
          await startReversePipeline(reverse, connect, target, CONVERGE_LIMIT_MS);
          const [row] = await target.query(`INSERT INTO ${APP_TABLE} (customer, amount, note) VALUES ('after the fence', 1, 'written on the target') RETURNING ${APP_KEY}::text AS k`);
          const failed = await awaitState(connect, reverse.sinkName, 'FAILED', CONVERGE_LIMIT_MS);
          const onSource = await fencedSource.query(`SELECT count(*)::text AS n FROM ${APP_TABLE} WHERE note = 'written on the target'`);
          await attachJson('reverse sink under a database-wide fence', { key: row!.k, sinkFailed: failed.reached, seconds: failed.seconds, onSource: onSource[0]?.n, trace: traceHead(failed.status, 400).split('\n').filter((l) => /Exception|Caused by|ERROR/.test(l)).slice(0, 12) });
          return { failed, onSource: onSource[0]?.n };
        });
        const trace = traceHead(fenced.failed.status, 400);
        assertClaim(changeLogClaim('database-migration', 14, "a database-wide setting also stops the reverse pipeline's sink"), fenced.failed.reached && /read-only transaction/.test(trace) && fenced.onSource === '0', `reverse sink ${fenced.failed.reached ? 'FAILED' : 'still running'}; the target's row on the source: ${fenced.onSource}; trace: ${trace.split('\n').find((l) => /read-only/.test(l)) ?? trace.split('\n')[0]}`);
      } finally {
        // Under the database-wide fence every new session is read-only, the harness's own too: lift it in a read-write transaction.
        await fencedSource.query(`BEGIN READ WRITE; ALTER DATABASE ${database} RESET default_transaction_read_only; COMMIT`);
        await fencedSource.close();
        await restoreStack(endpoints, source, target, connect, reverse);
      }
    });
  }
});

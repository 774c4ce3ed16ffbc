/**
 * `runbook-harness migrate cutover` and `migrate rollback` as a DBA runs them: every verb a separate CLI process
 * against the real stack (URLs and the pooler from the stack's state file), while the application keeps writing and
 * reading through the pooler.
 *   init → snapshot → two cutovers of the migration at once: one cuts over, the other is refused (the lock) → no
 *   request failed through the cutover, the cutover time against the SLO → status: cut-over, every step's event →
 *   the target takes writes → rollback → status: rolled-back → every acknowledged write is on the source (history
 *   checker), none failed.
 * And a cutover killed with SIGKILL during its drain is resumed by the next `cutover` from the event log.
 */
import { inject } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { CONTROL_SCHEMA, LOCK_HOLDER_SQL, type Migration, type MigrationEvent } from '../../harness/migrate/control-store.js';
import { CUTOVER_STEPS } from '../../harness/migrate/cutover.js';
import { bareTables, recordedReverse } from '../../harness/migrate/cutover-session.js';
import { ROLLBACK_STEPS } from '../../harness/migrate/rollback.js';
import type { StepResult } from '../../harness/migrate/steps.js';
import { recordFinding } from '../../harness/report/findings.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { APP_KEY, APP_TABLE, awaitAcknowledged, createAppTable, poolerAdmin, restoreStack } from '../../harness/scenario/cutover-rehearsal.js';
import { removeMigration } from '../../harness/scenario/migration-cleanup.js';
import { CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { cliJson, cliMigration as cliMigrationFor, showRun } from '../../harness/scenario/migrate-cli.js';
import { describe, expect, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import type { SloVerdict } from '../../harness/verify/slo.js';
import { AppClient } from '../../harness/workload/app-client.js';
import type { StackEndpoints } from '../../harness/env/stack.js';
import type { ConnectClient } from '../../harness/pipeline/connect-client.js';
import type { SqlSession } from '../../harness/verify/reconcile/index.js';

/** Each verb's wait limit, passed as --timeout to the verbs without per-step limits: a limit, not a goal. */
const VERB_TIMEOUT_S = 120;
/** Rows on the source before the application starts (the target's copied sequence would collide with them). */
const SEED_ROWS = 200;
/** Acknowledged writes the client makes on each database before the next phase. */
const WRITES_PER_PHASE = 30;

interface StepsOut {
  ok: boolean;
  state: string;
  steps: StepResult[];
  verdict: SloVerdict | null;
  failed: { name: string; error: string } | null;
}

const json = cliJson;
const show = showRun;
const seen = (events: MigrationEvent[], verb: string) => events.filter((e) => e.verb === verb).map((e) => `${e.step}/${e.outcome}`);
const cliMigration = (stateDir: string, prefix: string) => cliMigrationFor(stateDir, prefix, { tables: [APP_TABLE], timeoutSeconds: VERB_TIMEOUT_S });

/** Puts the stack back whatever the outcome: pooler on the source and resumed, unfenced, the reverse pipeline the log names and the migration removed. */
async function cleanUp(id: string, m: ReturnType<typeof cliMigration>, ctx: { endpoints: StackEndpoints; source: SqlSession; target: SqlSession; connect: ConnectClient }) {
  const { endpoints, source, target, connect } = ctx;
  const rows = await target.query(`SELECT step, outcome, detail::text AS detail FROM ${CONTROL_SCHEMA}.events WHERE migration_id = $1 AND verb = 'cutover' AND step = 'start-reverse-pipeline'`, [id]).catch(() => []);
  const events = rows.map((r) => ({ migrationId: id, actor: '', verb: 'cutover', step: r.step!, outcome: r.outcome as MigrationEvent['outcome'], detail: JSON.parse(r.detail!) as Record<string, unknown> }));
  await restoreStack(endpoints, source, target, connect, recordedReverse(events, endpoints, bareTables([`public.${APP_TABLE}`])));
  await removeMigration({ migrationId: id, pipeline: m.pipeline, connect, source, target, bootstrap: endpoints.kafka.bootstrap });
  for (const side of [source, target]) await side.query(`DROP TABLE IF EXISTS ${APP_TABLE}`);
}

describe('runbook-harness migrate cutover / rollback: the CLI on the real stack, the application on the pooler', () => {
  test('init → snapshot → two cutovers at once (one refused) → status → rollback: no failed request, every acknowledged write on the source', async ({ source, target, connect, endpoints }) => {
    const m = cliMigration(inject('stackStateDir'), 'cut');
    const { id, migrate } = m;
    expect(endpoints.pooler, 'the test stack has a pooler').toBeDefined();
    expect((await poolerAdmin(endpoints).server()).port, 'the pooler points at the source first').toBe(endpoints.source.port);

    await createAppTable(source, target, SEED_ROWS);
    let client: AppClient | undefined;
    try {
      await runbookStep('1. migrate init and migrate snapshot: the application table replicated to the target', async () => {
        const init = await migrate('init', ...m.initArgs);
        expect(init.code, show(init)).toBe(0);
        const snap = await migrate('snapshot', '--json', '--timeout', String(VERB_TIMEOUT_S));
        expect(snap.code, show(snap)).toBe(0);
        expect(json<{ state: string }>(snap).state).toBe('replicating');
      });

      const app = AppClient.start({ url: endpoints.pooler!.url, table: APP_TABLE, keyColumn: APP_KEY, shape: (n) => ({ customer: `c${n % 50}`, amount: `${n % 1000}.25`, note: `cli write ${n}` }) });
      client = app;
      await awaitAcknowledged(app, endpoints.source.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS);

      const cutoverStarted = Date.now();
      const winner = await runbookStep('2. Two `migrate cutover`s of the migration at once: one cuts over, the other is refused', async () => {
        const both = await Promise.all([migrate('cutover', '--json'), migrate('cutover', '--json')]);
        await attachJson('both cutovers', both.map((r) => ({ code: r.code, stdout: r.stdout.slice(0, 4000), stderr: r.stderr.slice(0, 4000) })));
        const won = both.filter((r) => r.code === 0);
        const refused = both.filter((r) => r.code !== 0);
        expect.soft(won.length, both.map(show).join('\n=====\n')).toBe(1);
        expect.soft(refused.length, both.map(show).join('\n=====\n')).toBe(1);
        expect.soft(refused[0]?.code, refused[0] && show(refused[0])).toBe(2);
        expect.soft(refused[0]?.stderr, refused[0] && show(refused[0])).toMatch(new RegExp(`migration ${id} is busy: 'rh migrate cutover \\S+ pid \\d+' \\(backend pid \\d+`));
        // The one that ran (a JSON document on stdout), even if it failed.
        return won[0] ?? both.find((r) => r.stdout.trimStart().startsWith('{')) ?? both[0]!;
      });

      const cut = json<StepsOut & { cutoverSeconds: number | null }>(winner);
      await runbookStep('3. The cutover: every step with its seconds, no failed request, the cutover time against the SLO', async () => {
        const window = app.summary(app.between(cutoverStarted));
        await attachJson('the cutover as the application saw it', { cutoverSeconds: cut.cutoverSeconds, steps: cut.steps, verdict: cut.verdict, failedRequests: window.failedRequests, failuresByCode: window.failuresByCode, longestWritePauseMs: window.longestWritePause.longestMs });
        expect.soft(cut.ok, JSON.stringify(cut.failed)).toBe(true);
        expect.soft(cut.state).toBe('cut-over');
        expect.soft(cut.steps.map((s) => s.name)).toEqual([...CUTOVER_STEPS]);
        expect.soft(cut.steps.every((s) => typeof s.seconds === 'number' && s.seconds > 0 && !s.skipped), JSON.stringify(cut.steps.map((s) => [s.name, s.seconds]))).toBe(true);
        expect.soft(window.failedRequests, `failed requests through the cutover: ${JSON.stringify(window.failuresByCode)}`).toBe(0);
        expect.soft(window.longestWritePause.longestMs, 'writes waited while the pooler held them').toBeGreaterThan(0);
        expect.soft(cut.verdict, 'the cutover time is judged against the runbook SLO').toMatchObject({ slo: 'Cutover time', pass: true, measured: cut.cutoverSeconds });
        expect.soft((await poolerAdmin(endpoints).server()).port, 'the pooler points at the target').toBe(endpoints.target.port);
      });

      await runbookStep('4. migrate status from another process: cut-over, each step started and ok, the refused cutover logged', async () => {
        const r = await migrate('status', '--json', '--events', '200');
        const out = json<{ migration: Migration; events: MigrationEvent[] }>(r);
        await attachJson('migrate status --json after the cutover', out);
        expect.soft(out.migration.state).toBe('cut-over');
        const log = seen(out.events, 'cutover');
        for (const step of CUTOVER_STEPS) {
          expect.soft(log, `${step} started`).toContain(`${step}/started`);
          expect.soft(log, `${step} ok`).toContain(`${step}/ok`);
        }
        expect.soft(log).toContain('lock/refused');
        expect.soft(out.events.filter((e) => e.step === 'state').map((e) => e.detail.to)).toEqual(['initialized', 'snapshotting', 'replicating', 'cutting-over', 'cut-over']);
      });

      const onTarget = await awaitAcknowledged(app, endpoints.target.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS, cutoverStarted);

      const back = await runbookStep('5. migrate rollback: every step, the RTO against the SLO', async () => {
        const r = await migrate('rollback', '--reason', 'rehearsal', '--json');
        const out = json<StepsOut & { rtoSeconds: number | null }>(r);
        await attachJson('migrate rollback --json', out);
        expect.soft(r.code, show(r)).toBe(0);
        expect.soft(out.state).toBe('rolled-back');
        expect.soft(out.steps.map((s) => s.name)).toEqual([...ROLLBACK_STEPS]);
        expect.soft(out.verdict).toMatchObject({ slo: 'Rollback time (RTO)', pass: true, measured: out.rtoSeconds });
        expect.soft((await poolerAdmin(endpoints).server()).port, 'the pooler points at the source again').toBe(endpoints.source.port);
        return out;
      });

      await runbookStep('6. migrate status: rolled-back, each rollback step in the log', async () => {
        const out = json<{ migration: Migration; events: MigrationEvent[] }>(await migrate('status', '--json', '--events', '200'));
        expect.soft(out.migration.state).toBe('rolled-back');
        const log = seen(out.events, 'rollback');
        for (const step of ROLLBACK_STEPS) expect.soft(log, `${step} ok`).toContain(`${step}/ok`);
        expect.soft(out.events.find((e) => e.verb === 'rollback' && e.step === 'state' && e.detail.to === 'rolling-back')?.detail.reason).toBe('rehearsal');
      });

      const rolledBackAt = Date.now();
      await awaitAcknowledged(app, endpoints.source.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS, rolledBackAt);
      await runbookStep('7. Every acknowledged write is on the source; no request failed', async () => {
        const summary = await app.stop();
        if (summary.reconnects > 0) await recordFinding('retry', 'application client reconnected', `${summary.reconnects} reconnects through the pooler during the CLI cutover and rollback`);
        const verdict = await checkHistory(app.history(), source);
        const insertedOnTarget = app.acknowledged().filter((w) => w.database === endpoints.target.database && w.op === 'insert').map((w) => w.key);
        await attachJson('history checker on the source', { verdict, summary, acknowledgedOnTarget: onTarget, insertedOnTarget: insertedOnTarget.length, rtoSeconds: back.rtoSeconds, failures: app.log.filter((x) => x.outcome !== 'ok').slice(0, 20) });
        expect.soft(summary.failedRequests, `failed requests over the whole run: ${JSON.stringify(summary.failuresByCode)}`).toBe(0);
        expect.soft(insertedOnTarget.length, 'the target took inserts after the cutover').toBeGreaterThan(0);
        expect.soft(insertedOnTarget.filter((k) => verdict.lost.includes(k)), 'inserts the target acknowledged, lost on the source').toEqual([]);
        expect.soft(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 5) })).toBe(true);
        expect.soft(app.reusedKeys(), 'no key handed out twice').toEqual([]);
      });
    } finally {
      if (client && !client.stopped) await client.stop();
      await cleanUp(id, m, { endpoints, source, target, connect });
    }
  });

  test('a cutover killed mid-way (kill -9 during the drain) is resumed by the next cutover from its event log: no failed request', async ({ source, target, connect, endpoints }) => {
    const m = cliMigration(inject('stackStateDir'), 'resume');
    const { id, migrate } = m;
    await createAppTable(source, target, SEED_ROWS);
    let client: AppClient | undefined;
    try {
      const init = await migrate('init', ...m.initArgs);
      expect(init.code, show(init)).toBe(0);
      const snap = await migrate('snapshot', '--timeout', String(VERB_TIMEOUT_S));
      expect(snap.code, show(snap)).toBe(0);
      const app = AppClient.start({ url: endpoints.pooler!.url, table: APP_TABLE, keyColumn: APP_KEY, shape: (n) => ({ customer: `c${n % 50}`, amount: `${n % 1000}.25`, note: `resume write ${n}` }) });
      client = app;
      await awaitAcknowledged(app, endpoints.source.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS);
      const cutoverStarted = Date.now();

      await runbookStep('1. migrate cutover, killed with SIGKILL once its drain has started: the migration is left cutting-over', async () => {
        const first = migrate('cutover');
        const pid = await pollUntil({ what: `migrate cutover of ${id} to start its drain step`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 50 }, async () => {
          const [started] = await target.query(`SELECT count(*)::text AS n FROM ${CONTROL_SCHEMA}.events WHERE migration_id = $1 AND verb = 'cutover' AND step = 'drain' AND outcome = 'started'`, [id]);
          const [holder] = await target.query(LOCK_HOLDER_SQL, [id]);
          const m2 = /^rh migrate cutover \S+ pid (\d+)/.exec(holder?.application_name ?? '');
          return { done: started?.n === '1' && Boolean(m2), seen: `drain started: ${started?.n}; lock holder: ${holder?.application_name ?? 'none'}`, value: Number(m2?.[1]) };
        });
        process.kill(pid, 'SIGKILL');
        const killed = await first;
        expect(killed.code, show(killed)).not.toBe(0);
        const status = json<{ migration: Migration }>(await migrate('status', '--json'));
        expect(status.migration.state).toBe('cutting-over');
      });

      await runbookStep('2. migrate cutover again: the steps done earlier are skipped, the rest run; the application never failed', async () => {
        const r = await migrate('cutover', '--json');
        const out = json<StepsOut & { resumed: boolean; cutoverSeconds: number | null }>(r);
        const window = app.summary(app.between(cutoverStarted));
        await attachJson('the resumed cutover', { out, failedRequests: window.failedRequests, failuresByCode: window.failuresByCode, longestWritePauseMs: window.longestWritePause.longestMs });
        expect.soft(r.code, show(r)).toBe(0);
        expect.soft(out.resumed).toBe(true);
        expect.soft(out.state).toBe('cut-over');
        const skipped = out.steps.filter((s) => s.skipped === 'completed earlier').map((s) => s.name);
        expect.soft(skipped, 'pause and fence were done before the kill').toEqual(['pause-pooler', 'fence-source']);
        expect.soft(out.steps.filter((s) => !s.skipped).map((s) => s.name)).toEqual(CUTOVER_STEPS.slice(2));
        expect.soft(out.cutoverSeconds ?? 0, 'the cutover window runs from the first pause, across the kill').toBeGreaterThan(out.steps.reduce((n, s) => n + s.seconds, 0));
        expect.soft((await poolerAdmin(endpoints).server()).port, 'the pooler points at the target').toBe(endpoints.target.port);
        await awaitAcknowledged(app, endpoints.target.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS, cutoverStarted);
        const summary = await app.stop();
        const verdict = await checkHistory(app.history(), target);
        await attachJson('history checker on the target', { verdict, summary });
        expect.soft(summary.failedRequests, `failed requests through the kill and the resume: ${JSON.stringify(summary.failuresByCode)}`).toBe(0);
        expect.soft(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 5) })).toBe(true);
      });
    } finally {
      if (client && !client.stopped) await client.stop();
      await cleanUp(id, m, { endpoints, source, target, connect });
    }
  });
});

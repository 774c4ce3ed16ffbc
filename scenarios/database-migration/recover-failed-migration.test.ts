/**
 * runbooks/database-migration.md — Disaster Recovery & Backups, Recovery Procedures: Recover Failed Migration.
 * The application is a client writing and reading through the pooler. The pre-migration backup is taken with
 * Pre-Migration Backups' own pg_dump line while it writes; then a real cutover, and the section's step 1: Emergency
 * Rollback (the corrected one, with the reverse pipeline). Then the source is damaged (its application table dropped:
 * the application's requests fail, counted) and the application stopped; step 2 restores the backup as the section
 * writes it (pg_restore --clean --if-exists); step 3 restarts the application on the source; step 4 verifies.
 * What the restore loses is counted, not hidden: every write the source took after the dump began (the history
 * checker on the source names each key: inserts lost, updates reverted), none before it; the target still holds the
 * lost writes made before the rollback; and the restored sequence hands the lost rows' keys out again (Change Log
 * row 27). Every write acknowledged before the dump, and every write after the restart, is on the source.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { cutover } from '../../harness/migrate/cutover.js';
import type { ReversePipeline } from '../../harness/migrate/reverse-pipeline.js';
import { rollback } from '../../harness/migrate/rollback.js';
import type { StepEvent } from '../../harness/migrate/steps.js';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { APP_KEY, APP_TABLE, appShape, awaitAcknowledged, cutoverInputs, restoreStack, startApplication, stopApplication } from '../../harness/scenario/cutover-rehearsal.js';
import { commandLines, migrationShell } from '../../harness/scenario/migration-shell.js';
import { verdictSummary } from '../../harness/scenario/no-loss.js';
import { CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { commentSteps, referencedSectionBlocks } from '../../harness/scenario/runbook-blocks.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { AppClient } from '../../harness/workload/app-client.js';

const section = runbookSection('database-migration', 'recover-failed-migration');
const SQL_SERVER_SKIP = 'the section restores a PostgreSQL dump with pg_restore';
const SEED_ROWS = 200;
const WRITES_PER_PHASE = 30;
/** The table the section's verify line counts; this migration moves the application's table. */
const RUNBOOK_TABLE = 'customers';

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`roll back, restore the damaged source from the pre-migration backup, verify; what the restore loses, counted ${variant.label}`, async ({ endpoints, source, target, connect, pipeline, pgTools }) => {
      const steps = commentSteps(section.blocks({ lang: 'bash' })[0]!);
      expect(steps.map((s) => s.number), 'the section\'s four steps').toEqual([1, 2, 3, 4]);
      const [rollBack, restore, restart, verify] = steps as [(typeof steps)[0], (typeof steps)[0], (typeof steps)[0], (typeof steps)[0]];
      const backupLine = commandLines(referencedSectionBlocks('database-migration', 'pre-migration-backups')[0]!.value).find((l) => l.includes('source-pre-migration'))!;
      expect(restore.commands, 'step 2 restores with --clean --if-exists').toEqual([expect.stringMatching(/^pg_restore --dbname="\$SOURCE_URL" --clean --if-exists "backups\/source-pre-migration-<date>\.dump"$/)]);

      const started = await startApplication({ endpoints, source, target, pipeline, pgTools }, { seedRows: SEED_ROWS, writes: WRITES_PER_PHASE, limitMs: CONVERGE_LIMIT_MS });
      const first = started.client;
      expect(started.snapshot.converged, JSON.stringify(started.snapshot.report.tables[0]?.diffCounts)).toBe(true);
      const clients: AppClient[] = [first];
      let reverse: ReversePipeline | undefined;
      onTestFinished(async () => {
        for (const c of clients) if (!c.stopped) await stopApplication(c, 'stopped early');
        await restoreStack(endpoints, source, target, connect, reverse);
      });
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());

      const dump = await runbookStep(`Before: the pre-migration backup (Pre-Migration Backups), the application writing: ${backupLine}`, async () => {
        expect((await shell.run('mkdir -p backups')).exitCode).toBe(0);
        const from = Date.now();
        const r = await shell.run(backupLine);
        const to = Date.now();
        expect(r.exitCode, r.stderr).toBe(0);
        const files = readdirSync(path.join(shell.cwd, 'backups')).filter((f) => /^source-pre-migration-\d{8}\.dump$/.test(f));
        expect(files, 'one source dump').toHaveLength(1);
        await awaitAcknowledged(first, endpoints.source.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS, to);
        return { file: files[0]!, from, to };
      });

      const rollbackStarted = await runbookStep(`1. ${rollBack.title}`, async () => {
        const events: StepEvent[] = [];
        const cutoverStarted = Date.now();
        const forward = await cutover(cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events));
        reverse = forward.reverse;
        expect(forward.ok, JSON.stringify(forward.failed)).toBe(true);
        await awaitAcknowledged(first, endpoints.target.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS, cutoverStarted);
        const at = Date.now();
        const back = await rollback({ ...cutoverInputs(endpoints, source, target, connect, pipeline.sinkName, events), reverse });
        await attachJson('cutover and Emergency Rollback events', events);
        expect(back.ok, JSON.stringify(back.failed)).toBe(true);
        await awaitAcknowledged(first, endpoints.source.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS, Date.now());
        const verdict = await checkHistory(first.history(), source);
        expect(verdict.pass, `before the damage every acknowledged write is on the source: ${verdictSummary(verdict)}`).toBe(true);
        return at;
      });

      await runbookStep(`The source is damaged: DROP TABLE ${APP_TABLE} (the application's requests fail)`, async () => {
        const before = first.summary().failedRequests;
        await source.query(`DROP TABLE ${APP_TABLE}`);
        const failing = await awaitFailures(first, before + 5);
        const summary = await stopApplication(first, 'until the source was damaged');
        await attachJson('the application on the damaged source', { failedRequests: summary.failedRequests, failuresByCode: summary.failuresByCode, failingSeen: failing });
        expect(summary.failuresByCode['42P01'], 'undefined_table: the application fails on the damaged source').toBeGreaterThan(0);
      });

      const loss = await runbookStep(`2. ${restore.title}: ${restore.commands[0]}`, async () => {
        const line = restore.commands[0]!.replace('source-pre-migration-<date>.dump', dump.file);
        const r = await shell.run(line);
        await attachText('pg_restore output', `${r.stdout}\n${r.stderr}`);
        expect(r.exitCode, r.stderr).toBe(0);
        // What the restore gives back, and what it cannot: checked on the source against every acknowledged write.
        const verdict = await checkHistory(first.history(), source);
        const writes = first.log.filter((q) => q.kind === 'write' && q.outcome === 'ok' && q.key !== undefined);
        const reverted = new Set([...verdict.lost, ...verdict.stale.map((s) => s.key)]);
        const lastWrite = new Map<number, (typeof writes)[0]>();
        for (const w of writes) lastWrite.set(w.key!, w);
        const settledBefore = [...lastWrite.values()].filter((w) => w.end < dump.from).map((w) => w.key!);
        const changedAfter = [...lastWrite.values()].filter((w) => w.start > dump.to).map((w) => w.key!);
        const lostAcknowledgedBefore = writes.filter((w) => w.op === 'insert' && verdict.lost.includes(w.key!) && w.end < rollbackStarted).map((w) => w.key!);
        const onTarget = lostAcknowledgedBefore.length ? await target.query(`SELECT count(*)::int AS n FROM ${APP_TABLE} WHERE ${APP_KEY} = ANY($1::bigint[])`, [`{${lostAcknowledgedBefore.join(",")}}`]) : [{ n: 0 }];
        const observed = {
          acknowledgedWrites: writes.length,
          acknowledgedAfterTheDump: writes.filter((w) => w.start > dump.to).length,
          insertsLost: verdict.lost.length,
          updatesReverted: verdict.stale.length,
          unexpected: verdict.unexpected.length,
          keysSettledBeforeTheDumpReverted: settledBefore.filter((k) => reverted.has(k)),
          keysChangedAfterTheDumpKept: changedAfter.filter((k) => !reverted.has(k)),
          lostBeforeTheRollbackOnTarget: `${onTarget[0]?.n} of ${lostAcknowledgedBefore.length}`,
        };
        await attachJson('what the restore lost (history checker on the source)', observed);
        expect(observed.keysSettledBeforeTheDumpReverted, 'every write acknowledged before the dump is restored').toEqual([]);
        expect(observed.keysChangedAfterTheDumpKept, 'every key written after the dump is lost or reverted').toEqual([]);
        expect(verdict.lost.length, 'the restore loses the inserts after the dump').toBeGreaterThan(0);
        expect(Number(onTarget[0]?.n), 'the target still holds the lost inserts made before the rollback').toBe(lostAcknowledgedBefore.length);
        return { ...observed, lostKeys: verdict.lost };
      });

      const second = await runbookStep(`3. ${restart.title}`, async () => {
        const client = AppClient.start({ url: endpoints.pooler!.url, table: APP_TABLE, keyColumn: APP_KEY, shape: appShape });
        clients.push(client);
        await awaitAcknowledged(client, endpoints.source.database, WRITES_PER_PHASE, CONVERGE_LIMIT_MS);
        return client;
      });

      await runbookStep(`4. ${verify.title}: ${verify.commands[0]}`, async () => {
        const line = verify.commands[0]!.replace(`FROM ${RUNBOOK_TABLE};`, `FROM ${APP_TABLE};`);
        const r = await shell.run(line);
        expect(r.exitCode, r.stderr).toBe(0);
        const count = Number(/^\s*(\d+)\s*$/m.exec(r.stdout)?.[1]);
        const summary = await stopApplication(second, 'after the restore');
        const verdict = await checkHistory(second.history(), source);
        const reused = second.acknowledged().filter((w) => w.op === 'insert' && loss.lostKeys.includes(w.key)).map((w) => w.key);
        await attachJson('after the restart on the restored source', { count, failedRequests: summary.failedRequests, verdict, reusedKeysOfLostRows: reused.length });
        expect(count, 'the restored table has at least its seed rows').toBeGreaterThanOrEqual(SEED_ROWS);
        expect(summary.failedRequests, JSON.stringify(summary.failuresByCode)).toBe(0);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        assertClaim(changeLogClaim('database-migration', 27), loss.insertsLost > 0 && reused.length > 0,
          `${loss.acknowledgedAfterTheDump} writes acknowledged after the dump: ${loss.insertsLost} inserts lost, ${loss.updatesReverted} updates reverted; the target held ${loss.lostBeforeTheRollbackOnTarget} lost inserts made before the rollback; the restarted application got ${reused.length} of the lost rows' keys again`);
      });
    });
  }
});

/** Waits until the client has seen at least `n` failed requests (the damaged source refuses them). */
async function awaitFailures(client: AppClient, n: number): Promise<number> {
  return pollUntil({ what: `${n} failed requests on the damaged source`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 100 }, async () => {
    const failed = client.summary().failedRequests;
    return { done: failed >= n, seen: `${failed} failed`, value: failed };
  });
}

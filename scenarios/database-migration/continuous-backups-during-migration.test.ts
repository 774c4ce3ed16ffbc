/**
 * runbooks/database-migration.md — Disaster Recovery & Backups: Continuous Backups During Migration.
 * The section's scheduled source backup runs as typed while the migration replicates a workload that inserts,
 * updates and deletes. Each backup is restored into a scratch database and checked against the workload's
 * history: every row no write touched after the backup started must be in it exactly as in the source, and a
 * marker written just before it must be there. The check can fail: the backup taken before the marker is
 * reported stale. The migration itself loses nothing while the backups run.
 */
import { renameSync } from 'node:fs';
import path from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { checkBackup, filesIn, restoreIntoScratch, type ScratchRestore } from '../../harness/scenario/backup-restore.js';
import { commandLines, migrationShell } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'continuous-backups-during-migration');
const SQL_SERVER_SKIP = 'the section has no SQL Server commands (this runbook migrates a PostgreSQL source)';
const TABLE = 'customers';
const KEY = 'customer_id';
/** Acknowledged workload writes before each backup (inserts, updates and deletes). */
const WRITES_BETWEEN_BACKUPS = 100;

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`a scheduled source backup taken under load, restored and checked ${variant.label}`, async ({ source, target, pipeline, endpoints, pgTools }) => {
      const [backupLine] = commandLines(section.blocks({ lang: 'bash' })[0]!.value);
      expect(backupLine).toMatch(/^pg_dump "\$SOURCE_URL" /);
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());
      const scratches: ScratchRestore[] = [];
      onTestFinished(async () => {
        for (const s of scratches) await s.drop();
      });
      const backups = path.join(shell.cwd, 'backups');
      // The backups directory Pre-Migration Backups created.
      expect((await shell.run('mkdir -p backups')).exitCode).toBe(0);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 20, updateShare: 0.3, deleteShare: 0.1 });
      onTestFinished(async () => void (await workload.stop()));
      const takeBackup = async (name: string) => {
        const r = await shell.run(backupLine!);
        expect(r.exitCode, r.stderr).toBe(0);
        const [taken] = filesIn(backups).filter((f) => /^source-\d{8}-\d{4}\.dump$/.test(path.basename(f.file)));
        expect(taken, `${backupLine} wrote backups/source-<date>-<time>.dump`).toBeDefined();
        // Two runs within one minute share a file name; keep each under its own name.
        const kept = path.join(backups, `${name}.dump`);
        renameSync(taken!.file, kept);
        return kept;
      };

      /** Lets the workload make `n` more acknowledged writes (a backup of a busy table, not of the seed rows). */
      const writesMore = async (n: number) => {
        const goal = workload.acknowledged + n;
        await pollUntil({ what: `${goal} acknowledged workload writes`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 250 }, async () => ({ done: workload.acknowledged >= goal, seen: `${workload.acknowledged} acknowledged` }));
      };

      const earlier = await runbookStep('A scheduled backup while the workload writes (kept to show a stale one fails the check)', async () => {
        await writesMore(WRITES_BETWEEN_BACKUPS);
        return takeBackup('earlier');
      });
      const backup = await runbookStep(backupLine!, async () => {
        await writesMore(WRITES_BETWEEN_BACKUPS);
        const markerKey = await workload.mark();
        const writesBeforeMark = workload.acknowledged;
        return { markerKey, writesBeforeMark, file: await takeBackup('scheduled') };
      });

      const closeOut = await runbookStep('Nothing lost by the migration while the backups ran', async () => {
        const observed = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(observed.converged, JSON.stringify(observed.report.tables[0]?.diffCounts)).toBe(true);
        expect(observed.verdict.pass, verdictSummary(observed.verdict)).toBe(true);
        return observed;
      });

      await runbookStep('The backup restored and checked against the source and the write history', async () => {
        const scratch = await restoreIntoScratch(target, endpoints.target.url, pgTools, backup.file, TABLE, `rh_backup_${pipeline.names.topicPrefix}`);
        scratches.push(scratch);
        expect(scratch.restore.exitCode, scratch.restore.stderr).toBe(0);
        const verdict = await checkBackup(scratch.session, source, TABLE, closeOut.history, backup.markerKey, backup.writesBeforeMark);
        await attachJson('backup verdict', { ...verdict, report: verdict.report.summary });
        expect(verdict.markerInBackup, 'the marker written before the backup is in it').toBe(true);
        expect(verdict.unexplained, 'rows no write touched after the backup started are identical').toEqual([]);
        expect(verdict.pass).toBe(true);
        expect(verdict.restoredRows, 'the backup holds the busy table, not only its seed rows').toBeGreaterThan(WRITES_BETWEEN_BACKUPS / 2);
      });

      await runbookStep('Negative: the earlier backup lacks the marker and fails the same check', async () => {
        const scratch = await restoreIntoScratch(target, endpoints.target.url, pgTools, earlier, TABLE, `rh_backup_old_${pipeline.names.topicPrefix}`);
        scratches.push(scratch);
        expect(scratch.restore.exitCode, scratch.restore.stderr).toBe(0);
        const verdict = await checkBackup(scratch.session, source, TABLE, closeOut.history, backup.markerKey, backup.writesBeforeMark);
        await attachJson('stale backup verdict', { ...verdict, unexplained: verdict.unexplained.slice(0, 20), report: verdict.report.summary });
        expect(verdict.markerInBackup).toBe(false);
        expect(verdict.pass).toBe(false);
      });
    });
  }
});

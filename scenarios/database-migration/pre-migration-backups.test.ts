/**
 * runbooks/database-migration.md — Disaster Recovery & Backups: Pre-Migration Backups.
 * The section's backup commands run as typed on a deployed migration (before any cutover), then the backups are
 * restored and checked, not just taken: the source dump, restored into a scratch database with the section's own
 * commands, matches the source table by table, and a row changed after the dump is reported by key (the check
 * can fail); the target dump restores to the target's rows; the saved deploy file redeploys the source connector,
 * which resumes from its offsets; the running-config record is not deployable (passwords masked, no wrapper).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { withDatabase } from '../../harness/scenario/backup-restore.js';
import { commandLines, migrationShell, writeDeployFiles } from '../../harness/scenario/migration-shell.js';
import { awaitConverged, awaitRows, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { openSession, reconcileSessions, type ReconcileReport } from '../../harness/verify/reconcile/index.js';

const section = runbookSection('database-migration', 'pre-migration-backups');
const SQL_SERVER_SKIP = 'the section has no SQL Server commands (this runbook migrates a PostgreSQL source)';
/** The scratch database the section's restore check uses (RESTORE_CHECK_URL). */
const RESTORE_CHECK = 'restore_check';
/** Where the target dump is restored for its own check (not a runbook name). */
const TARGET_RESTORE = 'restore_check_target';

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`backups taken, restored and checked ${variant.label}`, async ({ source, target, pipeline, connect, endpoints, pgTools }) => {
      const [backupBlock, checkBlock] = section.blocks({ lang: 'bash' }).map((b) => commandLines(b.value)) as [string[], string[]];
      await resetSampleTables(source, target);
      const deployed = await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const restoreUrl = withDatabase(endpoints.target.url, RESTORE_CHECK);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix, variables: { RESTORE_CHECK_URL: restoreUrl, TARGET_RESTORE_URL: withDatabase(endpoints.target.url, TARGET_RESTORE) } });
      onTestFinished(() => shell.dispose());
      onTestFinished(async () => {
        for (const db of [RESTORE_CHECK, TARGET_RESTORE]) await target.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      });
      writeDeployFiles(shell, [deployed.source, deployed.sink]);
      const backups = path.join(shell.cwd, 'backups');
      const file = (pattern: RegExp) => {
        const found = readdirSync(backups).filter((f) => pattern.test(f));
        expect(found, `one backup file matching ${pattern}`).toHaveLength(1);
        return path.join(backups, found[0]!);
      };

      for (const line of backupBlock) {
        await runbookStep(line, async () => {
          const r = await shell.run(line);
          expect(r.exitCode, r.stderr).toBe(0);
        });
      }
      const files = {
        sourceDump: file(/^source-pre-migration-\d{8}\.dump$/),
        targetDump: file(/^target-pre-migration-\d{8}\.dump$/),
        sourceDeploy: file(/^postgres-source-\d{8}\.json$/),
        sourceRunning: file(/^postgres-source-running-\d{8}\.json$/),
        sinkRunning: file(/^postgresql-sink-running-\d{8}\.json$/),
      };
      await attachJson('backup files', Object.fromEntries(Object.entries(files).map(([k, f]) => [k, { file: path.basename(f), bytes: statSync(f).size }])));

      await runbookStep('Check the source backup: restore it into restore_check and reconcile it with the source', async () => {
        const [create, restore, reconcile, drop] = checkBlock as [string, string, string, string];
        for (const line of [create, restore]) {
          const r = await shell.run(line);
          expect(r.exitCode, r.stderr).toBe(0);
        }
        const matched = await shell.run(reconcile);
        expect(matched.exitCode, `the restored backup matches the quiet source: ${matched.stdout}`).toBe(0);
        // The check can fail: a source row changed after the dump is what the backup lacks, named by key.
        await source.query(`UPDATE customers SET name = 'changed after the backup' WHERE customer_id = 2`);
        const differs = await shell.run(`${reconcile} --report-format json`);
        expect(differs.exitCode, 'a change after the dump makes the reconcile exit 1').toBe(1);
        const report = JSON.parse(differs.stdout) as ReconcileReport;
        const customers = report.tables.find((t) => t.table === 'customers')!;
        expect(customers.differing.map((d) => Number(d.key.customer_id))).toEqual([2]);
        expect(report.tables.filter((t) => t.table !== 'customers').every((t) => t.match)).toBe(true);
        const dropped = await shell.run(drop);
        expect(dropped.exitCode, dropped.stderr).toBe(0);
        expect((await target.query(`SELECT 1 FROM pg_database WHERE datname = '${RESTORE_CHECK}'`)).length).toBe(0);
      });

      await runbookStep('Check the target backup: restored, it holds the replica rows of the dump', async () => {
        // The change made on the source above reaches the replica after the target dump: wait for it, then excuse it.
        expect((await awaitRows(target, `SELECT 1 FROM customers WHERE customer_id = 2 AND name = 'changed after the backup'`, 1, lagSloMs() * 2)).ok).toBe(true);
        await target.query(`DROP DATABASE IF EXISTS ${TARGET_RESTORE} WITH (FORCE)`);
        await target.query(`CREATE DATABASE ${TARGET_RESTORE}`);
        const r = await shell.run(`pg_restore --dbname="$TARGET_RESTORE_URL" --no-owner "${files.targetDump}"`);
        expect(r.exitCode, r.stderr).toBe(0);
        const restored = await openSession(withDatabase(endpoints.target.url, TARGET_RESTORE), 'restored target backup', { connections: 1 });
        try {
          const report = await reconcileSessions(restored, target, SAMPLE_TABLES.map((table) => ({ table })), { maxDiffRows: 1_000 });
          await attachJson('restored target backup vs target', report.summary);
          const byTable = Object.fromEntries(report.tables.map((t) => [t.table, t]));
          expect(byTable.orders!.match && byTable.products!.match, 'untouched tables restore exactly').toBe(true);
          expect(byTable.customers!.differing.map((d) => Number(d.key.customer_id)), 'only the row changed after the dump differs').toEqual([2]);
        } finally {
          await restored.close();
        }
      });

      await runbookStep('Check the connector backups: the deploy file redeploys, the running-config record does not', async () => {
        const running = JSON.parse(readFileSync(files.sourceRunning, 'utf8')) as Record<string, string>;
        const deployFile = JSON.parse(readFileSync(files.sourceDeploy, 'utf8')) as { name: string; config: Record<string, string> };
        await attachJson('running-config record vs deploy file', { running, deployFile });
        expect(running['database.password'], 'the running-config record masks the password').toBe('***');
        expect(readFileSync(files.sinkRunning, 'utf8')).not.toContain(endpoints.target.password);
        for (const [k, v] of Object.entries(deployFile.config)) if (!v.includes('${')) expect(running[k], `running config ${k}`).toBe(v);
        const fromRecord = await shell.run(`runbook-harness connector deploy postgres-source --file "${files.sourceRunning}"`);
        expect(fromRecord.exitCode, 'the running-config record is refused').toBe(2);
        expect(fromRecord.stderr.trim().split('\n')).toHaveLength(1);

        await connect.deleteConnector(pipeline.sourceName);
        const redeploy = await shell.run(`runbook-harness connector deploy postgres-source --file "${files.sourceDeploy}"`);
        expect(redeploy.exitCode, redeploy.stderr).toBe(0);
        expect(existsSync(files.sourceDeploy)).toBe(true);
        await source.query(`INSERT INTO customers (customer_id, name) VALUES (960001, 'after the redeploy from the backup')`);
        expect((await awaitRows(target, `SELECT 1 FROM customers WHERE customer_id = 960001`, 1, lagSloMs() * 2)).ok, 'the redeployed connector replicates').toBe(true);
        expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      });
    });
  }
});

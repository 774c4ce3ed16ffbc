/**
 * runbooks/database-migration.md — Maintenance Procedures: Weekly Tasks.
 * The weekly reconciliation runs as typed on a converged migration (exit 0, a JSON report in reports/), then on
 * the same stack with rows changed and removed behind the pipeline's back on the replica: it exits 1 and names
 * them by key. The slot query reports the WAL the migration's slot retains, and it grows while the source
 * connector is stopped and the source keeps writing (the retained WAL a weekly look is there to catch).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandLines, migrationShell, prettyBytes, runStatements } from '../../harness/scenario/migration-shell.js';
import { awaitConverged, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { runSql } from '../../harness/scenario/runbook-blocks.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { type ReconcileReport } from '../../harness/verify/reconcile/index.js';

const section = runbookSection('database-migration', 'weekly-tasks');
const SQL_SERVER_SKIP = 'written for a PostgreSQL source; the SQL Server queries of this section are not exercised yet';
/** Rows written while the source connector is stopped (200-byte names): WAL the slot must retain. */
const ROWS_WHILE_STOPPED = 2_000;
const PAD_BYTES = 200;

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`the weekly reconciliation and the slot's retained WAL ${variant.label}`, async ({ source, target, pipeline, connect, endpoints, pgTools }) => {
      const [reconcileLine] = commandLines(section.blocks({ lang: 'bash' })[0]!.value);
      const [slotSql] = section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' }).map((b) => b.value);
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());
      const reports = path.join(shell.cwd, 'reports');

      await runbookStep(`${reconcileLine}: a converged migration`, async () => {
        const r = await shell.run(reconcileLine!);
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
        const report = JSON.parse(r.stdout) as ReconcileReport;
        expect(report.tables.map((t) => [t.table, t.match])).toEqual(SAMPLE_TABLES.map((t) => [t, true]));
        const written = readdirSync(reports).filter((f) => f.endsWith('.json'));
        expect(written.length, 'a JSON report in reports/').toBeGreaterThan(0);
        expect((JSON.parse(readFileSync(path.join(reports, written[0]!), 'utf8')) as ReconcileReport).summary.match).toBe(true);
      });

      await runbookStep(`${reconcileLine}: rows changed and removed on the replica behind the pipeline`, async () => {
        await runSql(target, `UPDATE orders SET amount = amount + 1 WHERE order_id = 2;\nDELETE FROM products WHERE product_id = 1;`, 'divergence on the replica');
        const r = await shell.run(reconcileLine!);
        expect(r.exitCode, 'the weekly reconciliation exits 1 on a mismatch').toBe(1);
        const report = JSON.parse(r.stdout) as ReconcileReport;
        const byTable = Object.fromEntries(report.tables.map((t) => [t.table, t]));
        expect(byTable.customers!.match).toBe(true);
        expect(byTable.orders!.differing.map((d) => Number(d.key.order_id))).toEqual([2]);
        expect(byTable.products!.missingInTarget.map((k) => Number(k.product_id))).toEqual([1]);
      });

      await runbookStep('WAL retained by the slot: it grows while the source connector is stopped', async () => {
        const retained = async () => {
          const row = (await runStatements(source, slotSql!, 'WAL retained by the slot'))[0]!.rows.find((r) => r.slot_name === pipeline.names.slotName);
          return row && { lagSize: row.lag_size, bytes: prettyBytes(row.lag_size) };
        };
        const before = await retained();
        expect(before, `slot ${pipeline.names.slotName} listed`).toBeDefined();
        await connect.stopConnector(pipeline.sourceName);
        await source.query(`INSERT INTO customers (customer_id, name) SELECT 100000 + g, repeat('x', ${PAD_BYTES}) FROM generate_series(1, ${ROWS_WHILE_STOPPED}) g`);
        const grown = (await retained())!;
        await attachJson('retained WAL: before, while stopped', { before, grown });
        expect(grown.bytes - before!.bytes, 'the slot retains the WAL written while its connector is stopped').toBeGreaterThan(ROWS_WHILE_STOPPED * PAD_BYTES);
        await connect.resumeConnector(pipeline.sourceName);
        const released = await pollUntil({ what: `retained WAL below ${grown.lagSize} once the connector resumed`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          await source.query(`UPDATE orders SET notes = notes WHERE order_id = 1`); // a change to confirm
          const now = await retained();
          return { done: now !== undefined && now.bytes < grown.bytes, seen: JSON.stringify(now), value: now };
        });
        await attachJson('retained WAL after the resume', released);
      });
    });
  }
});

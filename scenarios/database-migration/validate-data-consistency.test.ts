/**
 * runbooks/database-migration.md — Migration Execution: Validate Data Consistency.
 * The section's reconcile lines run as typed on a running migration with a background workload, after differences
 * were planted in the replica behind the pipeline's back: in customers rows deleted, a value changed and a row the
 * source never had, in orders a row deleted. The row counts must flag orders (customers' count moves with the
 * workload's writes in flight, so it is recorded, not judged); both checksum runs and the one-table run must name exactly the planted keys (workload keys still in
 * flight are told apart by their key block), and the JSON report written to reports/ too. After the named keys are
 * re-sent through the pipeline, every line of the section must report a 100 % match. Nothing acknowledged is lost.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandLines, migrationShell } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { expectedDifferences, foundDifferences, type PlantedDifferences, plantDifferences, resendKeys } from '../../harness/scenario/planted-differences.js';
import { awaitConverged, awaitDrained } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { type ReconcileReport } from '../../harness/verify/reconcile/index.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'validate-data-consistency');
const SQL_SERVER_SKIP = 'the section has no SQL Server commands (this runbook migrates a PostgreSQL source)';
/** Rows added to the customers seed, so the one-table run's --chunk-size 1000 cuts the table into several chunks. */
const EXTRA_CUSTOMERS = 3_000;
/** The workload's keys start above this; every planted key is below it. */
const WORKLOAD_FIRST_KEY = 1_000_000;
const planted = (key: number) => key < WORKLOAD_FIRST_KEY;
const CUSTOMERS: PlantedDifferences = { table: 'customers', keyColumn: 'customer_id', missing: [20, 1500], differing: [42], column: 'name', extra: [900_000], extraRow: { name: 'only in the target' } };
const ORDERS: PlantedDifferences = { table: 'orders', keyColumn: 'order_id', missing: [2], differing: [], column: 'notes', extra: [] };

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`planted differences found by key, then 100 % match after the repair ${variant.label}`, async ({ source, target, pipeline, endpoints, pgTools }) => {
      const [counts, checksums, oneTable, jsonReport] = commandLines(section.blocks({ lang: 'bash' })[0]!.value) as [string, string, string, string];
      expect([counts, checksums, oneTable, jsonReport].every((l) => l.startsWith('runbook-harness reconcile '))).toBe(true);
      await resetSampleTables(source, target);
      await source.query(`INSERT INTO customers (customer_id, name, email_column) SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(10, ${9 + EXTRA_CUSTOMERS}) g`);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());
      const reportsDir = path.join(shell.cwd, 'reports');
      const reportFiles = () => { try { return readdirSync(reportsDir).filter((f) => f.endsWith('.json')).sort(); } catch { return []; } };
      /** Runs a section line; returns its result and the JSON report file it wrote into reports/. */
      const reconcileLine = async (line: string) => {
        const before = new Set(reportFiles());
        const run = await shell.run(line);
        const written = reportFiles().filter((f) => !before.has(f));
        expect(written, `${line}: one JSON report written to reports/ (${run.stderr.slice(0, 200)})`).toHaveLength(1);
        const report = JSON.parse(readFileSync(path.join(reportsDir, written[0]!), 'utf8')) as ReconcileReport;
        return { run, report, file: written[0]! };
      };
      const table = (report: ReconcileReport, name: string) => report.tables.find((t) => t.table === name)!;
      const namesThePlanted = async (report: ReconcileReport, label: string) => {
        const found = { customers: foundDifferences(table(report, 'customers'), 'customer_id', planted), orders: foundDifferences(table(report, 'orders'), 'order_id') };
        await attachJson(`${label}: planted and found`, { planted: { customers: CUSTOMERS, orders: ORDERS }, found });
        expect(found.customers, `${label}: customers, exactly the planted keys`).toEqual(expectedDifferences(CUSTOMERS));
        expect(found.orders, `${label}: orders, exactly the planted key`).toEqual(expectedDifferences(ORDERS));
        expect(table(report, 'products').match, `${label}: products untouched`).toBe(true);
      };

      const workload = Workload.start(source, { table: 'customers', keyColumn: 'customer_id', firstKey: WORKLOAD_FIRST_KEY, shape: (key, n) => ({ name: `writer ${n}`, email_column: `w${key}@example.com` }), ratePerSecond: 20 });
      onTestFinished(async () => void (await workload.stop()));
      await plantDifferences(target, CUSTOMERS);
      await plantDifferences(target, ORDERS);

      await runbookStep(counts, async () => {
        const { run, report } = await reconcileLine(counts);
        expect(run.exitCode, `a row-count mismatch exits 1: ${run.stdout}`).toBe(1);
        expect(report.options.mode).toBe('row-count');
        const orders = table(report, 'orders');
        expect({ match: orders.match, source: orders.sourceRows, target: orders.targetRows }, 'orders: one row fewer in the target').toEqual({ match: false, source: 3, target: 2 });
        expect(table(report, 'products').match).toBe(true);
        // customers: its count also moves with the workload's writes in flight, so it is recorded, not judged.
        await attachJson('customers by row count', { source: table(report, 'customers').sourceRows, target: table(report, 'customers').targetRows });
      });

      await runbookStep(checksums, async () => {
        const { run, report } = await reconcileLine(checksums);
        expect(run.exitCode, `a checksum mismatch exits 1: ${run.stdout}`).toBe(1);
        expect(report.options.mode).toBe('checksum');
        await namesThePlanted(report, 'checksums of every table');
        expect(run.stdout, 'the text report names the missing key').toMatch(/missing\s+customer_id=20\b/);
      });

      await runbookStep(oneTable, async () => {
        const { run, report } = await reconcileLine(oneTable);
        expect(run.exitCode, `exit 1: ${run.stdout}`).toBe(1);
        expect(report.tables.map((t) => t.table)).toEqual(['customers']);
        const customers = table(report, 'customers');
        expect(customers.keyColumns).toEqual(['customer_id']);
        expect(report.options.chunkSize).toBe(1000);
        expect(customers.chunkStats.count, `${customers.sourceRows} rows in chunks of at most --chunk-size first`).toBeGreaterThan(1);
        const found = foundDifferences(customers, 'customer_id', planted);
        await attachJson('one table in detail: planted and found', { planted: CUSTOMERS, found });
        expect(found).toEqual(expectedDifferences(CUSTOMERS));
        // The text report names each planted key and the differing column with both values.
        for (const k of CUSTOMERS.missing) expect(run.stdout).toMatch(new RegExp(`missing\\s+customer_id=${k}\\b`));
        expect(run.stdout).toMatch(/extra\s+customer_id=900000\b/);
        expect(run.stdout).toMatch(/differs\s+customer_id=42: name: "customer 42" -> "changed in the target"/);
      });

      await runbookStep(jsonReport, async () => {
        const { run, report, file } = await reconcileLine(jsonReport);
        expect(run.exitCode, 'exit 1').toBe(1);
        expect(file, 'the report for the change record, named after the tables').toMatch(/^reconciliation_3-tables_\d{8}T\d{6}Z(-\d+)?\.json$/);
        const printed = JSON.parse(run.stdout) as ReconcileReport;
        expect(printed, 'the report printed is the report written').toEqual(report);
        expect(report.summary).toMatchObject({ match: false, tables: 3, mismatchedTables: 2, erroredTables: 0 });
        await namesThePlanted(report, 'JSON report');
      });

      await runbookStep('Repair: the keys the report named, re-sent through the pipeline from the source', async () => {
        await resendKeys(source, CUSTOMERS, { name: 'repair' });
        await resendKeys(source, ORDERS, {});
        expect((await awaitDrained(target, 'customers', 'customer_id', await workload.mark())).drained, 'the sink applied the repair').toBe(true);
        const rows = await target.query(`SELECT customer_id, name FROM customers WHERE customer_id = ANY($1::int[]) ORDER BY customer_id`, [`{${[...CUSTOMERS.missing, ...CUSTOMERS.differing, ...CUSTOMERS.extra].join(',')}}`]);
        await attachJson('planted keys in the replica after the repair', rows);
        expect(rows.map((r) => Number(r.customer_id)), 'the missing rows are back, the extra row gone').toEqual([...CUSTOMERS.missing, ...CUSTOMERS.differing].sort((a, b) => a - b));
        expect(rows.find((r) => Number(r.customer_id) === 42)?.name, 'the changed value restored').toBe('customer 42');
        expect((await awaitConverged(source, target, [{ table: 'orders' }, { table: 'products' }])).converged, 'orders and products converged').toBe(true);
      });

      await runbookStep('Nothing lost, and every line of the section reports a 100 % match', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: 'customers' });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        for (const line of [counts, checksums, oneTable, jsonReport]) {
          const { run, report: r } = await reconcileLine(line);
          expect(run.exitCode, `${line}: exit 0 (${run.stdout.slice(0, 300)})`).toBe(0);
          expect({ match: r.summary.match, matched: r.summary.matchedTables, tables: r.summary.tables }, `${line}: 100 % of the tables match`).toEqual({ match: true, matched: line === oneTable ? 1 : 3, tables: line === oneTable ? 1 : 3 });
          expect(r.summary.missingInTarget + r.summary.extraInTarget + r.summary.differing, `${line}: no difference left`).toBe(0);
        }
      });
    });
  }
});

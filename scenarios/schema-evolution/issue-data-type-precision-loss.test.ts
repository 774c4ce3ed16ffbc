/**
 * runbooks/schema-evolution.md — Troubleshooting: Data Type Precision Loss.
 * The replica's table was created with narrower types than the source's (NUMERIC scale, timestamp
 * precision, REAL for DOUBLE PRECISION) before the rows arrived. The reconciliation must show exactly
 * the rows and columns that lost digits; the documented fix (align the replica columns, then re-send
 * the affected rows) must remove every difference, with a workload writing to the table throughout.
 */
import { pollUntil } from '../../harness/core/poll.js';
import { attachJson, attachSql, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload } from '../../harness/scenario/no-loss.js';
import { awaitConverged, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { attachCommands, fillPlaceholders, runSql } from '../../harness/scenario/runbook-blocks.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { type ReconcileReport, reconcileSessions, type SqlSession, type TableSpec } from '../../harness/verify/reconcile/index.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'issue-data-type-precision-loss');
const diagnostics = runbookSection('schema-evolution', 'issue-data-type-precision-loss/diagnostic-steps');
const resolution = runbookSection('schema-evolution', 'issue-data-type-precision-loss/resolution');
const TABLE = 'measurements';
const KEY = 'measurement_id';
const SEED_ROWS = 40;
/** The seed rows only: the workload's keys start above this, so the seed comparison is not raced. */
const SEED_RANGE: TableSpec = { table: TABLE, keyRange: { from: ['1'], to: [String(SEED_ROWS + 1)] } };

// Row k loses digits in one column, chosen by k mod 4 (0: values every type holds exactly).
const LOSSY: Record<number, string | undefined> = { 1: 'amount', 2: 'taken_at', 3: 'ratio', 0: undefined };
const seedValues = (k: number) => {
  const lossy = LOSSY[k % 4];
  return {
    amount: lossy === 'amount' ? `${k}.123456` : `${k}.5`,
    taken_at: lossy === 'taken_at' ? `2026-01-01 10:00:${String(k % 60).padStart(2, '0')}.654321` : `2026-01-01 10:00:${String(k % 60).padStart(2, '0')}`,
    ratio: lossy === 'ratio' ? `${k}.1234567890123` : `${k}.25`,
  };
};

const SOURCE_DDL = `CREATE TABLE ${TABLE} (${KEY} integer PRIMARY KEY, label varchar(100), amount numeric(18,6), taken_at timestamp(6), ratio double precision)`;
// The replica as a hand-made (or older) DDL left it: two decimal places, whole seconds, single precision.
const NARROW_TARGET_DDL = `CREATE TABLE ${TABLE} (${KEY} integer PRIMARY KEY, label varchar(100), amount numeric(18,2), taken_at timestamp(0), ratio real)`;

/** The column type as the runbook's metadata query describes it, written back as DDL. */
function typeOf(row: Record<string, string | null>): string {
  if (row.data_type === 'numeric') return `NUMERIC(${row.numeric_precision}, ${row.numeric_scale})`;
  if (row.data_type?.startsWith('timestamp')) return row.data_type.replace('timestamp', `timestamp(${row.datetime_precision})`);
  return row.data_type!;
}

async function reconcileSeed(source: SqlSession, target: SqlSession): Promise<ReconcileReport> {
  return reconcileSessions(source, target, [SEED_RANGE], { chunkSize: 1000 });
}

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`DECIMAL, timestamp and FLOAT precision: detect and fix ${variant.label}`, async ({ source, target, pipeline }) => {
      const dialect = variant.dialect;
      await resetSampleTables(source, target, [TABLE]);
      await runSql(source, SOURCE_DDL, 'source table');
      const values = Array.from({ length: SEED_ROWS }, (_, i) => i + 1).map((k) => ({ k, ...seedValues(k) }));
      await source.query(`INSERT INTO ${TABLE} (${KEY}, label, amount, taken_at, ratio) SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(k int, label text, amount numeric, taken_at timestamp, ratio double precision)`, [
        JSON.stringify(values.map((v) => ({ ...v, label: `seed ${v.k}` }))),
      ]);
      await runSql(target, NARROW_TARGET_DDL, 'replica table with narrower types, created before the rows arrive');
      await pipeline.deploy({ tables: [TABLE] });
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ label: `writer ${n}` }), ratePerSecond: 20 });

      // Every seed row arrived: counts match, so what differs is values (the runbook's symptom).
      const arrived = await pollUntil({ what: `${SEED_ROWS} seed rows in the replica`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
        const r = await reconcileSeed(source, target);
        const t = r.tables[0]!;
        return { done: t.targetRows === SEED_ROWS && t.diffCounts.missingInTarget === 0 && t.diffCounts.extraInTarget === 0, seen: `target ${t.targetRows} rows, missing ${t.diffCounts.missingInTarget}`, value: r };
      });

      const expectedDiffs = values.filter((v) => LOSSY[v.k % 4]).map((v) => ({ key: String(v.k), columns: [LOSSY[v.k % 4]!] }));
      const observedDiffs = (r: ReconcileReport) => r.tables[0]!.differing.map((d) => ({ key: String(d.key[KEY]), columns: d.columns })).sort((a, b) => Number(a.key) - Number(b.key));

      await runbookStep(`Symptoms: ${section.field('Symptoms').value}`, async () => {
        const t = arrived.tables[0]!;
        await attachJson('reconciliation report (seed rows)', arrived);
        assertClaim(section.field('Symptoms').claim, t.sourceRows === t.targetRows && t.diffCounts.differing > 0, `source ${t.sourceRows} rows, target ${t.targetRows}, ${t.diffCounts.differing} differing`);
      });

      const lossyColumns = await runbookStep('Diagnostic Steps', async () => {
        await attachCommands(diagnostics, 'reconcile command');
        const report = await reconcileSeed(source, target);
        await attachJson('reconciliation report (differing rows with both sides)', report);
        // The report names each differing key and its columns: exactly the rows that lost digits.
        expect(observedDiffs(report)).toEqual(expectedDiffs);
        const metadata = async (session: SqlSession, where: 'source' | 'target') => {
          const block = diagnostics.blocks({ lang: 'sql', side: where, ...(where === 'source' ? { dialect } : {}) })[0]!;
          const sql = fillPlaceholders(block.value, { table_name: TABLE });
          await attachSql(`column metadata (${where})`, sql);
          return session.query(sql);
        };
        const sourceColumns = await metadata(source, 'source');
        const targetColumns = await metadata(target, 'target');
        await attachJson('column metadata', { source: sourceColumns, target: targetColumns });
        // The columns whose types differ are the ones the reconciliation names.
        const differ = sourceColumns.filter((s) => typeOf(s) !== typeOf(targetColumns.find((t) => t.column_name === s.column_name)!));
        expect(differ.map((c) => c.column_name).sort()).toEqual(['amount', 'ratio', 'taken_at']);
        return differ.map((c) => ({ column: c.column_name!, sourceType: typeOf(c), targetType: typeOf(targetColumns.find((t) => t.column_name === c.column_name)!) }));
      });

      await runbookStep(`Resolution 1. ${resolution.step(1).title}`, async () => {
        const alter = resolution.stepSql(1, { side: 'target' });
        for (const { column, sourceType } of lossyColumns) {
          await runSql(target, fillPlaceholders(alter, { table_name: TABLE, column_name: column, source_type: sourceType }), `align ${column} with the source (${sourceType})`);
        }
        const columns = await target.query(fillPlaceholders(diagnostics.blocks({ lang: 'sql', side: 'target' })[0]!.value, { table_name: TABLE }));
        await attachJson('replica column metadata after the ALTERs', columns);
        // Widening keeps what was already rounded: the differences remain until the rows are re-sent.
        const afterAlter = await reconcileSeed(source, target);
        await attachJson('reconciliation after the ALTERs only', afterAlter);
        expect(observedDiffs(afterAlter), 'an ALTER alone does not bring back lost digits').toEqual(expectedDiffs);
      });

      await runbookStep(`Resolution 2. ${resolution.step(2).title}`, async () => {
        const resend = resolution.stepSql(2, { side: 'source', dialect });
        for (const { column } of lossyColumns) {
          const keys = expectedDiffs.filter((d) => d.columns.includes(column)).map((d) => d.key);
          await runSql(source, fillPlaceholders(resend, { table_name: TABLE, column_name: column, key_column: KEY, keys: keys.join(', ') }), `re-send the rows that lost ${column}`);
        }
        const fixed = await awaitConverged(source, target, [SEED_RANGE]);
        await attachJson('reconciliation after the fix (seed rows)', fixed.report);
        expect(fixed.converged, JSON.stringify(observedDiffs(fixed.report))).toBe(true);
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const { history, converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
        expect(history.writes.length).toBeGreaterThan(0);
      });
    });
  }
});

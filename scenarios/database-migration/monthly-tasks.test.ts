/**
 * runbooks/database-migration.md — Maintenance Procedures: Monthly Tasks.
 * The section's SQL runs on the target after the sink applied a month's worth of churn in miniature: a table
 * filled and rewritten through the pipeline, with autovacuum off on the replica table so the upkeep falls to
 * this task (as it does when autovacuum cannot keep up). Before the task the statistics show the need (dead
 * rows, rows modified since the last analyze, a planner row estimate far from the truth); after it, no dead
 * rows, nothing modified since the analyze, and the estimate right. The section's pointers are checked too:
 * the versions live in harness/env/runtime/versions.ts and `npm run test:scenarios` exists.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pollUntil } from '../../harness/core/poll.js';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { VERSIONS } from '../../harness/env/runtime/versions.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { runStatements } from '../../harness/scenario/migration-shell.js';
import { awaitConverged, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { type SqlSession } from '../../harness/verify/reconcile/index.js';

const section = runbookSection('database-migration', 'monthly-tasks');
const SQL_SERVER_SKIP = 'the section has no SQL Server commands (this runbook migrates a PostgreSQL source)';
const TABLE = 'orders';
/** Rows inserted, then each updated twice, through the pipeline. */
const ROWS = 2_000;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface TableHealth {
  deadRows: number;
  modifiedSinceAnalyze: number;
  lastVacuum: string | null;
  lastAnalyze: string | null;
  plannerEstimate: number;
  rows: number;
}

async function tableHealth(target: SqlSession, table: string): Promise<TableHealth> {
  const [s] = await target.query(
    `SELECT n_dead_tup::text AS dead, n_mod_since_analyze::text AS modified, last_vacuum::text AS last_vacuum, last_analyze::text AS last_analyze,
            (SELECT reltuples::bigint::text FROM pg_class WHERE oid = $1::text::regclass) AS estimate,
            (SELECT count(*)::text FROM ${table}) AS rows
       FROM pg_stat_user_tables WHERE relname = $1::text`,
    [table],
  );
  return { deadRows: Number(s!.dead), modifiedSinceAnalyze: Number(s!.modified), lastVacuum: s!.last_vacuum ?? null, lastAnalyze: s!.last_analyze ?? null, plannerEstimate: Number(s!.estimate), rows: Number(s!.rows) };
}

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`ANALYZE and VACUUM ANALYZE on the target after the sink's churn ${variant.label}`, async ({ source, target, pipeline }) => {
      const [block] = section.blocks({ lang: 'sql', side: 'target' }).map((b) => b.value);
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);

      const before = await runbookStep('A month of churn in miniature: rows written and rewritten through the pipeline', async () => {
        // The upkeep is this task's when autovacuum does not get to the replica table.
        await target.query(`ALTER TABLE ${TABLE} SET (autovacuum_enabled = false)`);
        await source.query(`INSERT INTO ${TABLE} (order_id, customer_id, amount, notes) SELECT 1000 + g, 1, g, 'new' FROM generate_series(1, ${ROWS}) g`);
        for (const pass of ['first', 'second']) {
          await source.query(`UPDATE ${TABLE} SET notes = '${pass} rewrite' WHERE order_id > 1000`);
        }
        expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
        // Dead rows and modifications reach the statistics when the sink's session reports them.
        // (Page pruning during the updates removes some dead rows on its own, so only some are left.)
        return pollUntil({ what: `dead rows and ${ROWS} rows modified since analyze in the replica's ${TABLE} statistics`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          const h = await tableHealth(target, TABLE);
          return { done: h.deadRows > 0 && h.modifiedSinceAnalyze >= ROWS, seen: JSON.stringify(h), value: h };
        });
      });
      await attachJson('replica table before the monthly task', before);
      expect(before!.lastVacuum).toBeNull();
      expect(Math.abs(before!.plannerEstimate - before!.rows), 'the planner estimate is off before ANALYZE').toBeGreaterThan(ROWS / 2);

      const after = await runbookStep('ANALYZE; VACUUM ANALYZE; on the target', async () => {
        const runs = await runStatements(target, block!, 'monthly upkeep (target)');
        expect(runs.map((r) => r.sql.trim().replace(/;$/, ''))).toEqual(['ANALYZE', 'VACUUM ANALYZE']);
        return pollUntil({ what: `no dead rows and nothing modified since the analyze in ${TABLE}`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const h = await tableHealth(target, TABLE);
          return { done: h.deadRows === 0 && h.modifiedSinceAnalyze === 0 && h.lastVacuum !== null && h.lastAnalyze !== null, seen: JSON.stringify(h), value: h };
        });
      });
      await attachJson('replica table after the monthly task', after);
      expect(after!.plannerEstimate, 'the planner estimate is the row count').toBe(after!.rows);

      await runbookStep('Versions pinned in harness/env/runtime/versions.ts; rehearse with npm run test:scenarios', async () => {
        const text = readFileSync(path.resolve(REPO_ROOT, section.file), 'utf8').split('\n').slice(section.line - 1, section.endLine).join('\n');
        expect(text).toMatch(/harness\/env\/runtime\/versions\.ts/);
        expect(VERSIONS.debezium).toMatch(/^\d+\.\d+\.\d+\.Final$/);
        expect(VERSIONS.kafka).toMatch(/^\d+\.\d+\.\d+$/);
        const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
        expect(scripts['test:scenarios'], 'the rehearsal the section names').toBeDefined();
      });
    });
  }
});

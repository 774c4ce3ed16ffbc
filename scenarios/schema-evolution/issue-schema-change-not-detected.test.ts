/**
 * runbooks/schema-evolution.md — Troubleshooting: Issue: Schema Change Not Detected.
 * PostgreSQL variant: a column added on the source while no row of the table changes never reaches the
 * replica (the symptom). The Diagnostic Steps run as written: the table is in the connector's
 * publication, the source connector's config, whether a row changed since the DDL (the table topic's end
 * offset). The original's fix, restarting the source connector, changes nothing; the Resolution (a change
 * to a row) brings the column within the lag SLO. The workload writes to orders throughout: a write to
 * customers would resolve the issue by itself.
 */
import { inject } from 'vitest';
import { withAdmin } from '../../harness/pipeline/kafka-admin.js';
import { attachJson, attachSql, attachText, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { awaitColumn, awaitConverged, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { fillPlaceholders, harnessCommands, runSql } from '../../harness/scenario/runbook-blocks.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'issue-schema-change-not-detected');
const diagnostics = runbookSection('schema-evolution', 'issue-schema-change-not-detected/diagnostic-steps');
const resolution = runbookSection('schema-evolution', 'issue-schema-change-not-detected/resolution');
const TABLE = 'customers';
const COLUMN = 'email_secondary';
const CHANGE_SQL = `ALTER TABLE public.${TABLE} ADD COLUMN ${COLUMN} VARCHAR(255) NULL`;
const KEY = 'customer_id';

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`a column added while no row changes ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const lagMs = lagSloMs();
      const stateDir = inject('stackStateDir');
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }, { table: 'orders' }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables.map((t) => t.diffCounts))).toBe(true);
      const workload = Workload.start(source, { table: 'orders', keyColumn: 'order_id', shape: (_, n) => ({ customer_id: '1', amount: `${n % 1000}.25` }), ratePerSecond: 20 });
      const topic = pipeline.topicOf(TABLE);
      const endOffset = () => withAdmin(kafka.bootstrap, async (admin) => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0));

      const before = await runbookStep('The schema change on the source (no row of the table changes afterwards)', async () => {
        const offset = await endOffset();
        await runSql(source, CHANGE_SQL, 'the DDL');
        return offset;
      });

      await runbookStep(`Symptoms: ${section.field('Symptoms').value}`, async () => {
        const seen = await awaitColumn(target, TABLE, COLUMN, lagMs);
        await attachJson('replica columns', seen.columns);
        assertClaim(section.field('Symptoms').claim, !seen.appeared, seen.appeared ? `${COLUMN} reached the replica after ${seen.seconds} s` : `${COLUMN} not in the replica after ${lagMs / 1000} s`);
      });

      await runbookStep(`1. ${diagnostics.step(1).title}`, async () => {
        const sql = fillPlaceholders(diagnostics.stepSql(1, { side: 'source', dialect }), { table_name: TABLE });
        await attachSql('publication membership', sql);
        const rows = await source.query(sql);
        await attachJson('pg_publication_tables', rows);
        expect(rows.map((r) => r.pubname), "the table is in the connector's publication").toContain(pipeline.names.publicationName);
      });

      await runbookStep(`2. ${diagnostics.step(2).title}`, async () => {
        const block = diagnostics.step(2).codeBlocks.find((b) => b.lang === 'bash')!;
        await attachText('runbook commands', block.value);
        const [line] = harnessCommands(block);
        const args = line!.split(/\s+/).slice(1).map((w) => (w === 'sqlserver-source' || w === 'postgres-source' ? pipeline.sourceName : w));
        const result = await runCli(stateDir, args);
        await attachText(`$ runbook-harness ${args.join(' ')}`, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
        expect(result.code, result.stderr).toBe(0);
        const config = JSON.parse(result.stdout) as Record<string, string>;
        const relevant = { 'connector.class': config['connector.class'], 'include.schema.changes': config['include.schema.changes'] ?? null, 'table.include.list': config['table.include.list'] };
        await attachJson('source connector config (relevant keys)', relevant);
        expect(config['table.include.list']).toContain(TABLE);
        // The block's two comment lines: SQL Server has include.schema.changes = true; a PostgreSQL source has no such setting.
        if (dialect === 'sqlserver') expect(config['include.schema.changes'], 'Expected (SQL Server source): include.schema.changes = true').toBe('true');
        else {
          expect(config['connector.class']).toBe('io.debezium.connector.postgresql.PostgresConnector');
          expect(config['include.schema.changes'], 'a PostgreSQL source has no include.schema.changes').toBeUndefined();
        }
      });

      await runbookStep(`3. ${diagnostics.step(3).title}`, async () => {
        const [block] = diagnostics.stepBlocks(3, { lang: 'bash' });
        if (!block) throw new Error(`${diagnostics.file}: step 3 has no bash block`);
        await attachText('runbook commands', block.value);
        const [line] = harnessCommands(block);
        const args = line!.split(/\s+/).slice(1);
        const result = await runCli(stateDir, args);
        await attachText(`$ runbook-harness ${args.join(' ')}`, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
        expect(result.code, result.stderr).toBe(0);
        // TOPIC  PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG: the table topic's log end, summed over partitions.
        const rows = result.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((w) => w[0] === topic);
        expect(rows.length, `the output lists ${topic}`).toBeGreaterThan(0);
        const after = rows.reduce((sum, w) => sum + Number(w[3]), 0);
        await attachJson('table topic log-end offset: at the DDL and now', { atDdl: before, now: after });
        expect(after, 'Expected: the same LOG-END-OFFSET as at the DDL').toBe(before);
        // The original's fix: restart the source connector. Nothing changes without a row change.
        const restarted = await connect.restartConnector(pipeline.sourceName, { includeTasks: true });
        await attachJson('source connector restarted (the original fix)', restarted);
        const seen = await awaitColumn(target, TABLE, COLUMN, lagMs);
        expect(seen.appeared, 'restarting the source connector does not bring the column').toBe(false);
      });

      await runbookStep('Resolution', async () => {
        const blocks = resolution.blocks({ side: 'source', dialect });
        expect(blocks.length, `the Resolution has SQL for a ${dialect} source`).toBeGreaterThan(0);
        for (const block of blocks) await runSql(source, fillPlaceholders(block.value, { table_name: TABLE, key_column: KEY }), `resolution (${dialect})`);
        const seen = await awaitColumn(target, TABLE, COLUMN, lagMs);
        await attachJson('replica columns', seen.columns);
        expect(seen.appeared, `Expected: ${COLUMN} in the replica within the lag SLO (${lagMs / 1000} s)`).toBe(true);
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const history = await workload.stop();
        const converged = await awaitConverged(source, target, [{ table: TABLE }, { table: 'orders' }]);
        await attachJson('reconciliation report', converged.report);
        const verdict = await checkHistory(history, target);
        await attachJson('acknowledged-write check', { ...verdict, errors: history.errors.slice(0, 20) });
        expect(converged.converged, JSON.stringify(converged.report.tables.map((t) => t.diffCounts))).toBe(true);
        expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
        expect(history.writes.length).toBeGreaterThan(0);
      });
    });
  }
});

/**
 * runbooks/database-migration.md — Incident Response Procedures, P1: Schema Mismatch Detected.
 * A real source DDL the sink cannot apply: orders.notes is widened on the source (the sink never retypes a replica
 * column) and the background workload writes notes longer than the replica column, so the sink's write fails.
 * Investigation runs the section's schema dumps and diff, which must show the mismatched column, and its target
 * query; Resolution applies the missing DDL to the target with psql -f and restarts the failed task. Every
 * acknowledged write must reach the target.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { attachJson, attachSql, attachText, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitState, traceHead } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { expectedHarnessCommands, runSql } from '../../harness/scenario/runbook-blocks.js';
import { runCli, runRunbookCommand } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables, SAMPLE_TABLES } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'p1-schema-mismatch-detected');
const TABLE = 'orders';
const COLUMN = 'notes';
const REPLICA_WIDTH = 500;
const SOURCE_WIDTH = 2000;
const LONG_NOTE = 'n'.repeat(REPLICA_WIDTH + 100);

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(variant.dialect !== 'postgres' || !variant.runs)(`investigation and resolution ${variant.label}`, async ({ source, target, pipeline, connect, endpoints, pgTools }) => {
      const stateDir = inject('stackStateDir');
      const sink = pipeline.sinkName;
      const workDir = mkdtempSync(path.join(tmpdir(), 'rh-schema-mismatch-'));
      const env = { SOURCE_URL: endpoints.source.url, TARGET_URL: endpoints.target.url };
      const local = (line: string) => line.replaceAll('/tmp/', `${workDir}/`);

      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      const snapshot = await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })));
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables.map((t) => t.diffCounts))).toBe(true);

      // The mismatch: a source DDL the sink does not carry over, and writes that need it.
      await runSql(source, `ALTER TABLE public.${TABLE} ALTER COLUMN ${COLUMN} TYPE varchar(${SOURCE_WIDTH})`, 'the source DDL');
      const workload = Workload.start(source, { table: TABLE, keyColumn: 'order_id', shape: (_, n) => ({ customer_id: '1', amount: `${n % 1000}.25`, notes: n % 4 === 0 ? `${n} ${LONG_NOTE}` : `note ${n}` }), ratePerSecond: 20 });
      const failed = await awaitState(connect, sink, 'FAILED', CONVERGE_LIMIT_MS);
      await attachJson('sink status after the long notes (REST)', failed.status);
      expect(failed.reached, `the sink did not fail within ${CONVERGE_LIMIT_MS / 1000} s`).toBe(true);
      expect(traceHead(failed.status), 'the sink failed on the mismatch').toMatch(/value too long for type character varying\(500\)/);

      await runbookStep('Investigation: compare the schemas, list the target tables', async () => {
        const [bash] = section.blocks({ lang: 'bash' });
        const lines = bash!.value.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
        expect(lines.map((l) => l.split(' ')[0]), 'two dumps and a diff').toEqual(['pg_dump', 'pg_dump', 'diff']);
        const runs = [];
        for (const line of lines) runs.push(await runRunbookCommand(local(line), pgTools, env, workDir));
        await attachJson('investigation commands', runs.map((r) => ({ command: r.command, exit: r.exitCode, stderr: r.stderr.slice(0, 300) })));
        expect(runs[0]!.exitCode, runs[0]!.stderr).toBe(0);
        expect(runs[1]!.exitCode, runs[1]!.stderr).toBe(0);
        const diff = runs[2]!;
        await attachText('diff of the schemas', diff.stdout);
        expect(diff.exitCode, 'diff exits 1: the schemas differ').toBe(1);
        // The table's block in each dump (pg_dump prints each CREATE TABLE whole).
        const column = (file: string) => new RegExp(`CREATE TABLE public\\.${TABLE} \\([^;]*?\\n\\s+${COLUMN} ([^,\\n]+)`).exec(readFileSync(path.join(workDir, file), 'utf8'))?.[1];
        const found = { source: column('source-schema.sql'), target: column('target-schema.sql') };
        await attachJson(`${TABLE}.${COLUMN} in each dump`, found);
        expect(found).toEqual({ source: `character varying(${SOURCE_WIDTH})`, target: `character varying(${REPLICA_WIDTH})` });
        expect(diff.stdout, 'the diff shows the mismatched column').toContain(`${COLUMN} character varying(${SOURCE_WIDTH})`);
        const sql = section.blocks({ lang: 'sql', side: 'target' })[0]!.value;
        await attachSql('target tables', sql);
        const tables = (await target.query(sql)).map((r) => r.table_name);
        expect(tables, 'the target has every migrated table: the mismatch is in a column, not a missing table').toEqual(expect.arrayContaining([...SAMPLE_TABLES]));
      });

      await runbookStep('Resolution: apply the missing DDL to the target, restart the failed task', async () => {
        const [, bash] = section.blocks({ lang: 'bash' });
        const psqlLine = bash!.value.split('\n').map((l) => l.trim()).find((l) => l.startsWith('psql '))!;
        const restart = expectedHarnessCommands(bash!.value);
        expect(restart.map((c) => c.args.join(' '))).toEqual([`connector restart ${sink} --include-tasks --only-failed`]);
        // The missing DDL, as the diff showed it.
        const ddl = `ALTER TABLE public.${TABLE} ALTER COLUMN ${COLUMN} TYPE character varying(${SOURCE_WIDTH});\n`;
        writeFileSync(path.join(workDir, 'schema-updates.sql'), ddl);
        await attachSql('schema-updates.sql', ddl);
        const applied = await runRunbookCommand(psqlLine, pgTools, env, workDir);
        expect(applied.exitCode, applied.stderr).toBe(0);
        expect(applied.stdout.trim()).toBe('ALTER TABLE');
        const restarted = await runCli(stateDir, restart[0]!.args);
        expect(restarted.code, restarted.stderr).toBe(0);
        const drained = await awaitDrained(target, TABLE, 'order_id', await workload.mark());
        expect(drained.drained, 'the sink applied the backlog after the fix').toBe(true);
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const { converged, report, verdict, history } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        expect(history.writes.filter((w) => (w.row?.notes?.length ?? 0) > REPLICA_WIDTH).length, 'the workload wrote notes the old replica column could not hold').toBeGreaterThan(0);
      });
    });
  }
});

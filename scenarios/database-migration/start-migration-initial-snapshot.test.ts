/**
 * runbooks/database-migration.md — Standard Operations, Migration Execution: Start Migration (Initial Snapshot).
 * Set up as the sections before it say (Configure Debezium Connector's heartbeat table and JSON, Create Target
 * Database's schema copy; borrowed, not covered here), with orders big enough that the snapshot takes a while and a
 * background workload writing to customers from before the source connector starts, so it writes during the snapshot.
 * The section then runs as typed: the sink deployed from its JSON as written (the scenario's topic prefix in place of
 * the runbook's) by `connector deploy --file`; `reconcile --row-count-only` repeated until the row counts converge
 * (and it exits 1 on a row planted in the target); `lag` measures the heartbeat within the lag SLO (and exits 1 with
 * the sink paused). Nothing acknowledged is lost. Last, the control of Change Log row 24: the sink as the section
 * wrote it before (the sample tables only) leaves `lag` without a heartbeat to judge, exit 2.
 */
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandGroups, commandLines, migrationShell, runStatements } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { referencedSectionBlocks } from '../../harness/scenario/runbook-blocks.js';
import { saveRunbookConnector } from '../../harness/scenario/runbook-connectors.js';
import { resetSampleTables, SAMPLE_TABLES } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'start-migration-initial-snapshot');
const SQL_SERVER_SKIP = 'the section follows Configure Debezium Connector, whose connector JSON is the PostgreSQL source; SQL Server cannot run on the local embedded stack';
const TABLE = 'customers';
const KEY = 'customer_id';
/** Extra orders rows, so that applying the snapshot lasts long enough for the workload to write during it (30,000 took 70-128 s to apply at load 20-25 on 2 cores, at the edge of the convergence limit). */
const BULK_ORDERS = 10_000;
/** The workload mostly updates (the row counts the section compares then settle while it writes), and inserts and deletes some. */
const WORKLOAD = { ratePerSecond: 10, updateShare: 0.85, deleteShare: 0.05 };
const CONFIGURE = 'configure-debezium-connector';
const CREATE_TARGET = 'create-target-database';

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`the sink deployed from the section's JSON while the source takes writes; counts converge, lag within the SLO, nothing lost ${variant.label}`, async ({ source, target, pipeline, connect, kafka, endpoints, pgTools }) => {
      const [deployGroup, progressGroup] = commandGroups(section.blocks({ lang: 'bash' })[0]!.value) as [{ title: string; lines: string[] }, { title: string; lines: string[] }];
      const [deploy] = deployGroup.lines as [string];
      const [reconcile, lag] = progressGroup.lines as [string, string];
      expect(reconcile).toMatch(/^runbook-harness reconcile .*--row-count-only$/);
      expect(lag).toBe('runbook-harness lag');
      const sinkBlock = section.blocks({ lang: 'json' }).find((b) => b.connector === pipeline.sinkName)!;
      const configure = referencedSectionBlocks('database-migration', CONFIGURE);
      const row24 = changeLogClaim('database-migration', 24);

      // Before the section: the source seeded (orders made big), the heartbeat table, the schema copied, the source
      // connector deployed from Configure Debezium Connector's JSON, the workload writing from before it starts.
      await resetSampleTables(source, target, [DEFAULT_HEARTBEAT_TABLE]);
      await source.query(`INSERT INTO orders (order_id, customer_id, amount, notes) SELECT 1000 + g, 1 + g % 3, (g % 1000) / 10.0, 'bulk ' || g FROM generate_series(1, $1::int) g`, [String(BULK_ORDERS)]);
      const names = pipeline.reserve([...SAMPLE_TABLES, DEFAULT_HEARTBEAT_TABLE]);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: names.topicPrefix });
      onTestFinished(() => shell.dispose());
      await runStatements(source, configure.find((b) => b.lang === 'sql' && b.dialect === 'postgres' && b.value.includes(DEFAULT_HEARTBEAT_TABLE))!.value, 'heartbeat table (Configure Debezium Connector)');
      const schemaCopy = commandLines(referencedSectionBlocks('database-migration', CREATE_TARGET).find((b) => b.lang === 'bash')!.value).find((l) => l.startsWith('pg_dump '))!;
      const copied = await shell.run(schemaCopy);
      expect(copied.exitCode, copied.stderr).toBe(0);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ...WORKLOAD });
      onTestFinished(async () => void (await workload.stop()));
      const sourceConfig = saveRunbookConnector(configure.find((b) => b.lang === 'json' && b.connector === pipeline.sourceName)!, shell.cwd, names);
      const sourceDeployed = await shell.run(`runbook-harness connector deploy ${pipeline.sourceName} --file ${sourceConfig.relative}`);
      expect(sourceDeployed.exitCode, sourceDeployed.stderr).toBe(0);

      await runbookStep(`${deployGroup.title}: ${deploy}`, async () => {
        const saved = saveRunbookConnector(sinkBlock, shell.cwd, names);
        await attachJson(`${saved.relative} (as written; the scenario's topic prefix in place of the runbook's)`, { renamed: saved.renamed, saved: saved.definition });
        expect(Object.keys(saved.renamed), 'only the topic prefix differs from the runbook').toEqual(['topics.regex']);
        expect(deploy).toContain(`--file ${saved.relative}`);
        const writesBefore = workload.acknowledged;
        const r = await shell.run(deploy);
        expect(r.exitCode, r.stderr).toBe(0);
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        expect([status.connector.state, ...status.tasks.map((t) => t.state)]).toEqual(['RUNNING', 'RUNNING']);
        const [orders] = await target.query('SELECT count(*)::text AS n FROM orders');
        await attachJson('when the sink was deployed', { workloadWritesBeforeTheSink: writesBefore, ordersInTargetRightAfter: Number(orders!.n), ordersInSource: BULK_ORDERS + 3 });
        expect(writesBefore, 'the workload wrote before the sink started').toBeGreaterThan(0);
      });

      await runbookStep(`${progressGroup.title}: ${reconcile}`, async () => {
        const writesAtDeploy = workload.acknowledged;
        const runs: { exit: number; at: string; out: string }[] = [];
        const converged = await pollUntil({ what: `'${reconcile}' to exit 0 (row counts equal)`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          const r = await shell.run(reconcile);
          runs.push({ exit: r.exitCode, at: new Date().toISOString(), out: r.stdout.trim().slice(0, 400) });
          return { done: r.exitCode === 0, seen: `exit ${r.exitCode}: ${r.stdout.trim().slice(0, 300)} ${r.stderr.trim().slice(0, 200)}`, value: r, abort: r.exitCode === 2 ? new Error(`reconcile could not run: ${r.stderr.trim()}`) : undefined };
        });
        await attachJson('reconcile --row-count-only, run by run, while the workload writes', runs);
        expect(workload.acknowledged, 'the workload wrote while the sink applied the snapshot').toBeGreaterThan(writesAtDeploy);
        expect(converged.stdout).toMatch(/orders/);
        // The check can fail: one row in the target the source does not have.
        await target.query(`INSERT INTO products (product_id, name, price) VALUES (990001, 'planted in the target', 1)`);
        try {
          const planted = await shell.run(reconcile);
          expect(planted.exitCode, `a planted row: ${planted.stdout}`).toBe(1);
        } finally {
          await target.query('DELETE FROM products WHERE product_id = 990001');
        }
      });

      await runbookStep(`${progressGroup.title}: ${lag} (within the lag SLO)`, async () => {
        const r = await shell.run(lag);
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
        const seconds = Number(/heartbeat: (\d+\.\d+) s/.exec(r.stdout)?.[1]);
        expect(seconds * 1000, `heartbeat lag ${seconds} s`).toBeLessThan(lagSloMs());
        expect(r.stdout).toMatch(/PASS Data replication lag/);
        // The check can fail: with the sink paused the heartbeat does not arrive, and lag exits 1.
        await connect.pauseConnector(pipeline.sinkName);
        try {
          const paused = await shell.run(lag);
          expect(paused.exitCode, `lag with the sink paused: ${paused.stdout}`).toBe(1);
          expect(paused.stdout).toMatch(/FAIL Data replication lag/);
        } finally {
          await connect.resumeConnector(pipeline.sinkName);
        }
      });

      await runbookStep('Nothing lost: the snapshot and the stream applied, every acknowledged write in the target', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        const rest = await awaitConverged(source, target, ['orders', 'products'].map((table) => ({ table })));
        expect(rest.converged, JSON.stringify(rest.report.tables.map((t) => [t.table, t.diffCounts]))).toBe(true);
        expect((await kafka.exists(pipeline.dlqTopic)) ? await kafka.count(pipeline.dlqTopic) : 0, 'no dead letters').toBe(0);
      });

      await runbookStep('Control (Change Log row 24): the sink with the sample tables only leaves lag nothing to judge', async () => {
        const saved = saveRunbookConnector(sinkBlock, shell.cwd, names);
        const regex = saved.definition.config['topics.regex']!;
        const original = regex.replace(`|${DEFAULT_HEARTBEAT_TABLE}`, '');
        expect(original, 'the regex before row 24').not.toBe(regex);
        await connect.putConnectorConfig(pipeline.sinkName, { ...(await connect.getConnectorConfig(pipeline.sinkName)), 'topics.regex': original });
        await target.query(`DROP TABLE IF EXISTS ${DEFAULT_HEARTBEAT_TABLE}`);
        const r = await shell.run(lag);
        await attachJson('lag with the sink on the sample tables only', { exit: r.exitCode, stdout: r.stdout, stderr: r.stderr });
        assertClaim(row24, r.exitCode === 2 && /no verdict on the replication-lag SLO: heartbeat table runbook_harness_heartbeat missing in the target/.test(r.stderr), `lag exited ${r.exitCode}: ${r.stderr.trim().slice(0, 300)}`);
      });
    });
  }
});

/**
 * runbooks/database-migration.md — Standard Operations, Migration Setup: Configure Debezium Connector.
 * On the seeded sample tables, with a background workload writing to customers from before the connector exists:
 * the section's wal_level check runs and its `-- Expected:` line is compared with what the source says (a copy of the
 * block expecting another value fails the same comparison), and the connector's user has the REPLICATION attribute;
 * the heartbeat table is created (Change Log row 24); the section's JSON, saved as config/postgres-source.json as
 * written (the scenario's own topic prefix, slot and publication in place of the runbook's; `${...}` filled by
 * `connector deploy --file`), is deployed by the section's command; `connector status` says RUNNING (and exits 1
 * with the connector paused); the initial snapshot starts: every seed row is on its table's topic as a snapshot
 * record (op r), and the filtered publication holds the four captured tables. Close-out: the sink of Start Migration
 * (borrowed) applies the stream, and every acknowledged write of the workload is in the target.
 * The section's SQL Server block runs in the SQL Server variant, which the local embedded stack cannot run.
 */
import { readFileSync } from 'node:fs';
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandLines, migrationShell, runStatements } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { referencedSectionBlocks } from '../../harness/scenario/runbook-blocks.js';
import { saveRunbookConnector } from '../../harness/scenario/runbook-connectors.js';
import { resetSampleTables, SAMPLE_TABLES } from '../../harness/scenario/sample-tables.js';
import { compareExpectation, sqlExpectations } from '../../harness/scenario/sql-expectations.js';
import { readTableEvents } from '../../harness/scenario/topic-reads.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE } from '../../harness/verify/lag.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'configure-debezium-connector');
const TABLE = 'customers';
const KEY = 'customer_id';
const KEYS: Record<string, string> = { customers: 'customer_id', orders: 'order_id', products: 'product_id', [DEFAULT_HEARTBEAT_TABLE]: 'id' };
/** The sections this one hands over to: the schema copy and the sink (borrowed for the close-out). */
/** The workload's keys start above this, clear of the seed rows. */
const WORKLOAD_FIRST_KEY = 1_000_000;
const CREATE_TARGET = 'create-target-database';
const START_MIGRATION = 'start-migration-initial-snapshot';

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    if (variant.dialect === 'postgres') test.skipIf(!variant.runs)(`wal_level, the connector deployed from the section's JSON, RUNNING, the snapshot started ${variant.label}`, async ({ source, target, pipeline, connect, kafka, endpoints, pgTools }) => {
      const [walBlock, heartbeatBlock] = section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' }).map((b) => b.value) as [string, string];
      expect(heartbeatBlock).toContain(DEFAULT_HEARTBEAT_TABLE);
      const jsonBlock = section.blocks({ lang: 'json' }).find((b) => b.connector === pipeline.sourceName)!;
      const [deploy, status] = commandLines(section.blocks({ lang: 'bash' })[0]!.value) as [string, string];
      await resetSampleTables(source, target, [DEFAULT_HEARTBEAT_TABLE]);
      const names = pipeline.reserve([...SAMPLE_TABLES, DEFAULT_HEARTBEAT_TABLE]);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: names.topicPrefix });
      onTestFinished(() => shell.dispose());
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 10, firstKey: WORKLOAD_FIRST_KEY });
      onTestFinished(async () => void (await workload.stop()));

      await runbookStep('The source database needs wal_level=logical (SHOW wal_level; Expected: logical) and a user with the REPLICATION attribute', async () => {
        const expectations = sqlExpectations(walBlock);
        expect(expectations.map((e) => e.sql)).toEqual(['SHOW wal_level']);
        const [ran] = await runStatements(source, walBlock, 'wal_level');
        const verdict = compareExpectation(ran!.rows, expectations[0]!.expected);
        // The comparison is real: the same rows against a copy of the block that expects something else.
        const otherCopy = sqlExpectations(walBlock.replace(/Expected: \w+/, 'Expected: replica'))[0]!;
        const against = compareExpectation(ran!.rows, otherCopy.expected);
        await attachJson('wal_level against the Expected line, and against a copy expecting replica', { verdict, against });
        expect(verdict, 'SHOW wal_level gives what the section expects').toMatchObject({ pass: true, seen: 'logical' });
        expect(against, 'a runbook copy expecting replica fails on this source').toMatchObject({ pass: false, seen: 'logical' });
        const [role] = await source.query('SELECT rolreplication::text AS replication FROM pg_roles WHERE rolname = $1', [endpoints.source.user]);
        expect(role?.replication, `${endpoints.source.user} (the connector's database.user) has REPLICATION`).toBe('true');
      });

      await runbookStep('Create the heartbeat table before the connector (its SQL), so that the filtered publication includes it', async () => {
        await runStatements(source, heartbeatBlock, 'heartbeat table');
        expect(await source.query(`SELECT id, marker FROM ${DEFAULT_HEARTBEAT_TABLE}`)).toEqual([{ id: 'daily', marker: 'seed' }]);
      });

      const saved = saveRunbookConnector(jsonBlock, shell.cwd, names);
      await runbookStep(`Save the config as ${saved.relative} and deploy it: ${deploy}`, async () => {
        await attachJson(`${saved.relative} (as written; the scenario's names in place of the runbook's)`, { renamed: saved.renamed, saved: saved.definition });
        expect(Object.keys(saved.renamed).sort(), 'only the pipeline names differ from the runbook').toEqual(['publication.name', 'slot.name', 'topic.prefix']);
        expect(readFileSync(saved.file, 'utf8'), 'the secrets stay placeholders in the file').toContain('${SOURCE_PASSWORD}');
        expect(deploy).toContain(`--file ${saved.relative}`);
        const r = await shell.run(deploy);
        expect(r.exitCode, r.stderr).toBe(0);
        const running = await connect.getConnectorConfig(pipeline.sourceName);
        expect(running['database.password'], 'connector deploy --file filled the password').toBe(endpoints.source.password);
        expect(running['slot.name']).toBe(names.slotName);
      });

      await runbookStep(`${status} — Expected: connector and task RUNNING`, async () => {
        const r = await shell.run(status);
        expect(r.exitCode, r.stdout).toBe(0);
        const shown = JSON.parse(r.stdout) as { connector: { state: string }; tasks: { state: string }[] };
        expect([shown.connector.state, ...shown.tasks.map((t) => t.state)]).toEqual(['RUNNING', 'RUNNING']);
        // The check can fail: paused, the same command exits 1 and says PAUSED.
        await connect.pauseConnector(pipeline.sourceName);
        try {
          const paused = await shell.run(status);
          expect(paused.exitCode, 'connector status of a paused connector').toBe(1);
          expect((JSON.parse(paused.stdout) as { connector: { state: string } }).connector.state).toBe('PAUSED');
        } finally {
          await connect.resumeConnector(pipeline.sourceName);
        }
      });

      await runbookStep('The initial snapshot starts now: every seed row on its topic as a snapshot record', async () => {
        const publication = await source.query('SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY tablename', [names.publicationName]);
        expect(publication.map((r) => r.tablename), 'the filtered publication holds the captured tables').toEqual([...names.tables].sort());
        // The seed rows (the workload's keys start far above them), per table, from the source now.
        const seeds: Record<string, number[] | string[]> = {};
        for (const table of names.tables) {
          const keyCol = KEYS[table]!;
          const rows = await source.query(`SELECT ${keyCol}::text AS k FROM ${table} ${table === TABLE ? `WHERE ${keyCol} <= ${WORKLOAD_FIRST_KEY}` : ''} ORDER BY 1`);
          seeds[table] = rows.map((r) => r.k!);
        }
        const snapshotted = await pollUntil({ what: 'a snapshot record (op r) of every seed row on its topic', limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          const seen: Record<string, string[]> = {};
          for (const table of names.tables) {
            const exists = await kafka.exists(pipeline.topicOf(table));
            const events = exists ? await readTableEvents(kafka, pipeline.topicOf(table), KEYS[table]!) : [];
            // The heartbeat's key is text: read it from the record's after image.
            seen[table] = events.filter((e) => e.op === 'r').map((e) => String(e.after?.[KEYS[table]!] ?? e.key)).sort();
          }
          const missing = Object.entries(seeds).filter(([t, keys]) => keys.some((k) => !seen[t]!.includes(String(k))));
          return { done: missing.length === 0, seen: missing.map(([t]) => `${t}: r records ${seen[t]!.join(',') || 'none'}`).join('; '), value: seen };
        });
        await attachJson('snapshot records per topic (keys) and the seed rows', { snapshotted, seeds });
      });

      await runbookStep('Close-out: the sink of Start Migration applies the stream; nothing the workload wrote is lost', async () => {
        const schemaCopy = commandLines(referencedSectionBlocks('database-migration', CREATE_TARGET).find((b) => b.lang === 'bash')!.value).find((l) => l.startsWith('pg_dump '))!;
        const copied = await shell.run(schemaCopy);
        expect(copied.exitCode, copied.stderr).toBe(0);
        const sinkBlock = referencedSectionBlocks('database-migration', START_MIGRATION).find((b) => b.lang === 'json' && b.connector === pipeline.sinkName)!;
        const sink = saveRunbookConnector(sinkBlock, shell.cwd, names);
        const deployed = await shell.run(`runbook-harness connector deploy ${pipeline.sinkName} --file ${sink.relative}`);
        expect(deployed.exitCode, deployed.stderr).toBe(0);
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        expect(verdict.acknowledgedWrites, 'the workload wrote while the connector was configured').toBeGreaterThan(0);
        const others = await awaitConverged(source, target, ['orders', 'products'].map((table) => ({ table })));
        expect(others.converged, JSON.stringify(others.report.tables.map((t) => [t.table, t.diffCounts]))).toBe(true);
        expect((await kafka.exists(pipeline.dlqTopic)) ? await kafka.count(pipeline.dlqTopic) : 0, 'no dead letters').toBe(0);
      });
    });

    else test.skipIf(!variant.runs)(`CDC enabled on the database, the capture job there ${variant.label}`, async ({ source }) => {
      const block = section.blocks({ lang: 'sql', side: 'source', dialect: 'sqlserver' })[0]!.value;
      await runbookStep('A SQL Server source needs CDC on the database and the tables, and SQL Server Agent running the capture job', async () => {
        const ran = await runStatements(source, block, 'CDC');
        for (const e of sqlExpectations(block)) {
          const verdict = compareExpectation(ran.find((r) => r.sql === e.sql)!.rows, e.expected);
          expect(verdict, e.sql).toMatchObject({ pass: true });
        }
        expect(ran.at(-1)!.rows.some((r) => r.job_type === 'capture'), 'sp_cdc_help_jobs lists the capture job').toBe(true);
      });
    });
  }
});

/**
 * runbooks/schema-evolution.md — Monitoring and Validation: Real-Time Monitoring (connector health, replication lag,
 * schema change events, dead letter queue) and Post-Change Validation (schema consistency, data reconciliation,
 * end-to-end validation). Each test runs its section's commands and SQL on the real stack and checks the section's
 * `Expected:` lines, then breaks what the section watches and shows that the same check reports it.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { runbookSection, type RunbookSection } from '../../harness/runbook/section.js';
import { awaitConverged, awaitDrained, awaitRows, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { expectedHarnessCommands, runSql } from '../../harness/scenario/runbook-blocks.js';
import { type CliResult, runCli, runPgTool } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { produceRaw } from '../../harness/scenario/topic-reads.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { DEFAULT_HEARTBEAT_TABLE } from '../../harness/verify/lag.js';
import { type ReconcileReport } from '../../harness/verify/reconcile/index.js';
import { diffTableSchema } from '../../harness/verify/schema-diff.js';
import { Workload } from '../../harness/workload/writer.js';

const connectorHealth = runbookSection('schema-evolution', 'connector-health');
const replicationLag = runbookSection('schema-evolution', 'replication-lag');
const schemaChangeEvents = runbookSection('schema-evolution', 'schema-change-events');
const deadLetterQueue = runbookSection('schema-evolution', 'dead-letter-queue');
const schemaConsistency = runbookSection('schema-evolution', 'schema-consistency-check');
const dataReconciliation = runbookSection('schema-evolution', 'data-reconciliation');
const endToEnd = runbookSection('schema-evolution', 'end-to-end-validation');

const TABLE = 'customers';
const TABLES = ['customers', 'orders', 'products'];
/** Rows written while the sink is paused, for the negative lag check. */
const WRITES_WHILE_PAUSED = 5;
/** The column a schema change adds and the column it widens (Schema Change Events, Schema Consistency Check). */
const ADDED_COLUMN = 'loyalty_tier';
const WIDENED_COLUMN = 'phone_number';
const WIDENED_TO = 40;

const bash = (section: RunbookSection) => section.blocks({ lang: 'bash' }).map((b) => b.value).join('\n');

describe('Monitoring and Validation', () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`${connectorHealth.title} ${variant.label}`, async ({ source, target, pipeline, connect }) => {
      const stateDir = inject('stackStateDir');
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: TABLES });
      const commands = expectedHarnessCommands(bash(connectorHealth));
      expect(commands.map((c) => c.args.slice(0, 2).join(' '))).toEqual(['status', 'connector status']);

      const results = await runbookStep('Run the health commands on a healthy pipeline', async () => {
        const out: CliResult[] = [];
        for (const c of commands) out.push(await runCli(stateDir, c.args));
        return out;
      });
      const [status, sinkStatus] = results as [CliResult, CliResult];
      const expected = commands[1]!.expected;
      expect(expected).toBe('connector RUNNING, every task RUNNING');
      expect(status.code, status.stderr).toBe(0);
      const parsed = JSON.parse(sinkStatus.stdout) as { connector: { state: string }; tasks: { state: string }[] };
      expect(sinkStatus.code).toBe(0);
      expect(parsed.connector.state).toBe('RUNNING');
      expect(parsed.tasks.length).toBeGreaterThan(0);
      expect(parsed.tasks.every((t) => t.state === 'RUNNING')).toBe(true);

      await runbookStep('Negative: a paused sink fails the health check', async () => {
        await connect.pauseConnector(pipeline.sinkName);
        const paused = await runCli(stateDir, commands[1]!.args);
        const state = JSON.parse(paused.stdout) as typeof parsed;
        expect(paused.code, 'connector status exits non-zero when not RUNNING').not.toBe(0);
        expect(state.connector.state).toBe('PAUSED');
        await connect.resumeConnector(pipeline.sinkName);
      });
    });

    test.skipIf(!variant.runs)(`${replicationLag.title} ${variant.label}`, async ({ source, target, pipeline, connect }) => {
      const stateDir = inject('stackStateDir');
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: TABLES });
      const snapshot = await awaitConverged(source, target, TABLES.map((table) => ({ table })));
      expect(snapshot.converged).toBe(true);
      const commands = expectedHarnessCommands(bash(replicationLag));
      expect(commands.map((c) => c.args[0])).toEqual(['lag', 'kafka']);
      expect(commands[1]!.expected).toBe('LAG 0 per partition when the source is idle');
      const partitionLags = (out: string) =>
        out.split('\n').filter((l) => l.trim() && !/^(GROUP|TOPIC)/.test(l)).map((l) => Number(l.trim().split(/\s+/).pop()));

      // `lag` judges the heartbeat only once its table is in the replica; the sink creates it with the first heartbeat row.
      await runbookStep("Precondition: the pipeline's heartbeat table has reached the replica", async () => {
        await source.query(`DELETE FROM ${DEFAULT_HEARTBEAT_TABLE} WHERE id = 'monitoring'`);
        await source.query(`INSERT INTO ${DEFAULT_HEARTBEAT_TABLE} (id, marker) VALUES ('monitoring', 'seed')`);
        const arrived = await awaitRows(target, `SELECT id FROM ${DEFAULT_HEARTBEAT_TABLE} WHERE id = 'monitoring'`, 1, lagSloMs() * 2);
        expect(arrived.ok, 'the heartbeat row is in the replica').toBe(true);
      });

      await runbookStep('Idle source: LAG 0 per partition', async () => {
        const lag = await runCli(stateDir, commands[0]!.args);
        expect(lag.code, lag.stderr).toBe(0);
        // The sink commits its offsets every second: poll the runbook's command until it settles.
        const lags = await pollUntil({ what: 'LAG 0 on every partition', limitMs: lagSloMs(), intervalMs: 1_000 }, async () => {
          const groups = await runCli(stateDir, commands[1]!.args);
          const values = partitionLags(groups.stdout);
          return { done: groups.code === 0 && values.length > 0 && values.every((v) => v === 0), seen: values.join(','), value: values };
        });
        await attachJson('partition lags', lags);
      });

      await runbookStep('Negative: writes behind a paused sink show as LAG', async () => {
        await connect.pauseConnector(pipeline.sinkName);
        for (let i = 0; i < WRITES_WHILE_PAUSED; i++) await source.query(`INSERT INTO customers (customer_id, name) VALUES (${700_000 + i}, 'behind a paused sink')`);
        const lags = await pollUntil({ what: `LAG ${WRITES_WHILE_PAUSED} in total`, limitMs: lagSloMs() * 2, intervalMs: 1_000 }, async () => {
          const groups = await runCli(stateDir, commands[1]!.args);
          const values = partitionLags(groups.stdout);
          return { done: values.reduce((a, b) => a + b, 0) === WRITES_WHILE_PAUSED, seen: values.join(','), value: values };
        });
        await attachJson('partition lags behind the paused sink', lags);
        await connect.resumeConnector(pipeline.sinkName);
        const caughtUp = await awaitConverged(source, target, [{ table: TABLE }]);
        expect(caughtUp.converged).toBe(true);
      });
    });

    test.skipIf(!variant.runs)(`${schemaChangeEvents.title} ${variant.label}`, async ({ source, target, pipeline, kafka }) => {
      const stateDir = inject('stackStateDir');
      const dialect = variant.dialect;
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: TABLES });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      const commands = expectedHarnessCommands(bash(schemaChangeEvents), { 'warehouse.': `${pipeline.names.topicPrefix}.`, '--topic warehouse ': `--topic ${pipeline.names.topicPrefix} ` });
      expect(commands).toHaveLength(2);
      const schemaTopicName = commands[0]!.args[commands[0]!.args.indexOf('--topic') + 1]!;
      expect(schemaTopicName).toBe(pipeline.names.topicPrefix);
      const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 10 });
      // A failed step must not leave this writer running into the next test's tables.
      onTestFinished(async () => void (await workload.stop()));

      await runbookStep('Schema change on the source', async () => {
        await runSql(source, dialect === 'postgres' ? `ALTER TABLE public.${TABLE} ADD COLUMN ${ADDED_COLUMN} VARCHAR(20) NULL;` : `ALTER TABLE dbo.${TABLE} ADD ${ADDED_COLUMN} VARCHAR(20) NULL;`, 'source DDL');
        workload.setShape((_, n) => ({ name: `writer ${n}`, [ADDED_COLUMN]: `tier ${n % 3}` }));
      });

      await runbookStep('Schema change topic (SQL Server) and the table topic\'s event schema (PostgreSQL)', async () => {
        const schemaTopic = await runCli(stateDir, commands[0]!.args);
        await attachJson('schema change topic read', schemaTopic);
        if (dialect === 'postgres') {
          // No schema change topic for a PostgreSQL source: the read says so (exit 2, one line naming it), never "empty".
          expect(schemaTopic.code, schemaTopic.stderr).toBe(2);
          expect(schemaTopic.stderr.trim().split('\n')).toHaveLength(1);
          expect(schemaTopic.stderr).toContain(`topic ${schemaTopicName} does not exist`);
          expect(await kafka.exists(schemaTopicName), 'a PostgreSQL source creates no schema change topic').toBe(false);
        } else {
          expect(schemaTopic.code, schemaTopic.stderr).toBe(0);
          expect(schemaTopic.stdout.trim(), 'schema change events on the topic named by topic.prefix').not.toBe('');
        }
        // Without --from-beginning the command waits for the next event; the workload writes one.
        const tableTopic = await runCli(stateDir, commands[1]!.args);
        expect(tableTopic.code).toBe(0);
        const event = JSON.parse(tableTopic.stdout.trim().split('\n')[0]!) as { schema: { fields: { field: string; fields?: { field: string }[] }[] } };
        const after = event.schema.fields.find((f) => f.field === 'after')?.fields?.map((f) => f.field) ?? [];
        await attachJson('columns in the event schema', after);
        expect(after).toContain(ADDED_COLUMN);
      });

      await runbookStep('Negative: events from before the change do not list the column', async () => {
        const first = (await runCli(stateDir, [...commands[1]!.args, '--from-beginning'])).stdout.trim().split('\n')[0]!;
        const after = (JSON.parse(first) as { schema: { fields: { field: string; fields?: { field: string }[] }[] } }).schema.fields.find((f) => f.field === 'after')?.fields?.map((f) => f.field) ?? [];
        expect(after).toContain('customer_id');
        expect(after).not.toContain(ADDED_COLUMN);
      });

      const history = await workload.stop();
      const converged = await awaitConverged(source, target, [{ table: TABLE }]);
      const verdict = await checkHistory(history, target);
      await attachJson('nothing lost', { report: converged.report.summary, verdict });
      expect(converged.converged).toBe(true);
      expect(verdict.pass).toBe(true);
    });

    test.skipIf(!variant.runs)(`${deadLetterQueue.title} ${variant.label}`, async ({ source, target, pipeline, connect, kafka, endpoints }) => {
      const stateDir = inject('stackStateDir');
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: TABLES });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      const [command] = expectedHarnessCommands(bash(deadLetterQueue));
      expect(command?.expected).toBe('no messages');

      await runbookStep('Healthy pipeline: no messages', async () => {
        const dlq = await runCli(stateDir, command!.args);
        expect(dlq.code).toBe(0);
        expect(dlq.stdout.trim()).toBe('');
        expect(dlq.stderr).toMatch(/processed 0 messages/);
      });

      await runbookStep('Negative: a record the converter cannot read lands in the DLQ and the check shows it', async () => {
        // Written behind the pipeline's back: not JSON, so the sink's converter fails and errors.tolerance=all routes it.
        await produceRaw(endpoints.kafka.bootstrap, pipeline.topicOf(TABLE), 'not json', 'not json either');
        const count = await pollUntil({ what: 'the poison record in the DLQ', limitMs: lagSloMs() * 2, intervalMs: 500 }, async () => {
          const n = await kafka.count(pipeline.dlqTopic);
          return { done: n === 1, seen: `${n} messages`, value: n };
        });
        const dlq = await runCli(stateDir, command!.args);
        expect(dlq.stderr).toMatch(/processed 1 messages/);
        expect(dlq.stdout).toMatch(/__connect\.errors\.exception\.message:[^\t]*/);
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('DLQ count and sink status', { count, status });
        expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
        // The pipeline keeps replicating behind the skipped record.
        await source.query(`INSERT INTO customers (customer_id, name) VALUES (800000, 'after the poison record')`);
        const after = await awaitRows(target, `SELECT customer_id FROM customers WHERE customer_id = 800000`, 1, lagSloMs());
        expect(after.ok).toBe(true);
      });
    });

    test.skipIf(!variant.runs)(`${schemaConsistency.title} ${variant.label}`, async ({ source, target, pipeline, pgTools, endpoints }) => {
      const dialect = variant.dialect;
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: TABLES });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      const sourceSql = schemaConsistency.blocks({ lang: 'sql', side: 'source', dialect })[0]!.value.replaceAll('<table_name>', TABLE);
      const psqlCommand = /psql "\$TARGET_URL" -c "([^"]+)"/.exec(bash(schemaConsistency))?.[1]?.replaceAll('<table_name>', TABLE);
      expect(psqlCommand).toBe(`\\d+ ${TABLE}`);

      /** The section's check: every source column in the replica's \d+ listing, varchar lengths equal. */
      const check = async () => {
        const described = await runPgTool(pgTools.psql, [endpoints.target.url, '-c', psqlCommand!]);
        expect(described.code, described.stderr).toBe(0);
        await attachText(`psql -c "${psqlCommand}"`, described.stdout);
        const targetColumns = new Map(
          described.stdout.split('\n').filter((l) => /^\s*\w+\s*\|/.test(l) && !/^\s*Column\s*\|/.test(l)).map((l) => {
            const [name, type] = l.split('|').map((c) => c.trim());
            return [name!, type!] as const;
          }),
        );
        const sourceColumns = await source.query(sourceSql);
        await attachJson('source columns', sourceColumns);
        const drift: string[] = [];
        for (const c of sourceColumns) {
          const name = c.column_name ?? c.COLUMN_NAME!;
          const length = c.character_maximum_length ?? c.CHARACTER_MAXIMUM_LENGTH;
          const type = targetColumns.get(name!);
          if (!type) drift.push(`${name}: missing in the replica`);
          else if (length && !type.includes(`(${length})`)) drift.push(`${name}: length ${length} in the source, ${type} in the replica`);
        }
        return drift;
      };

      await runbookStep('Consistent schemas: no drift', async () => {
        const drift = await check();
        const diff = await diffTableSchema(source, target, TABLE);
        await attachJson('drift', { drift, diff });
        expect(drift).toEqual([]);
        expect(diff.findings.filter((f) => f.severity === 'error')).toEqual([]);
      });

      await runbookStep('Negative: a column added and one widened on the source, no row changed yet', async () => {
        await runSql(
          source,
          dialect === 'postgres'
            ? `ALTER TABLE public.${TABLE} ADD COLUMN ${ADDED_COLUMN} VARCHAR(20) NULL;\nALTER TABLE public.${TABLE} ALTER COLUMN ${WIDENED_COLUMN} TYPE VARCHAR(${WIDENED_TO});`
            : `ALTER TABLE dbo.${TABLE} ADD ${ADDED_COLUMN} VARCHAR(20) NULL;\nALTER TABLE dbo.${TABLE} ALTER COLUMN ${WIDENED_COLUMN} VARCHAR(${WIDENED_TO}) NULL;`,
          'schema drift on the source',
        );
        const drift = await check();
        const diff = await diffTableSchema(source, target, TABLE);
        await attachJson('drift', { drift, diff });
        expect(drift).toEqual([`${WIDENED_COLUMN}: length ${WIDENED_TO} in the source, character varying(20) in the replica`, `${ADDED_COLUMN}: missing in the replica`]);
        expect(diff.findings.map((f) => f.kind).sort()).toEqual(expect.arrayContaining(['column-missing-in-target']));
      });
    });

    test.skipIf(!variant.runs)(`${dataReconciliation.title} ${variant.label}`, async ({ source, target, pipeline }) => {
      const stateDir = inject('stackStateDir');
      const reports = mkdtempSync(path.join(tmpdir(), 'rh-monitoring-'));
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: TABLES });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      const commands = expectedHarnessCommands(bash(dataReconciliation), { '<table_name>': TABLE, '--output-dir reports': `--output-dir ${reports}` });
      expect(commands.map((c) => c.args.includes('--row-count-only'))).toEqual([true, false]);
      const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 20 });
      onTestFinished(async () => void (await workload.stop()));
      const drained = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
      const history = await workload.stop();
      expect(drained.drained).toBe(true);
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);

      await runbookStep('After the writes settle: both reconciliations match', async () => {
        for (const c of commands) {
          const r = await runCli(stateDir, c.args);
          expect(r.code, r.stdout + r.stderr).toBe(0);
        }
        const files = readdirSync(reports).filter((f) => f.startsWith(`reconciliation_${TABLE}_`));
        expect(files.length).toBeGreaterThan(0);
        const verdict = await checkHistory(history, target);
        expect(verdict.pass).toBe(true);
      });

      await runbookStep('Negative: one replica row edited, one deleted', async () => {
        await runSql(target, `UPDATE customers SET name = 'edited on the replica' WHERE customer_id = 1;\nDELETE FROM customers WHERE customer_id = 2;`, 'divergence (target)');
        const counts = await runCli(stateDir, commands[0]!.args);
        expect(counts.code, 'row counts differ by one').toBe(1);
        const checksum = await runCli(stateDir, commands[1]!.args);
        expect(checksum.code).toBe(1);
        const report = JSON.parse(checksum.stdout) as ReconcileReport;
        const t = report.tables[0]!;
        expect(t.missingInTarget.map((k) => Number(k.customer_id))).toEqual([2]);
        expect(t.differing.map((d) => Number(d.key.customer_id))).toEqual([1]);
      });
    });

    test.skipIf(!variant.runs)(`${endToEnd.title} ${variant.label}`, async ({ source, target, pipeline, connect }) => {
      const dialect = variant.dialect;
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: TABLES });
      expect((await awaitConverged(source, target, [{ table: TABLE }])).converged).toBe(true);
      const [insert, cleanup] = endToEnd.blocks({ lang: 'sql', side: 'source', dialect }).map((b) => b.value);
      const probe = endToEnd.blocks({ lang: 'sql', side: 'target' })[0]!.value;
      expect(probe).toMatch(/Expected: one row, name = 'E2E Test'/);
      const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 20 });
      onTestFinished(async () => void (await workload.stop()));

      await runbookStep('Test row through the pipeline within the lag SLO', async () => {
        await runSql(source, insert!, 'insert the test row (source)');
        const seen = await awaitRows(target, probe, 1, lagSloMs());
        await attachJson('test row in the replica', seen);
        expect(seen.ok, `test row not in the replica within ${lagSloMs() / 1000} s`).toBe(true);
        expect(seen.rows[0]).toMatchObject({ customer_id: '999997', name: 'E2E Test' });
        await runSql(source, cleanup!, 'delete the test row (source)');
        expect((await awaitRows(target, probe, 0, lagSloMs())).ok).toBe(true);
      });

      await runbookStep('Negative: with the sink paused the test row does not arrive within the SLO', async () => {
        await connect.pauseConnector(pipeline.sinkName);
        await runSql(source, insert!, 'insert the test row (source)');
        const missed = await awaitRows(target, probe, 1, lagSloMs());
        expect(missed.ok, 'the check must fail while the sink is paused').toBe(false);
        await connect.resumeConnector(pipeline.sinkName);
        expect((await awaitRows(target, probe, 1, lagSloMs() * 2)).ok, 'the row arrives once the sink resumes').toBe(true);
        await runSql(source, cleanup!, 'delete the test row (source)');
      });

      const history = await workload.stop();
      const converged = await awaitConverged(source, target, [{ table: TABLE }]);
      const verdict = await checkHistory(history, target);
      await attachJson('nothing lost', { report: converged.report.summary, verdict });
      expect(converged.converged).toBe(true);
      expect(verdict.pass).toBe(true);
    });
  }
});

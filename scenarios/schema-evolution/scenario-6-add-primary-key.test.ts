/**
 * runbooks/schema-evolution.md — Scenario 6: Add Primary Key, on the keyless `transactions` table of its Rehearsal
 * Setup. One runbookStep per numbered step of the Procedure, then the Rollback; a workload writes to transactions
 * throughout. What the sink does with a keyless table's events (it upserts by record key) is observed, not assumed.
 */
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { splitSql } from '../../harness/runbook/lint/sql-split.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { harnessCommands, runSql, sectionSql, stepBlocks } from '../../harness/scenario/runbook-blocks.js';
import { textClaim } from '../../harness/scenario/runbook-claims.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { readDlq } from '../../harness/scenario/topic-reads.js';
import { describe, expect, type SourceDialect, sourceVariants, test } from '../../harness/test.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'scenario-6-add-primary-key');
const setup = runbookSection('schema-evolution', 'rehearsal-setup');
const procedure = runbookSection('schema-evolution', 'scenario-6-add-primary-key/procedure');
const rollback = runbookSection('schema-evolution', 'scenario-6-add-primary-key/rollback');
const TABLE = 'transactions';
const KEY = 'transaction_id';
const FIRST_WORKLOAD_KEY = 1_000_000;

/** The Rehearsal Setup's source connector properties (its `properties` block; SQL Server's value from its prose). */
function messageKeyConfig(dialect: SourceDialect): Record<string, string> {
  const [block] = setup.blocks({ lang: 'properties' });
  if (!block) throw new Error(`${setup.file} [${setup.id}] has no properties block`);
  const config = Object.fromEntries(
    block.value
      .split('\n')
      .filter((l) => l.includes('=') && !l.trim().startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
  );
  if (dialect === 'sqlserver') {
    const value = /`(dbo\.transactions:[^`]+)`/.exec(readFileSync(setup.file, 'utf8').split('\n').slice(setup.line - 1, setup.endLine).join('\n'))?.[1];
    if (!value) throw new Error(`${setup.file} [${setup.id}] names no sqlserver-source message key`);
    config['message.key.columns'] = value;
  }
  return config;
}

const amountOf = (n: number) => ((n % 1000) + 0.75).toFixed(2);
const shape = (_: number, n: number) => ({ amount: amountOf(n) });

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`procedure and rollback ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const lagMs = lagSloMs();

      await runbookStep('Rehearsal Setup: a keyless transactions table in the source connector', async () => {
        await resetSampleTables(source, target, [TABLE]);
        for (const sql of sectionSql(setup, 'source', dialect)) await runSql(source, sql, `keyless table (${dialect})`);
        const sourceConfig = messageKeyConfig(dialect);
        await attachJson('source connector settings from the Rehearsal Setup', sourceConfig);
        await pipeline.deploy({ tables: ['customers', 'orders', 'products', TABLE], source: sourceConfig });
        const snapshot = await awaitConverged(source, target, [{ table: TABLE, key: [KEY] }]);
        await attachJson('snapshot reconciliation', snapshot.report);
        await attachJson('sink status', await connect.getConnectorStatus(pipeline.sinkName));
        await attachJson('DLQ messages', await readDlq(kafka, pipeline.dlqTopic));
        expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0]?.diffCounts ?? snapshot.report.tables[0]?.error)).toBe(true);
      });
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: FIRST_WORKLOAD_KEY, shape, ratePerSecond: 20 });

      await runbookStep(`1. ${procedure.step(1).title}`, () => runSql(source, procedure.stepSql(1, { side: 'source', dialect }), `add the key on the source (${dialect})`));

      await runbookStep(`2. ${procedure.step(2).title}`, async () => {
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark(), lagMs);
        await attachJson('sink drained past the source DDL', drained);
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('sink status', status);
        expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
        expect(drained.drained).toBe(true);
      });

      await runbookStep(`3. ${procedure.step(3).title}`, async () => {
        const [keyCheck, duplicates, addKey] = splitSql(stepBlocks(procedure, 3, 'target', dialect)[0]!).map((s) => s.text);
        await runSql(target, keyCheck!, 'primary key of the replica');
        const keys = await target.query(keyCheck!);
        await attachJson('primary key of the replica', keys);
        if (keys.length === 0) {
          await runSql(target, duplicates!, 'duplicate keys in the replica');
          const found = await target.query(duplicates!);
          await attachJson('duplicate keys in the replica', found);
          expect(found, 'Expected: no rows').toEqual([]);
          await runSql(target, addKey!.replace(/^\s*--.*$/gm, ''), 'add the key on the replica');
        }
        const after = await target.query(keyCheck!);
        // Expected: transactions_pkey, created by the sink from the message key.
        expect(after.map((r) => r.conname)).toEqual([`${TABLE}_pkey`]);
        expect(keys.length, 'the sink created the replica with the message key as its primary key').toBe(1);
      });

      await runbookStep(`4. ${procedure.step(4).title}`, async () => {
        const seed = await awaitConverged(source, target, [{ table: TABLE, key: [KEY], keyRange: { to: [String(FIRST_WORKLOAD_KEY)] } }]);
        await attachJson('reconciliation of the setup rows by transaction_id', seed.report);
        expect(seed.converged, JSON.stringify(seed.report.tables[0]?.diffCounts)).toBe(true);
        expect(seed.report.tables[0]!.keyColumns).toEqual([KEY]);
      });

      await runbookStep('Rollback: on the source', async () => {
        for (const sql of sectionSql(rollback, 'source', dialect)) await runSql(source, sql, 'rollback on the source');
      });
      await runbookStep('Rollback: the replica keeps its key', async () => {
        expect(sectionSql(rollback, 'target', dialect), 'the Rollback has no replica SQL').toEqual([]);
        const keys = await target.query(`SELECT conname FROM pg_constraint WHERE conrelid = '${TABLE}'::regclass AND contype = 'p'`);
        await attachJson('primary key constraints on the replica', keys);
        expect(keys.map((k) => k.conname)).toEqual([`${TABLE}_pkey`]);
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const drained = await awaitDrained(target, TABLE, KEY, await workload.mark(), lagMs);
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('sink status after the rollback', status);
        expect(status.tasks.map((t) => `${t.state}${t.trace ? `: ${t.trace.split('\n').filter((l) => l.startsWith('Caused by')).pop()}` : ''}`)).toEqual(['RUNNING']);
        expect(drained.drained).toBe(true);
        const closed = await closeOutWorkload(workload, source, target, { table: TABLE, key: [KEY] });
        expect(closed.converged, JSON.stringify(closed.report.tables[0]?.diffCounts)).toBe(true);
        expect(closed.verdict.pass, verdictSummary(closed.verdict)).toBe(true);
        const dlq = await readDlq(kafka, pipeline.dlqTopic);
        await attachJson('DLQ messages', dlq);
        expect(dlq).toEqual([]);
      });
    });

    test.skipIf(!variant.runs)(`steps 2 and 3 on a replica created without the key ${variant.label}`, async ({ source, target, pipeline, connect }) => {
      const dialect = variant.dialect;
      const stateDir = inject('stackStateDir');
      await runbookStep('Rehearsal Setup: a keyless transactions table, and a replica table without the key', async () => {
        await resetSampleTables(source, target, [TABLE]);
        for (const sql of sectionSql(setup, 'source', dialect)) await runSql(source, sql, `keyless table (${dialect})`);
        const replica = sectionSql(setup, 'target', dialect);
        expect(replica.length, 'the Rehearsal Setup creates a replica table without the key').toBeGreaterThan(0);
        for (const sql of replica) await runSql(target, sql, 'replica table without the key');
        await pipeline.deploy({ tables: ['customers', 'orders', 'products', TABLE], source: messageKeyConfig(dialect) });
      });

      await runbookStep(`1. ${procedure.step(1).title}`, () => runSql(source, procedure.stepSql(1, { side: 'source', dialect }), `add the key on the source (${dialect})`));

      await runbookStep(`2. ${procedure.step(2).title}`, async () => {
        const failed = await connect.awaitConnectorState(pipeline.sinkName, 'FAILED', CONVERGE_LIMIT_MS).catch((e: Error) => e);
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('sink status', status);
        const cause = (status.tasks[0]?.trace ?? '').split('\n').filter((l) => l.startsWith('Caused by')).pop() ?? '';
        expect(status.tasks[0]?.state, failed instanceof Error ? failed.message : 'the task FAILED').toBe('FAILED');
        expect(cause, 'Expected: FAILED on no unique or exclusion constraint matching the ON CONFLICT specification').toContain('no unique or exclusion constraint matching the ON CONFLICT specification');
      });

      await runbookStep(`3. ${procedure.step(3).title}`, async () => {
        const [block] = stepBlocks(procedure, 3, 'target', dialect);
        const [keyCheck, duplicates, addKey] = splitSql(block!).map((st) => st.text);
        const keys = await target.query(keyCheck!);
        await attachJson('primary key of the replica', keys);
        expect(keys, 'the replica has no key: the first query returns no row').toEqual([]);
        await runSql(target, duplicates!, 'duplicate keys in the replica');
        const found = await target.query(duplicates!);
        await attachJson('duplicate keys in the replica', found);
        expect(found, 'Expected: no rows').toEqual([]);
        await runSql(target, addKey!, 'add the key on the replica');
        const after = await target.query(keyCheck!);
        await attachJson('primary key of the replica after the ALTER', after);
        expect(after.map((r) => r.conname)).toEqual([`${TABLE}_pkey`]);
        const [restart] = procedure.stepBlocks(3, { lang: 'bash' }).flatMap(harnessCommands);
        expect(restart, 'step 3 restarts the FAILED task').toBe(`runbook-harness connector restart ${pipeline.sinkName} --include-tasks --only-failed`);
        const args = restart!.split(/\s+/).slice(1);
        const result = await runCli(stateDir, args);
        await attachJson(`$ ${restart}`, result);
        expect(result.code, result.stderr).toBe(0);
        const status = await connect.awaitConnectorState(pipeline.sinkName, 'RUNNING', CONVERGE_LIMIT_MS);
        await attachJson('sink status after the restart', status);
      });

      await runbookStep(`4. ${procedure.step(4).title}`, async () => {
        const converged = await awaitConverged(source, target, [{ table: TABLE, key: [KEY] }]);
        await attachJson('reconciliation by transaction_id', converged.report);
        expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts ?? converged.report.tables[0]?.error)).toBe(true);
        expect(converged.report.tables[0]!.keyColumns).toEqual([KEY]);
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
      });
    });

    test.skipIf(!variant.runs)(`the keyless table captured without a message key: the sink task FAILs ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const dialect = variant.dialect;
      const considerations = runbookSection('schema-evolution', 'considerations');
      const claim = textClaim(considerations, 'an event without a key FAILs the sink task');
      await resetSampleTables(source, target, [TABLE]);
      for (const sql of sectionSql(setup, 'source', dialect)) await runSql(source, sql, `keyless table (${dialect})`);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products', TABLE] });
      await runbookStep('The sink meets the keyless events', async () => {
        const failed = await connect.awaitConnectorState(pipeline.sinkName, 'FAILED', CONVERGE_LIMIT_MS).catch((e: Error) => e);
        const status = await connect.getConnectorStatus(pipeline.sinkName);
        await attachJson('sink status', status);
        const dlq = await readDlq(kafka, pipeline.dlqTopic);
        await attachJson('DLQ messages', dlq);
        const trace = status.tasks[0]?.trace ?? '';
        const cause = trace.split('\n').filter((l) => l.startsWith('Caused by')).pop() ?? '';
        assertClaim(claim, status.tasks[0]?.state === 'FAILED' && /record_key/.test(cause), `task ${status.tasks[0]?.state}${failed instanceof Error ? ` (${failed.message.slice(0, 200)})` : ''}; ${dlq.length} DLQ messages; ${cause.slice(0, 300)}`);
      });
    });
  }
});

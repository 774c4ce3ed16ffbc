/**
 * runbooks/database-migration.md — Monitoring & Troubleshooting: Essential Troubleshooting Commands, Database
 * Replication Issues. The section's SQL runs as written, each query against the problem it diagnoses, made for
 * real on a running migration: the slot query shows the slot inactive and its retained WAL growing while the
 * source connector is stopped and the source keeps writing (and shrinking again once it resumes); the activity
 * query shows open transactions left idle on the source; the lock query on the target names the replica table
 * whose lock the sink is waiting for. Each problem is released and the replica must catch up.
 */
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { pollUntil } from '../../harness/core/poll.js';
import { holdTableLock, type LockFault } from '../../harness/faults/database.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { prettyBytes, runStatements } from '../../harness/scenario/migration-shell.js';
import { awaitConverged, awaitRows, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';

const section = runbookSection('database-migration', 'database-replication-issues');
const SQL_SERVER_SKIP = 'written for a PostgreSQL source; the SQL Server queries of this section are not exercised yet';
/** Rows written while the source connector is stopped, each with a 200-byte name (the column's width): the WAL the slot must hold. */
const ROWS_WHILE_STOPPED = 5_000;
const PAD_BYTES = 200;
/** Open transactions left idle on the source. */
const IDLE_TRANSACTIONS = 3;
const isTrue = (v: string | null | undefined) => v === 't' || v === 'true';

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`slots, sessions and locks show what holds replication back ${variant.label}`, async ({ source, target, pipeline, connect, endpoints }) => {
      const [sourceBlock] = section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' }).map((b) => b.value);
      const [targetBlock] = section.blocks({ lang: 'sql', side: 'target' }).map((b) => b.value);
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const slotName = pipeline.names.slotName;
      const sourceQueries = () => runStatements(source, sourceBlock!, 'source replication');
      const slot = async () => {
        const row = (await sourceQueries())[0]!.rows.find((r) => r.slot_name === slotName);
        return row && { active: isTrue(row.active), lagBytes: prettyBytes(row.lag), lag: row.lag, slotType: row.slot_type };
      };

      await runbookStep('Replication slots: a stopped source connector leaves its slot inactive, retaining WAL', async () => {
        const healthy = await slot();
        expect(healthy, `slot ${slotName} listed`).toBeDefined();
        expect(healthy!.slotType).toBe('logical');
        expect(healthy!.active).toBe(true);
        await connect.stopConnector(pipeline.sourceName);
        await pollUntil({ what: `slot ${slotName} inactive`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const s = await slot();
          return { done: s?.active === false, seen: JSON.stringify(s) };
        });
        await source.query(`INSERT INTO products (product_id, name, price, deprecated_field) SELECT 100000 + g, repeat('x', ${PAD_BYTES}), 1.00, NULL FROM generate_series(1, ${ROWS_WHILE_STOPPED}) g`);
        const stopped = (await slot())!;
        await attachJson('slot: healthy, then stopped with writes behind it', { healthy, stopped });
        expect(stopped.active).toBe(false);
        expect(stopped.lagBytes - healthy!.lagBytes, 'the slot retains at least the WAL written behind it').toBeGreaterThan(ROWS_WHILE_STOPPED * PAD_BYTES);

        await connect.resumeConnector(pipeline.sourceName);
        expect((await awaitConverged(source, target, [{ table: 'products' }])).converged, 'the rows written behind the slot arrive').toBe(true);
        // The slot's restart_lsn moves once the connector confirms and the server logs its next running-xacts record.
        const resumed = await pollUntil({ what: `slot ${slotName} active with less retained WAL than ${stopped.lag}`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          await source.query(`UPDATE customers SET name = name WHERE customer_id = 1`); // a change to confirm
          const s = await slot();
          return { done: s?.active === true && s.lagBytes < stopped.lagBytes, seen: JSON.stringify(s), value: s };
        });
        await attachJson('slot after the resume', resumed);
      });

      await runbookStep('Sessions per database, user and state: open transactions left idle on the source', async () => {
        const idleInTransaction = async () =>
          (await sourceQueries())[1]!.rows.filter((r) => r.datname === endpoints.source.database && r.state === 'idle in transaction').reduce((n, r) => n + Number(r.count), 0);
        const before = await idleInTransaction();
        const holders: LockFault[] = [];
        let held: number;
        try {
          for (let i = 0; i < IDLE_TRANSACTIONS; i++) holders.push(await holdTableLock(endpoints.source.url, 'orders', 'ACCESS SHARE'));
          held = await pollUntil({ what: `${before + IDLE_TRANSACTIONS} idle-in-transaction sessions on ${endpoints.source.database}`, limitMs: lagSloMs(), intervalMs: 250 }, async () => {
            const n = await idleInTransaction();
            return { done: n >= before + IDLE_TRANSACTIONS, seen: `${n}`, value: n };
          });
        } finally {
          for (const h of holders) await h.heal();
        }
        const after = await pollUntil({ what: `the idle transactions gone after they ended`, limitMs: lagSloMs(), intervalMs: 250 }, async () => {
          const n = await idleInTransaction();
          return { done: n <= before, seen: `${n}`, value: n };
        });
        await attachJson('idle-in-transaction sessions on the source', { before, held, after });
      });

      await runbookStep('Locks not granted on the target: the sink waiting on a lock on the replica table', async () => {
        const waiting = async () => (await runStatements(target, targetBlock!, 'target locks'))[0]!.rows;
        expect(await waiting(), 'no lock waits on a healthy replica').toEqual([]);
        const lock = await holdTableLock(endpoints.target.url, 'customers', 'EXCLUSIVE');
        let seen: Awaited<ReturnType<typeof waiting>>;
        try {
          await source.query(`INSERT INTO customers (customer_id, name) VALUES (950001, 'waits for the lock on the replica')`);
          seen = await pollUntil({ what: 'a lock wait on the replica table customers', limitMs: lagSloMs() * 4, intervalMs: 250 }, async () => {
            const rows = await waiting();
            return { done: rows.some((r) => r.relation === 'customers' && !isTrue(r.granted)), seen: JSON.stringify(rows), value: rows };
          });
        } finally {
          await lock.heal();
        }
        await attachJson('locks not granted while the replica table is locked', seen);
        expect((await awaitRows(target, `SELECT customer_id FROM customers WHERE customer_id = 950001`, 1, lagSloMs() * 2)).ok, 'the write lands once the lock is released').toBe(true);
        const cleared = await pollUntil({ what: 'no lock waits after the release', limitMs: lagSloMs(), intervalMs: 250 }, async () => {
          const rows = await waiting();
          return { done: rows.length === 0, seen: JSON.stringify(rows), value: rows };
        });
        expect(cleared).toEqual([]);
      });

      const converged = await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })));
      await attachJson('replica after every problem was released', converged.report.summary);
      expect(converged.converged).toBe(true);
    });
  }
});

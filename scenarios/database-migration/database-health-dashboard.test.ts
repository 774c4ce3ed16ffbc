/**
 * runbooks/database-migration.md — Dashboards & Alerts: Database Health Dashboard.
 * The dashboard's SQL runs as written on each database of a running migration, and each query must show the
 * problem it is there for, created for real: sessions piling up behind a lock raise the source's active-session
 * count; a stopped source connector leaves the migration's slot inactive with confirmed_flush_lsn standing still
 * while the source keeps writing; a sink blocked by a lock on the replica raises the target's active count.
 * Everything is released and the replica must catch up.
 */
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { holdTableLock, waitOnLock } from '../../harness/faults/database.js';
import { pollUntil } from '../../harness/core/poll.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { runStatements } from '../../harness/scenario/migration-shell.js';
import { awaitConverged, awaitRows, CONVERGE_LIMIT_MS, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { type SqlSession } from '../../harness/verify/reconcile/index.js';

const section = runbookSection('database-migration', 'database-health-dashboard');
const SQL_SERVER_SKIP = 'written for a PostgreSQL source; the SQL Server queries of this section are not exercised yet';
/** Sessions made to wait on a lock in the source: the active count must rise by at least this many. */
const WAITERS = 5;
/** Source writes while the source connector is stopped: the slot's confirmed position must not move past them. */
const WRITES_WHILE_STOPPED = 20;

/** "0/1A2B3C" as a number, to order LSNs. */
const lsn = (text: string | null | undefined): bigint => {
  const [hi, lo] = (text ?? '0/0').split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
};
const isTrue = (v: string | null | undefined) => v === 't' || v === 'true';

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`active sessions and replication slots on both databases ${variant.label}`, async ({ source, target, pipeline, connect, endpoints }) => {
      const [sourceBlock] = section.blocks({ lang: 'sql', side: 'source', dialect: variant.dialect }).map((b) => b.value);
      const [targetBlock] = section.blocks({ lang: 'sql', side: 'target' }).map((b) => b.value);
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const slotName = pipeline.names.slotName;
      const sourceDashboard = async () => {
        const [active, slots] = await runStatements(source, sourceBlock!, 'source health');
        return { active: Number(active!.rows[0]!.count), slot: slots!.rows.find((r) => r.slot_name === slotName) };
      };
      const activeCount = async (session: SqlSession, block: string, label: string) => Number((await runStatements(session, block, label))[0]!.rows[0]!.count);

      await runbookStep('Source: active sessions and the replication slot of a healthy migration', async () => {
        const seen = await sourceDashboard();
        await attachJson('source dashboard', seen);
        expect(seen.slot, `slot ${slotName} listed`).toBeDefined();
        expect(seen.slot!.plugin).toBe('pgoutput');
        expect(isTrue(seen.slot!.active), 'the source connector holds its slot').toBe(true);
        // The slot confirms what the pipeline has consumed: a replicated write moves confirmed_flush_lsn on.
        const before = lsn(seen.slot!.confirmed_flush_lsn);
        await source.query(`INSERT INTO customers (customer_id, name) VALUES (910001, 'moves the slot')`);
        expect((await awaitRows(target, `SELECT customer_id FROM customers WHERE customer_id = 910001`, 1, lagSloMs())).ok).toBe(true);
        const moved = await pollUntil({ what: `confirmed_flush_lsn of ${slotName} past ${before}`, limitMs: lagSloMs() * 4, intervalMs: 500 }, async () => {
          const s = (await sourceDashboard()).slot;
          return { done: lsn(s?.confirmed_flush_lsn) > before, seen: s?.confirmed_flush_lsn ?? 'no slot', value: s?.confirmed_flush_lsn };
        });
        await attachJson('confirmed_flush_lsn moved', { before: seen.slot!.confirmed_flush_lsn, after: moved });
      });

      await runbookStep('Source: sessions piling up behind a lock raise the active count', async () => {
        const baseline = (await sourceDashboard()).active;
        const lock = await holdTableLock(endpoints.source.url, 'products');
        const waiters = await waitOnLock(endpoints.source.url, 'products', WAITERS).catch(async (e: unknown) => {
          await lock.heal();
          throw e;
        });
        let piled: number;
        try {
          piled = await pollUntil({ what: `at least ${baseline + WAITERS} active source sessions (baseline ${baseline})`, limitMs: lagSloMs(), intervalMs: 250 }, async () => {
            const n = (await sourceDashboard()).active;
            return { done: n >= baseline + WAITERS, seen: `${n} active`, value: n };
          });
        } finally {
          await lock.heal();
          await waiters.heal();
        }
        const drained = await pollUntil({ what: `fewer than ${baseline + WAITERS} active source sessions after the lock is released`, limitMs: lagSloMs(), intervalMs: 250 }, async () => {
          const n = (await sourceDashboard()).active;
          return { done: n < baseline + WAITERS, seen: `${n} active`, value: n };
        });
        await attachJson('active source sessions', { baseline, piled, drained, waiters: waiters.pids });
      });

      await runbookStep('Source: a stopped source connector leaves the slot inactive and its position behind', async () => {
        await connect.stopConnector(pipeline.sourceName);
        const stopped = await pollUntil({ what: `slot ${slotName} inactive after the source connector stopped`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const s = (await sourceDashboard()).slot;
          return { done: s !== undefined && !isTrue(s.active), seen: JSON.stringify(s), value: s };
        });
        for (let i = 0; i < WRITES_WHILE_STOPPED; i++) await source.query(`INSERT INTO customers (customer_id, name) VALUES (${920000 + i}, 'while the source connector is stopped')`);
        const current = lsn((await source.query('SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn);
        const after = (await sourceDashboard()).slot!;
        await attachJson('slot while the source connector is stopped', { stopped, after, currentWalLsn: current.toString(16) });
        expect(isTrue(after.active)).toBe(false);
        expect(lsn(after.confirmed_flush_lsn), 'confirmed_flush_lsn stays behind the writes').toBeLessThan(current);
        expect(after.confirmed_flush_lsn).toBe(stopped!.confirmed_flush_lsn);
        await connect.resumeConnector(pipeline.sourceName);
        const back = await pollUntil({ what: `slot ${slotName} active again after the resume`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
          const s = (await sourceDashboard()).slot;
          return { done: isTrue(s?.active) && lsn(s?.confirmed_flush_lsn) >= current, seen: JSON.stringify(s), value: s };
        });
        await attachJson('slot after the resume', back);
      });

      await runbookStep('Target: a sink blocked by a lock on the replica raises the active count', async () => {
        const baseline = await activeCount(target, targetBlock!, 'target health');
        const lock = await holdTableLock(endpoints.target.url, 'customers', 'EXCLUSIVE');
        let blocked: number;
        try {
          await source.query(`INSERT INTO customers (customer_id, name) VALUES (930001, 'waits for the lock on the replica')`);
          blocked = await pollUntil({ what: `more than ${baseline} active target sessions (the sink waiting on the lock)`, limitMs: lagSloMs() * 4, intervalMs: 250 }, async () => {
            const n = await activeCount(target, targetBlock!, 'target health');
            return { done: n > baseline, seen: `${n} active`, value: n };
          });
          const missing = await target.query(`SELECT customer_id FROM customers WHERE customer_id = 930001`);
          expect(missing, 'the blocked write is not in the replica').toHaveLength(0);
        } finally {
          await lock.heal();
        }
        expect((await awaitRows(target, `SELECT customer_id FROM customers WHERE customer_id = 930001`, 1, lagSloMs() * 2)).ok, 'the write lands once the lock is released').toBe(true);
        const after = await pollUntil({ what: `fewer than ${blocked!} active target sessions once the sink's write went through`, limitMs: lagSloMs(), intervalMs: 250 }, async () => {
          const n = await activeCount(target, targetBlock!, 'target health');
          return { done: n < blocked!, seen: `${n} active`, value: n };
        });
        await attachJson('active target sessions', { baseline, blocked, after });
      });

      const converged = await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })));
      await attachJson('replica after every problem was released', converged.report.summary);
      expect(converged.converged).toBe(true);
    });
  }
});

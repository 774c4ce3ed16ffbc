/**
 * runbooks/database-migration.md — Common Issues & Solutions, Issue: Replication Slot Not Advancing.
 * An idle source for real: the captured tables get no writes while a table the connector does not capture takes a
 * steady stream of them, so the WAL grows. The slot's confirmed_flush_lsn and retained WAL are measured before and
 * after the section's fix (a heartbeat.action.query into a captured table, Change Log row 18): before, the slot
 * stays put for several heartbeat intervals while the WAL grows; after, it advances and lets the WAL go. Then the
 * orphaned-slot branch (Change Log rows 8 and 15): an active slot cannot be dropped; the original order (delete,
 * drop, redeploy) fails over the old offsets; the section's order (stop, clear the offsets, drop, empty the replica,
 * resume) snapshots again. The background workload runs
 * from the fix on (before it, the source must be idle), and every acknowledged write must reach the target.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { pollUntil, WaitTimeoutError } from '../../harness/core/poll.js';
import { type ConnectorDefinition } from '../../harness/pipeline/connector-config.js';
import { type ConnectorStatus } from '../../harness/pipeline/connect-client.js';
import { attachJson, attachSamples, attachText, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitState, traceHead } from '../../harness/scenario/pipeline-observers.js';
import { awaitConverged, awaitDrained, CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { expectedHarnessCommands, runSql } from '../../harness/scenario/runbook-blocks.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { reconcileSessions, type SqlSession } from '../../harness/verify/reconcile/index.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'issue-replication-slot-not-advancing');
const TABLE = 'customers';
const RUNBOOK_SLOT = 'debezium_warehouse';
/** The uncaptured table that fills the WAL while the captured ones are idle. */
const NOISE_TABLE = 'rh_uncaptured_noise';
/** One noise batch: about this many bytes of row data per statement. */
const NOISE_ROWS = 2_000;
const NOISE_PAD = 500;
/** The heartbeat interval of the connector while idle (the template's) and how many of them the slot is watched. */
const IDLE_HEARTBEAT_MS = 5_000;
const IDLE_WINDOW_MS = 6 * IDLE_HEARTBEAT_MS;
/** Retained WAL the idle window must add at least (the noise writes several times this). */
const MIN_WAL_GROWTH_BYTES = 4 * 1024 * 1024;
/** The seed rows of customers: never touched by the workload, so each snapshot puts each in the topic once. */
const SEED_KEYS = [1, 2, 3];

interface SlotState {
  at: string;
  active: string;
  confirmedFlushLsn: string;
  currentLsn: string;
  retainedBytes: number;
  unconfirmedBytes: number;
}

async function slotState(source: SqlSession, slot: string): Promise<SlotState> {
  const [row] = await source.query(
    `SELECT active::text AS active, confirmed_flush_lsn::text AS confirmed, pg_current_wal_lsn()::text AS current,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS retained,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text AS unconfirmed
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  if (!row) throw new Error(`replication slot ${slot} does not exist`);
  return { at: new Date().toISOString(), active: row.active!, confirmedFlushLsn: row.confirmed!, currentLsn: row.current!, retainedBytes: Number(row.retained), unconfirmedBytes: Number(row.unconfirmed) };
}

/** LSN text (X/Y) as a number of bytes, for comparisons. */
function lsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(variant.dialect !== 'postgres' || !variant.runs)(`idle source, heartbeat fix, orphaned slot ${variant.label}`, async ({ source, target, pipeline, connect, kafka }) => {
      const stateDir = inject('stackStateDir');
      const name = pipeline.sourceName;
      const heartbeatTable = /CREATE TABLE IF NOT EXISTS public\.(\w+)/.exec(section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' }).map((b) => b.value).join('\n'))?.[1];
      expect(heartbeatTable, `${section.file}: the fix creates a heartbeat table`).toBeDefined();

      await resetSampleTables(source, target, [NOISE_TABLE, heartbeatTable!]);
      await source.query(`CREATE TABLE ${NOISE_TABLE} (id bigserial PRIMARY KEY, pad text NOT NULL)`);
      const deployed = await pipeline.deploy({ tables: [TABLE] });
      const slot = pipeline.names.slotName;
      const fill = (sql: string) => sql.replaceAll(`'${RUNBOOK_SLOT}'`, `'${slot}'`);
      const configDir = path.join(mkdtempSync(path.join(tmpdir(), 'rh-slot-')), 'config');
      mkdirSync(configDir);
      const configFile = path.join(configDir, 'postgres-source.json');
      const saveConfig = (definition: ConnectorDefinition) => {
        writeFileSync(configFile, JSON.stringify(definition, null, 2), { mode: 0o600 });
        chmodSync(configFile, 0o600);
      };
      saveConfig(deployed.source);
      expect(deployed.source.config['heartbeat.interval.ms'], 'the connector heartbeats while idle').toBe(String(IDLE_HEARTBEAT_MS));
      expect(deployed.source.config['heartbeat.action.query'], 'no action query before the fix').toBeUndefined();
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0]?.diffCounts)).toBe(true);

      // The idle source: nothing on the captured tables; a batch job fills an uncaptured one.
      const noise = async () => source.query(`INSERT INTO ${NOISE_TABLE} (pad) SELECT repeat('x', ${NOISE_PAD}) FROM generate_series(1, ${NOISE_ROWS})`);
      const idleSamples: SlotState[] = [];
      const idleStart = await slotState(source, slot);
      let advanced = false;
      try {
        await pollUntil({ what: `slot ${slot}'s confirmed_flush_lsn to move past ${idleStart.confirmedFlushLsn} while only ${NOISE_TABLE} is written`, limitMs: IDLE_WINDOW_MS, intervalMs: 1_000 }, async () => {
          await noise();
          const now = await slotState(source, slot);
          idleSamples.push(now);
          return { done: lsn(now.confirmedFlushLsn) > lsn(idleStart.confirmedFlushLsn), seen: `confirmed ${now.confirmedFlushLsn}, retained ${now.retainedBytes} bytes` };
        });
        advanced = true;
      } catch (error) {
        if (!(error instanceof WaitTimeoutError)) throw error;
      }
      const idleEnd = idleSamples.at(-1)!;
      await attachSamples('slot while the captured tables are idle', idleSamples.map((s) => ({ ...s })));

      await runbookStep('Symptoms: replication lag keeps growing, WAL disk usage grows on the source', async () => {
        await attachJson('idle window', { start: idleStart, end: idleEnd, windowSeconds: IDLE_WINDOW_MS / 1000, advanced });
        expect(advanced, `confirmed_flush_lsn moved while the captured tables were idle (${idleStart.confirmedFlushLsn} -> ${idleEnd.confirmedFlushLsn})`).toBe(false);
        expect(idleEnd.retainedBytes - idleStart.retainedBytes, 'retained WAL grew during the idle window').toBeGreaterThan(MIN_WAL_GROWTH_BYTES);
        const lag = await runCli(stateDir, ['lag', '--slot', slot, '--no-heartbeat']);
        expect(lag.stdout, 'runbook-harness lag shows the slot holding WAL back').toMatch(new RegExp(slot));
      });

      await runbookStep('Diagnosis: the slot, and whether the connector is consuming', async () => {
        const [diagnosis] = section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' });
        const rows = await source.query(fill(diagnosis!.value));
        await attachJson('slot status (the section\'s query)', rows);
        expect(rows).toHaveLength(1);
        expect(['t', 'true'], 'the slot is active: the connector holds it').toContain(rows[0]!.active);
        expect(rows[0]!.confirmed_flush_lsn, 'confirmed_flush_lsn is where the idle window found it').toBe(idleStart.confirmedFlushLsn);
        const status = await runCli(stateDir, ['connector', 'status', name]);
        expect(status.code, 'the connector is RUNNING: restarting failed tasks is not the remedy here').toBe(0);
      });

      const workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (key, n) => ({ name: `writer ${n}`, email_column: `w${key}@example.com` }), ratePerSecond: 20 });

      await runbookStep('Solution: a heartbeat.action.query into a captured table makes the slot advance', async () => {
        const row18 = changeLogClaim('database-migration', 18);
        const sql = section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' }).map((b) => b.value);
        const create = sql.find((s) => /CREATE TABLE/.test(s))!;
        await runSql(source, create, 'the heartbeat table');
        const properties = JSON.parse(section.blocks({ lang: 'json' }).find((b) => b.value.includes('heartbeat.action.query'))!.value) as Record<string, string>;
        const saved = JSON.parse(readFileSync(configFile, 'utf8')) as ConnectorDefinition;
        const fixed: ConnectorDefinition = { name: saved.name, config: { ...saved.config, ...properties, 'table.include.list': `${saved.config['table.include.list']},public.${heartbeatTable}` } };
        saveConfig(fixed);
        await attachJson('properties added to config/postgres-source.json', { ...properties, 'table.include.list': fixed.config['table.include.list'] });
        const deploy = expectedHarnessCommands(section.blocks({ lang: 'bash' }).find((b) => b.value.trim().startsWith('runbook-harness connector deploy'))!.value, { 'config/postgres-source.json': configFile });
        expect(deploy.map((c) => c.args.slice(0, 2).join(' '))).toEqual(['connector deploy']);
        const before = await slotState(source, slot);
        const redeployed = await runCli(stateDir, deploy[0]!.args);
        expect(redeployed.code, redeployed.stderr).toBe(0);
        // The restarted task updates the filtered publication when it starts.
        const published = await pollUntil({ what: `publication ${pipeline.names.publicationName} to take ${heartbeatTable} in`, limitMs: connect.stateLimitMs, intervalMs: 500 }, async () => {
          const rows = await source.query(`SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY tablename`, [pipeline.names.publicationName]);
          const names = rows.map((r) => r.tablename);
          return { done: names.includes(heartbeatTable!), seen: names.join(', '), value: names };
        }).catch((e: Error) => e.message);
        await attachJson('tables of the publication after the redeploy', published);
        expect(Array.isArray(published) ? published : [], `the filtered publication took the heartbeat table in (${String(published)})`).toContain(heartbeatTable);

        const check = sql.find((s) => /Expected: confirmed_flush_lsn advances/.test(s))!;
        const afterSamples: SlotState[] = [];
        const interval = Number(properties['heartbeat.interval.ms']);
        // Past the LSN the server stood at before the redeploy: the WAL the idle window retained is released.
        const after = await pollUntil({ what: `slot ${slot}'s confirmed_flush_lsn past ${before.currentLsn} while ${NOISE_TABLE} keeps being written`, limitMs: 6 * interval, intervalMs: 1_000 }, async () => {
          await noise();
          const now = await slotState(source, slot);
          afterSamples.push(now);
          return { done: lsn(now.confirmedFlushLsn) > lsn(before.currentLsn), seen: `confirmed ${now.confirmedFlushLsn}, retained ${now.retainedBytes} bytes`, value: now };
        }).catch((error: Error) => error);
        await attachSamples('slot after the heartbeat fix', afterSamples.map((s) => ({ ...s })));
        const shown = await source.query(fill(check));
        await attachJson('the section\'s check', shown);
        const moved = !(after instanceof Error);
        await attachJson('before and after the fix', { idleStart, idleEnd, beforeFix: before, afterFix: moved ? after : afterSamples.at(-1), wait: moved ? 'advanced' : (after as Error).message });
        assertClaim(row18, !advanced && moved && (after as SlotState).retainedBytes < before.retainedBytes,
          `idle: confirmed_flush_lsn stayed ${idleStart.confirmedFlushLsn} for ${IDLE_WINDOW_MS / 1000} s while retained WAL grew ${idleStart.retainedBytes} -> ${idleEnd.retainedBytes} bytes; after the fix: ${moved ? `confirmed ${(after as SlotState).confirmedFlushLsn}, retained ${(after as SlotState).retainedBytes} bytes (was ${before.retainedBytes})` : (after as Error).message}`);
        const drained = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
        expect(drained.drained, 'the workload replicates after the fix').toBe(true);
      });

      const reconcileArgs = await runbookStep('Solution: an orphaned slot is dropped only once the connector has let it go, and the connector snapshots again', async () => {
        const row8 = changeLogClaim('database-migration', 8);
        const row21 = changeLogClaim('database-migration', 21);
        const block = section.blocks({ lang: 'bash' }).find((b) => b.value.includes('pg_drop_replication_slot'))!;
        await attachText('runbook commands', block.value);
        const dropSql = fill(/psql "\$SOURCE_URL" -c "([^"]+)"/.exec(block.value)![1]!);
        expect(block.value, 'the branch empties the replica tables before the resume').toMatch(/psql "\$TARGET_URL" -c "TRUNCATE [^"]+"\s*\n\s*runbook-harness connector resume/);
        const commands = expectedHarnessCommands(block.value);
        expect(commands.map((c) => c.args.slice(0, 2).join(' ')), 'the branch\'s commands').toEqual(['connector stop', 'connector resume', 'reconcile --tables']);
        expect(block.value, 'the offsets DELETE').toMatch(/curl -s -X DELETE "\$CONNECT_URL\/connectors\/postgres-source\/offsets"/);
        // An active slot cannot be dropped.
        const early = await source.query(dropSql).then(() => 'dropped', (e: Error) => e.message);
        await attachJson('drop while the connector runs', { sql: dropSql, result: early });
        assertClaim(row8, /is active for PID/.test(early), `pg_drop_replication_slot on the running connector's slot: ${early}`);

        // The original order (control): delete the connector, drop the slot, redeploy over the old offsets.
        await runCli(stateDir, ['connector', 'delete', name]);
        await pollUntil({ what: `slot ${slot} released after the delete`, limitMs: 30_000 }, async () => {
          const s = await slotState(source, slot);
          return { done: s.active === 'false', seen: `active=${s.active}` };
        });
        await runSql(source, dropSql, 'the original order: drop the slot after deleting the connector');
        const redeploy = await runCli(stateDir, ['connector', 'deploy', name, '--file', configFile]);
        const failed = await awaitState(connect, name, 'FAILED', CONVERGE_LIMIT_MS);
        await attachJson('redeployed over the old offsets', { exit: redeploy.code, error: redeploy.stderr.trim().split('\n').at(-1), status: failed.status.tasks.map((t) => t.state) });
        assertClaim(row21, redeploy.code !== 0 && failed.reached && /no longer available on the server/.test(traceHead(failed.status, 200)), `deploy exit ${redeploy.code}; task ${failed.status.tasks.map((t) => t.state).join(',')}: ${traceHead(failed.status, 1).slice(0, 200)}`);

        // The section's order, from here: stop, clear the offsets, drop the slot, resume.
        const seedBefore = await seedEvents(kafka, pipeline.topicOf(TABLE));
        const stopped = await runCli(stateDir, commands[0]!.args);
        expect(stopped.code, stopped.stderr).toBe(0);
        await connect.deleteOffsets(name); // the section's curl DELETE, through the Connect client
        expect((await connect.getOffsets(name)).offsets, 'the stored offsets are gone').toEqual([]);
        const exists = (await source.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).length === 1;
        // The failed start of the control may have left no slot to drop; the section's drop runs when there is one.
        if (exists) await runSql(source, dropSql, 'drop the orphaned slot');
        // Rows the source deleted since the stop: never streamed (no slot), and no snapshot carries deletes.
        const gap = (await reconcileSessions(source, target, [{ table: TABLE }])).tables[0]!;
        await attachJson('slot before the resume, and replica rows the source no longer has', { existed: exists, extraInTarget: gap.diffCounts.extraInTarget });
        const truncate = /psql "\$TARGET_URL" -c "([^"]+)"/.exec(block.value)![1]!;
        await runSql(target, truncate.replace('customers, orders, products', TABLE), 'empty the replica tables before the resume');
        const resumed = await runCli(stateDir, commands[1]!.args);
        expect(resumed.code, resumed.stderr).toBe(0);
        const drained = await awaitDrained(target, TABLE, 'customer_id', await workload.mark());
        expect(drained.drained, 'the resumed connector streams').toBe(true);
        const seedAfter = await pollUntil({ what: 'the second snapshot of the seed rows in the topic', limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
          const counts = await seedEvents(kafka, pipeline.topicOf(TABLE));
          return { done: counts.every((c, i) => c > seedBefore[i]!), seen: JSON.stringify(counts), value: counts };
        }).catch((e: Error) => e.message);
        await attachJson('snapshot records of the seed rows', { before: seedBefore, after: seedAfter });
        const status = JSON.parse((await runCli(stateDir, ['connector', 'status', name])).stdout) as ConnectorStatus;
        assertClaim(row8, Array.isArray(seedAfter) && status.connector.state === 'RUNNING', `after stop, clear offsets, drop, resume: seed-row events ${JSON.stringify(seedBefore)} -> ${JSON.stringify(seedAfter)}; connector ${status.connector.state}`);
        return commands[2]!.args;
      });

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        // The branch's last command, on the quiet table (the workload has stopped).
        const reconcile = await runCli(stateDir, [reconcileArgs[0]!, '--tables', TABLE, '--checksum']);
        expect(reconcile.code, `reconcile --checksum after the new snapshot: ${reconcile.stdout.slice(0, 300)}`).toBe(0);
      });
    });
  }
});

/** How many change events of each seed key the table's topic holds (a snapshot adds one per key). */
async function seedEvents(kafka: { read(topic: string, options?: { limitMs?: number }): Promise<{ key: string | null }[]> }, topic: string): Promise<number[]> {
  const messages = await kafka.read(topic, { limitMs: 15_000 });
  return SEED_KEYS.map((k) => messages.filter((m) => m.key !== null && new RegExp(`"customer_id":${k}[,}]`).test(m.key)).length);
}


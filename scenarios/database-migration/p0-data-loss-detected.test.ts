/**
 * runbooks/database-migration.md — Incident Response, P0: Data Loss Detected.
 * Real lost rows: while the background workload writes, a purge meant for another database runs on the replica and
 * deletes rows the sink had applied (seed rows and rows the application had just written, acknowledged), behind the
 * pipeline's back; the pipeline never brings them back by itself. The Immediate Actions run as typed (sink paused,
 * the state documented in a JSON file; not cut over, so no rollback); the Investigation's commands show where the
 * rows went: the reconcile report names the lost keys, the table's topic still carries their events, the source
 * connector's offset is past the latest writes, the DLQ holds none of them (the loss is in the replica, not the
 * pipeline). The Recovery runs as typed (referencing tables looked up, TRUNCATE, data-only copy, resume) after a
 * control run of the original's `pg_dump -t | psql` (Change Log row 9: it fails on the existing table and restores
 * nothing). Change Log row 25: TRUNCATE refuses a referenced table alone and empties every table it lists (shown on
 * a scratch pair in the replica; the sample schema has no foreign key to customers). Afterwards the replica matches
 * and every acknowledged write is in it (history checker).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandLines, migrationShell, runStatements } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, awaitDrained, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { commentSteps, referencedSectionBlocks, runSql } from '../../harness/scenario/runbook-blocks.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { keyValue } from '../../harness/scenario/topic-reads.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { reconcileSessions } from '../../harness/verify/reconcile/index.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'p0-data-loss-detected');
const SQL_SERVER_SKIP = 'the Recovery copies PostgreSQL to PostgreSQL with pg_dump (this runbook migrates a PostgreSQL source)';
const TABLE = 'customers';
const KEY = 'customer_id';
/** Rows added to the seed (keys 10 … 9 + EXTRA_ROWS), so the lost keys sit inside a table of some size. */
const EXTRA_ROWS = 300;
/** Seed keys the purge deletes in the replica: inside the first 100 events of the topic (the Investigation's --max-messages 100). */
const PURGED_SEED = Array.from({ length: 20 }, (_, i) => 20 + i);
/** Acknowledged application writes the purge deletes too (the first ones the workload made). */
const PURGED_WRITES = 10;
/** The workload's keys start above this; every seed key is below it. */
const WORKLOAD_FIRST_KEY = 1_000_000;
/**
 * Inserts only: no later write of a lost key can bring its row back through the sink, so the loss stays until the
 * recovery. Slow enough that the keys behind the paused sink and the lost ones stay within the report's 100 listed keys.
 */
const WRITES_PER_SECOND = 5;

interface TableReport {
  missingInTarget: Record<string, number>[];
  extraInTarget: Record<string, number>[];
  differing: { key: Record<string, number> }[];
  diffCounts: { missingInTarget: number; extraInTarget: number; differing: number };
  truncated: boolean;
}

const lsnNumber = (lsn: string) => {
  const [hi, lo] = lsn.split('/');
  return parseInt(hi!, 16) * 2 ** 32 + parseInt(lo!, 16);
};

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`rows lost in the replica: found by key, reloaded, nothing acknowledged lost ${variant.label}`, async ({ source, target, pipeline, endpoints, pgTools, connect, kafka }) => {
      const [immediate, investigation, recoveryBash] = section.blocks({ lang: 'bash' });
      const steps = commentSteps(immediate!);
      expect(steps.map((s) => s.number), 'Immediate Actions 1-3').toEqual([1, 2, 3]);
      const [reconcileLine, consumeLine, offsetsLine, dlqLine] = commandLines(investigation!.value) as [string, string, string, string];
      const recoveryLines = commandLines(recoveryBash!.value);
      const recoverySql = referencedSectionBlocks('database-migration', 'p0-data-loss-detected', '**Recovery:**').filter((b) => b.lang === 'sql' && b.side === 'target');
      expect(recoverySql, 'one target SQL block in the Recovery').toHaveLength(1);

      await resetSampleTables(source, target);
      await source.query(`INSERT INTO ${TABLE} (${KEY}, name, email_column) SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(10, ${9 + EXTRA_ROWS}) g`);
      await pipeline.deploy({ tables: [TABLE] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0]?.diffCounts)).toBe(true);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: WORKLOAD_FIRST_KEY, shape: (key, n) => ({ name: `writer ${n}`, email_column: `w${key}@example.com` }), ratePerSecond: WRITES_PER_SECOND, updateShare: 0, deleteShare: 0 });
      onTestFinished(async () => void (await workload.stop()));

      // The loss: once the application's first writes are in the replica, a purge deletes them and seed rows there.
      const purgedWrites = Array.from({ length: PURGED_WRITES }, (_, i) => WORKLOAD_FIRST_KEY + 1 + i);
      const applied = await pollUntil({ what: `the workload's first ${PURGED_WRITES} inserts acknowledged and in the replica`, limitMs: lagSloMs() * 6, intervalMs: 500 }, async () => {
        const rows = await target.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE ${KEY} = ANY($1::int[])`, [`{${purgedWrites.join(',')}}`]);
        return { done: Number(rows[0]!.n) === PURGED_WRITES, seen: `${rows[0]!.n} of ${PURGED_WRITES} in the replica, ${workload.acknowledged} acknowledged`, value: Number(rows[0]!.n) };
      });
      expect(applied).toBe(PURGED_WRITES);
      const lost = [...PURGED_SEED, ...purgedWrites];
      await runSql(target, `DELETE FROM ${TABLE} WHERE ${KEY} IN (${lost.join(', ')})`, 'the loss: a purge run on the replica by mistake');
      // Detection: the pipeline carries on, the rows stay lost.
      const later = await workload.mark();
      expect((await awaitDrained(target, TABLE, KEY, later)).drained, 'the sink applies later writes').toBe(true);
      const detected = (await reconcileSessions(source, target, [{ table: TABLE }])).tables[0]!;
      const stillLost = detected.missingInTarget.map((k) => Number(k[KEY])).filter((k) => lost.includes(k));
      await attachJson('detection: keys missing in the replica', { lost, missing: detected.missingInTarget.slice(0, 60), diffCounts: detected.diffCounts });
      expect(stillLost.sort((a, b) => a - b), 'the lost rows are missing and the pipeline does not bring them back').toEqual(lost);

      let pausedAtLag = 0;
      await runbookStep(`1. ${steps[0]!.title}`, async () => {
        const r = await shell.run(steps[0]!.commands[0]!);
        expect(r.exitCode, r.stderr).toBe(0);
        expect((await connect.getConnectorStatus(pipeline.sinkName)).connector.state, 'the sink is PAUSED').toBe('PAUSED');
        // Changes stop being applied: a write after the pause stays out of the replica while the group's lag grows.
        const marker = await workload.mark();
        pausedAtLag = await pollUntil({ what: `the sink's group behind with the sink paused (marker ${marker})`, limitMs: lagSloMs() * 4, intervalMs: 500 }, async () => {
          const lag = await kafka.sinkLag(pipeline.sinkName);
          return { done: lag.total > 0, seen: `${lag.total} records behind`, value: lag.total };
        });
        expect(await target.query(`SELECT 1 FROM ${TABLE} WHERE ${KEY} = ${marker}`), 'no change applied after the pause').toHaveLength(0);
        expect((await connect.getConnectorStatus(pipeline.sourceName)).connector.state, 'the source connector keeps capturing').toBe('RUNNING');
      });

      await runbookStep(`2. ${steps[1]!.title}`, async () => {
        const r = await shell.run(steps[1]!.commands[0]!);
        const files = readdirSync(shell.cwd).filter((f) => /^incident-dataloss-\d{8}-\d{4}\.json$/.test(f));
        expect(files, `the state file (status exit ${r.exitCode}: 1 = not healthy, the sink is paused)`).toHaveLength(1);
        const state = JSON.parse(readFileSync(path.join(shell.cwd, files[0]!), 'utf8')) as { running: boolean; healthy: boolean; connectors: Record<string, string> };
        await attachJson(files[0]!, state);
        expect(state.running).toBe(true);
        expect(state.connectors, 'the file records the paused sink and the running source').toMatchObject({ [pipeline.sinkName]: 'PAUSED', [pipeline.sourceName]: 'RUNNING' });
        expect(r.exitCode, 'status exits 1 while the sink is paused').toBe(1);
      });

      await runbookStep(`3. ${steps[2]!.title}`, async () => {
        // Not cut over: the application still writes to the source (and only the forward sink exists).
        const before = workload.acknowledged;
        await pollUntil({ what: 'the application acknowledged by the source', limitMs: lagSloMs() * 2, intervalMs: 250 }, async () => ({ done: workload.acknowledged > before, seen: `${workload.acknowledged} acknowledged (was ${before})` }));
        expect(await connect.getConnectors(), 'no reverse pipeline: not cut over, so no Emergency Rollback').not.toContain('reverse-postgres-source');
      });

      await runbookStep(`Investigation: ${reconcileLine}`, async () => {
        const r = await shell.run(reconcileLine);
        expect(r.exitCode, `reconcile exits 1 on a mismatch: ${r.stderr}`).toBe(1);
        const dir = path.join(shell.cwd, 'reports');
        const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(`reconciliation_${TABLE}_`) && f.endsWith('.json')) : [];
        expect(files, 'the JSON report in --output-dir').toHaveLength(1);
        const report = (JSON.parse(readFileSync(path.join(dir, files[0]!), 'utf8')) as { tables: TableReport[] }).tables[0]!;
        const missing = report.missingInTarget.map((k) => Number(k[KEY]));
        const found = { seed: missing.filter((k) => k < WORKLOAD_FIRST_KEY).sort((a, b) => a - b), writes: purgedWrites.filter((k) => missing.includes(k)) };
        await attachJson('lost and named by the report', { lost, found, diffCounts: report.diffCounts, truncated: report.truncated });
        expect(found, `the report names every lost key and no other seed key (${report.diffCounts.missingInTarget} missing${report.truncated ? ', lists truncated' : ''})`).toEqual({ seed: PURGED_SEED, writes: purgedWrites });
        expect(report.diffCounts.extraInTarget + report.diffCounts.differing, 'nothing else differs').toBe(0);
      });

      await runbookStep(`Investigation: ${consumeLine}`, async () => {
        const r = await shell.run(consumeLine);
        expect(r.exitCode, r.stderr).toBe(0);
        const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { payload: { op: string; after: Record<string, unknown> | null } });
        expect(events, '--max-messages 100').toHaveLength(100);
        const captured = new Set(events.filter((e) => e.payload.op === 'r').map((e) => Number(e.payload.after?.[KEY])));
        const absent = PURGED_SEED.filter((k) => !captured.has(k));
        await attachJson('lost seed keys among the topic\'s first 100 events', { lost: PURGED_SEED, absentFromTopic: absent });
        expect(absent, 'the topic carries the lost rows: captured and published, lost after the pipeline').toEqual([]);
      });

      await runbookStep(`Investigation: ${offsetsLine}`, async () => {
        const before = String((await source.query('SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn);
        await workload.mark();
        // Connect stores source offsets every second (offset.flush.interval.ms): poll the section's command.
        const offset = await pollUntil({ what: `postgres-source's stored offset past the source's WAL position ${before}`, limitMs: lagSloMs() * 4, intervalMs: 1_000 }, async () => {
          const r = await shell.run(offsetsLine);
          const parsed = r.exitCode === 0 ? (JSON.parse(r.stdout) as { offsets: { partition: { server?: string }; offset: { lsn?: number } }[] }) : undefined;
          // Connect keeps the offsets of earlier connectors of this name (other topic prefixes): this pipeline's partition.
          const lsn = parsed?.offsets.find((o) => o.partition.server === pipeline.names.topicPrefix)?.offset.lsn;
          return { done: lsn !== undefined && lsn >= lsnNumber(before), seen: r.exitCode === 0 ? `lsn ${lsn}` : `exit ${r.exitCode}: ${r.stderr.trim()}`, value: lsn };
        });
        await attachJson('source offset vs the source WAL', { walBefore: before, walBeforeNumber: lsnNumber(before), offsetLsn: offset });
      });

      await runbookStep(`Investigation: ${dlqLine}`, async () => {
        const r = await shell.run(dlqLine);
        await attachJson('dlq consume', { exit: r.exitCode, stderr: r.stderr.trim().split('\n').slice(-3) });
        // A topic the sink never wrote to does not exist: that is "no skipped records" too.
        const noTopic = r.exitCode !== 0 && /does not exist|not found|unknown topic/i.test(r.stderr);
        expect(r.exitCode === 0 || noTopic, `the DLQ consume ran: ${r.stderr.trim().slice(0, 300)}`).toBe(true);
        const dlqKeys = r.exitCode === 0 ? (await kafka.read(pipeline.dlqTopic, { limitMs: 10_000 })).map((m) => keyValue(m.key, KEY)) : [];
        expect(dlqKeys.filter((k) => k !== null && lost.includes(k)), 'no lost key was skipped into the DLQ: the sink applied them').toEqual([]);
      });

      await runbookStep('Investigation: row counts on both sides', async () => {
        const [sourceCount] = await runStatements(source, section.blocks({ lang: 'sql', side: 'source', dialect: 'postgres' })[0]!.value, 'source');
        const [targetCount] = await runStatements(target, section.blocks({ lang: 'sql', side: 'target' })[0]!.value, 'target');
        const s = Number(sourceCount!.rows[0]!.count);
        const t = Number(targetCount!.rows[0]!.count);
        expect(s - t, `source ${s}, target ${t}: the lost rows (plus writes behind the paused sink)`).toBeGreaterThanOrEqual(lost.length);
      });

      await runbookStep('Recovery, the original (Change Log row 9): pg_dump -t customers | psql into the replica', async () => {
        const original = changeLogClaim('database-migration', 9).row['The original said']!.replaceAll('`', '').replaceAll('\\|', '|');
        expect(original).toBe('pg_dump -t users | psql into the target');
        const r = await shell.run(`pg_dump "$SOURCE_URL" -t ${TABLE} | psql "$TARGET_URL"`);
        const errors = r.stderr.split('\n').filter((l) => /ERROR/.test(l));
        const back = await target.query(`SELECT ${KEY} FROM ${TABLE} WHERE ${KEY} IN (${lost.join(', ')})`);
        await attachJson('the original\'s full dump into the replica', { exit: r.exitCode, errors: errors.slice(0, 10), lostRowsBack: back.length });
        assertClaim(
          changeLogClaim('database-migration', 9, 'A full dump fails on the existing table'),
          errors.some((l) => /relation "[^"]*customers" already exists/.test(l)) && back.length === 0,
          `exit ${r.exitCode}; ${errors.length} errors (${errors.slice(0, 3).join(' | ')}); ${back.length} of ${lost.length} lost rows back`,
        );
      });

      await runbookStep('Recovery: TRUNCATE customers, referencing tables listed too (Change Log row 25)', async () => {
        const block = recoverySql[0]!.value;
        // Change Log row 25 on a scratch pair in the replica: a referenced table cannot be truncated alone, and every table listed is emptied.
        await runSql(target, 'DROP TABLE IF EXISTS rh_dl_child, rh_dl_parent; CREATE TABLE rh_dl_parent (id int PRIMARY KEY); CREATE TABLE rh_dl_child (id int PRIMARY KEY, parent_id int REFERENCES rh_dl_parent); INSERT INTO rh_dl_parent VALUES (1); INSERT INTO rh_dl_child VALUES (1, 1)', 'scratch: a referenced table and its child');
        onTestFinished(async () => void (await target.query('DROP TABLE IF EXISTS rh_dl_child, rh_dl_parent')));
        const alone = await target.query('TRUNCATE rh_dl_parent').then(() => 'truncated', (e: Error) => e.message);
        await target.query('TRUNCATE rh_dl_parent, rh_dl_child');
        const childRows = Number((await target.query('SELECT count(*)::int AS n FROM rh_dl_child'))[0]!.n);
        const scratch = await target.query(block.replaceAll(`'${TABLE}'`, "'rh_dl_parent'").split('\n').filter((l) => /^SELECT/i.test(l.trim())).join('\n'));
        assertClaim(
          changeLogClaim('database-migration', 25, 'emptied'),
          /cannot truncate a table referenced in a foreign key constraint/.test(alone) && childRows === 0 && scratch.map((r) => String(r.referencing_table)).join() === 'rh_dl_child',
          `TRUNCATE of the referenced table alone: ${alone.split(': ').at(-1)}; listed with its child: the child has ${childRows} rows; the section's lookup on the scratch parent finds ${JSON.stringify(scratch)}`,
        );
        // The section's block as typed on customers: the lookup first (the sample schema has no foreign key to customers), then the TRUNCATE.
        const [lookup, truncate] = await runStatements(target, block, 'the Recovery on the replica');
        expect(lookup!.rows, 'no table references customers in the replica').toEqual([]);
        const onSource = await source.query(lookup!.sql);
        expect(onSource, 'nor in the source (orders.customer_id has no foreign key)').toEqual([]);
        expect(truncate!.sql).toMatch(new RegExp(`^TRUNCATE ${TABLE}`));
        expect(Number((await target.query(`SELECT count(*)::int AS n FROM ${TABLE}`))[0]!.n), 'the replica table is empty').toBe(0);
      });

      await runbookStep(`Recovery: ${recoveryLines.join('; ')}`, async () => {
        const [copyLine, resumeLine, reconcile] = recoveryLines as [string, string, string];
        expect(copyLine).toMatch(/^pg_dump "\$SOURCE_URL" --data-only --table=customers \| psql "\$TARGET_URL"$/);
        const copied = await shell.run(copyLine);
        expect(copied.exitCode, copied.stderr.slice(0, 500)).toBe(0);
        expect(copied.stderr, 'the data-only copy loads without errors').not.toMatch(/ERROR/);
        const back = await target.query(`SELECT ${KEY} FROM ${TABLE} WHERE ${KEY} IN (${lost.join(', ')})`);
        expect(back, 'every lost row is back').toHaveLength(lost.length);
        const resumed = await shell.run(resumeLine);
        expect(resumed.exitCode, resumed.stderr).toBe(0);
        await connect.awaitConnectorState(pipeline.sinkName, 'RUNNING');
        expect((await awaitDrained(target, TABLE, KEY, await workload.mark())).drained, `the sink replays what it had not applied (${pausedAtLag}+ records behind when paused)`).toBe(true);
        expect(reconcile).toBe(`runbook-harness reconcile --table ${TABLE} --checksum`);
      });

      await runbookStep('Recovery: reconcile --checksum, 100 % match; nothing acknowledged lost (history checker)', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
        expect(verdict.keysChecked, 'the purged application writes were checked').toBeGreaterThanOrEqual(PURGED_WRITES);
        const r = await shell.run(recoveryLines[2]!);
        expect(r.exitCode, `Expected: 100% match (${r.stdout.slice(0, 300)})`).toBe(0);
        expect(r.stdout).toMatch(/^MATCH\s+customers/m);
      });
    });
  }
});

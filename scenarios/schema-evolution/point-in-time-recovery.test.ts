/**
 * runbooks/schema-evolution.md — Rollback Procedures: Point-in-Time Recovery.
 * A backup of the replica table is taken (pg_dump, the sink's offset noted first), then the replica is
 * corrupted behind the pipeline's back while a workload keeps writing. The runbook's commands run as
 * written (the CLI on this stack, pg_restore from pgTools): stop the sink, restore the dump, rewind the
 * sink's consumer group to the noted offset, resume. The replay must bring the table back to the source,
 * with every acknowledged write in it. Also checked: change-log row 9's claim about a paused sink.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { ConnectError } from '../../harness/pipeline/connect-client.js';
import { withAdmin } from '../../harness/pipeline/kafka-admin.js';
import { attachJson, attachText, runbookStep } from '../../harness/report/step.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { closeOutWorkload } from '../../harness/scenario/no-loss.js';
import { awaitConverged, awaitDrained, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { commentSteps, fillPlaceholders, runSql } from '../../harness/scenario/runbook-blocks.js';
import { blockClaim } from '../../harness/scenario/runbook-claims.js';
import { runShellLine, type ShellContext, type ShellResult } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { reconcileSessions, type TableSpec } from '../../harness/verify/reconcile/index.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('schema-evolution', 'point-in-time-recovery');
const TABLE = 'customers';
const KEY = 'customer_id';
/** Seed rows only (the workload's keys start above 1,000,000): what the corruption damages and the restore repairs. */
const SEED: TableSpec = { table: TABLE, keyRange: { to: ['1000000'] } };
// The damage done behind the pipeline's back after the backup: seed rows edited and deleted on the replica.
const CORRUPT_TARGET_SQL = [`UPDATE ${TABLE} SET name = 'corrupted' WHERE ${KEY} IN (1, 3)`, `DELETE FROM ${TABLE} WHERE ${KEY} = 2`];

describe(section.title, () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`restore the replica table from a dump and replay from the noted offset ${variant.label}`, async ({ source, target, pipeline, connect, kafka, endpoints, pgTools }) => {
      const block = section.blocks({ lang: 'bash' })[0]!;
      const steps = commentSteps(block);
      expect(steps.map((s) => s.number)).toEqual([1, 2, 3, 4]);
      const workdir = mkdtempSync(path.join(tmpdir(), 'rh-pitr-'));
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: ['customers', 'orders', 'products'] });
      const snapshot = await awaitConverged(source, target, [{ table: TABLE }]);
      expect(snapshot.converged, JSON.stringify(snapshot.report.tables[0])).toBe(true);
      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 20 });
      const topic = pipeline.topicOf(TABLE);
      let offset = -1;
      const shell: ShellContext = {
        stateDir: inject('stackStateDir'),
        cwd: workdir,
        variables: { TARGET_URL: endpoints.target.url, SOURCE_URL: endpoints.source.url, CONNECT_URL: endpoints.connect.url },
        tools: { pg_dump: pgTools.pgDump, pg_restore: pgTools.pgRestore, psql: pgTools.psql },
        word: (w) => {
          const filled = fillPlaceholders(w, { table_name: TABLE, offset });
          // The runbook's topic names (either source) are this pipeline's topic for the table.
          return /^warehouse\.(warehouse_source\.dbo|public)\.\w+$/.test(filled) ? topic : filled;
        },
      };
      const run = async (line: string): Promise<ShellResult> => {
        const result = await runShellLine(shell, line);
        await attachText(`$ ${line}`, `exit ${result.code}\n${result.stdout}\n${result.stderr}`.trim());
        return result;
      };
      const committed = async () => (await kafka.sinkLag(pipeline.sinkName)).partitions.find((p) => p.topic === topic);

      try {
        await runbookStep('Backup taken before the change, with the sink offset noted first', async () => {
          await workload.mark(); // some workload events in the topic before the offset
          // The sink commits its offsets on Connect's flush interval: wait for the first commit on the topic.
          const noted = await pollUntil({ what: `the sink's committed offset on ${topic}`, limitMs: lagSloMs() * 2, intervalMs: 500 }, async () => {
            const p = await committed();
            return { done: (p?.committed ?? 0) > 0, seen: JSON.stringify(p ?? (await kafka.sinkLag(pipeline.sinkName)).partitions), value: p };
          });
          offset = noted!.committed;
          await attachJson('noted sink offset', noted);
          const dump = await run(`pg_dump "$TARGET_URL" --format=custom --table=<table_name> --file=backup_<table_name>.dump`);
          expect(dump.code, dump.stderr).toBe(0);
          // The events after the offset keep coming: the restore will lack them until the replay.
          await workload.mark();
        });

        await runbookStep('The replica table is damaged behind the pipeline (the reason to restore)', async () => {
          for (const sql of CORRUPT_TARGET_SQL) await runSql(target, sql, 'damage on the replica');
          const report = await reconcileSessions(source, target, [SEED]);
          await attachJson('reconciliation: seed rows after the damage', report);
          expect(report.tables[0]!.diffCounts.differing).toBeGreaterThan(0);
          expect(report.tables[0]!.diffCounts.missingInTarget).toBeGreaterThan(0);
        });

        await runbookStep(`1. ${steps[0]!.title}`, async () => {
          // Change-log row 9: the original reset the offsets of a paused sink. Observe why that cannot work.
          await attachJson('sink paused', await connect.pauseConnector(pipeline.sinkName));
          const members = await withAdmin(kafka.bootstrap, async (admin) => (await admin.describeGroups([`connect-${pipeline.sinkName}`])).groups[0]?.members.length ?? 0);
          const reset = await run(`runbook-harness kafka reset-offsets --group connect-${pipeline.sinkName} --topic ${topic} --to-offset ${offset}`);
          const patch = await connect.patchOffsets(pipeline.sinkName, [{ partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: offset } }]).then(
            () => 'accepted',
            (error: unknown) => (error instanceof ConnectError ? `${error.status}: ${error.body.slice(0, 300)}` : String(error)),
          );
          await attachJson('paused sink: group members, CLI reset, PATCH /offsets', { members, reset: { code: reset.code, stderr: reset.stderr.trim() }, patch });
          expect(members, 'a paused sink keeps its consumer group members').toBeGreaterThan(0);
          expect(reset.code, 'the offset reset refuses a paused sink (active group)').not.toBe(0);
          expect(patch, 'PATCH /offsets refuses a paused (not STOPPED) sink').not.toBe('accepted');

          for (const line of steps[0]!.commands) expect((await run(line)).code).toBe(0);
          const status = await connect.getConnectorStatus(pipeline.sinkName);
          await attachJson('sink status', status);
          const after = await withAdmin(kafka.bootstrap, async (admin) => (await admin.describeGroups([`connect-${pipeline.sinkName}`])).groups[0]?.members.length ?? 0);
          assertClaim(blockClaim(section, block, `${steps[0]!.title} ${steps[0]!.note}`), status.connector.state === 'STOPPED' && after === 0, `connector ${status.connector.state}, group members ${after}`);
        });

        await runbookStep(`2. ${steps[1]!.title}`, async () => {
          // Why the whole dump: the same dump restored with --table leaves out the primary key.
          const tableOnly = await run(`pg_restore --table=<table_name> --file=- backup_<table_name>.dump`);
          const whole = await run(`pg_restore --file=- backup_<table_name>.dump`);
          expect(whole.stdout, 'the dump holds the primary key').toMatch(/PRIMARY KEY/);
          expect(tableOnly.stdout, 'pg_restore --table restores the table without its primary key').not.toMatch(/PRIMARY KEY/);
          for (const line of steps[1]!.commands) {
            const result = await run(line);
            expect(result.code, result.stderr).toBe(0);
          }
          const seed = await reconcileSessions(source, target, [SEED]);
          await attachJson('reconciliation: seed rows after the restore', seed);
          expect(seed.tables[0]!.match, 'the restore repairs the damaged rows').toBe(true);
          const whole2 = await reconcileSessions(source, target, [{ table: TABLE }]);
          await attachJson('reconciliation: whole table after the restore (the replay is still to come)', whole2);
          expect(whole2.tables[0]!.diffCounts.missingInTarget + whole2.tables[0]!.diffCounts.differing, 'writes after the backup are not in the dump').toBeGreaterThan(0);
          const pk = await target.query(`SELECT constraint_name FROM information_schema.table_constraints WHERE table_name = $1 AND constraint_type = 'PRIMARY KEY'`, [TABLE]);
          expect(pk.length, 'the restored table has its primary key').toBe(1);
        });

        await runbookStep(`3. ${steps[2]!.title}`, async () => {
          for (const line of steps[2]!.commands) {
            const result = await run(line);
            expect(result.code, result.stderr).toBe(0);
          }
          const rewound = await committed();
          await attachJson('sink offset after the reset', rewound);
          expect(rewound?.committed).toBe(offset);
        });

        await runbookStep(`4. ${steps[3]!.title}`, async () => {
          for (const line of steps[3]!.commands) {
            if (/\blag --watch\b/.test(line)) continue; // watched below, with a limit, instead of forever
            const result = await run(line);
            expect(result.code, result.stderr).toBe(0);
          }
          const status = await connect.awaitConnectorState(pipeline.sinkName, 'RUNNING');
          await attachJson('sink status', status);
          // Caught up = a write made now is in the replica (the workload keeps writing, so an exact
          // reconcile match at one instant depends on the lag; the close-out reconciles once writes stop).
          const caughtUp = await awaitDrained(target, TABLE, KEY, await workload.mark());
          await attachJson('caught up: the latest write is in the replica', caughtUp);
          expect(caughtUp.drained).toBe(true);
        });
      } finally {
        rmSync(workdir, { recursive: true, force: true });
      }

      await runbookStep('Nothing lost: final reconciliation and every acknowledged write in the target', async () => {
        const { history, converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
        expect(history.writes.length).toBeGreaterThan(0);
        expect(await kafka.count(pipeline.dlqTopic), 'nothing went to the DLQ').toBe(0);
      });
    });
  }
});

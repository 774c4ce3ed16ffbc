/**
 * runbooks/database-migration.md — Monitoring & Troubleshooting: Essential Troubleshooting Commands, Kafka Issues.
 * The section's three commands run as typed on a migration with a background workload, each showing the failure
 * it is there to diagnose: `kafka groups` shows the sink's lag on the table's partition while the sink is held
 * up (a lock on the replica table) and LAG 0 once it is released; `kafka consume` prints the table's change
 * events from the start (the snapshot rows first), the same records the topic holds; `kafka topics` lists a
 * topic per migrated table and no longer lists one that was deleted (the Kafka data loss the runbook recovers).
 */
import { inject, onTestFinished } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { SAMPLE_TABLES } from '../../harness/env/connector-variables.js';
import { holdTableLock } from '../../harness/faults/database.js';
import { withAdmin } from '../../harness/pipeline/kafka-admin.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { commandLines, migrationShell } from '../../harness/scenario/migration-shell.js';
import { closeOutWorkload, verdictSummary } from '../../harness/scenario/no-loss.js';
import { awaitConverged, lagSloMs } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables } from '../../harness/scenario/sample-tables.js';
import { describe, expect, postgresOnlyVariants, test } from '../../harness/test.js';
import { Workload } from '../../harness/workload/writer.js';

const section = runbookSection('database-migration', 'kafka-issues');
const SQL_SERVER_SKIP = 'the section has no SQL Server commands (this runbook migrates a PostgreSQL source)';
const TABLE = 'customers';
const KEY = 'customer_id';
/** Seed rows of customers: the first events of its topic are their snapshot reads. */
const SEED_KEYS = [1, 2, 3];
/** Source writes while the sink is held up: the group's lag on the table topic must be exactly this. */
const HELD_UP_WRITES = 10;

/** The partition rows of `kafka groups` (TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG). */
function groupRows(stdout: string): { topic: string; partition: number; committed: number; end: number; lag: number }[] {
  return stdout
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/))
    .filter((cells) => cells.length === 5)
    .map(([topic, partition, committed, end, lag]) => ({ topic: topic!, partition: Number(partition), committed: Number(committed), end: Number(end), lag: Number(lag) }));
}

describe(section.title, () => {
  for (const variant of postgresOnlyVariants(SQL_SERVER_SKIP)) {
    test.skipIf(!variant.runs)(`topics, the sink group's lag and a table's change events ${variant.label}`, async ({ source, target, pipeline, endpoints, pgTools }) => {
      const [topicsLine, groupsLine, consumeLine] = commandLines(section.blocks({ lang: 'bash' })[0]!.value) as [string, string, string];
      expect(groupsLine).toBe(`runbook-harness kafka groups --group connect-${pipeline.sinkName}`);
      await resetSampleTables(source, target);
      await pipeline.deploy({ tables: [...SAMPLE_TABLES] });
      expect((await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })))).converged).toBe(true);
      const shell = migrationShell({ stateDir: inject('stackStateDir'), endpoints, pgTools, topicPrefix: pipeline.names.topicPrefix });
      onTestFinished(() => shell.dispose());
      const topic = pipeline.topicOf(TABLE);
      const topicLag = async () => groupRows((await shell.run(groupsLine)).stdout).find((r) => r.topic === topic);

      await runbookStep(topicsLine, async () => {
        const r = await shell.run(topicsLine);
        expect(r.exitCode, r.stderr).toBe(0);
        const listed = r.stdout.split('\n').map((l) => l.trim());
        for (const table of SAMPLE_TABLES) expect(listed, `a topic for ${table}`).toContain(pipeline.topicOf(table));
      });

      await runbookStep(`${groupsLine}: the sink held up by a lock on the replica, then released`, async () => {
        // The sink commits its offsets every second: on an idle source the group settles at LAG 0.
        const settled = await pollUntil({ what: `LAG 0 on ${topic} on an idle source`, limitMs: lagSloMs() * 2, intervalMs: 1_000 }, async () => {
          const row = await topicLag();
          return { done: row !== undefined && row.lag === 0, seen: JSON.stringify(row), value: row };
        });
        const lock = await holdTableLock(endpoints.target.url, TABLE, 'EXCLUSIVE');
        let held: Awaited<ReturnType<typeof topicLag>>;
        try {
          for (let i = 0; i < HELD_UP_WRITES; i++) await source.query(`INSERT INTO ${TABLE} (${KEY}, name) VALUES (${940000 + i}, 'behind a held-up sink')`);
          held = await pollUntil({ what: `LAG ${HELD_UP_WRITES} on ${topic} while the sink is held up`, limitMs: lagSloMs() * 4, intervalMs: 1_000 }, async () => {
            const row = await topicLag();
            return { done: row?.lag === HELD_UP_WRITES, seen: JSON.stringify(row), value: row };
          });
          const inReplica = await target.query(`SELECT ${KEY} FROM ${TABLE} WHERE ${KEY} >= 940000`);
          expect(inReplica, 'the lagging writes are not in the replica').toHaveLength(0);
        } finally {
          await lock.heal();
        }
        expect(held!.end - settled!.end).toBe(HELD_UP_WRITES);
        const released = await pollUntil({ what: `LAG 0 on ${topic} after the release`, limitMs: lagSloMs() * 4, intervalMs: 1_000 }, async () => {
          const row = await topicLag();
          return { done: row?.lag === 0 && row.committed === held!.end, seen: JSON.stringify(row), value: row };
        });
        await attachJson('sink group on the table topic: settled, held up, released', { settled, held, released });
        expect((await target.query(`SELECT ${KEY} FROM ${TABLE} WHERE ${KEY} >= 940000`)).length).toBe(HELD_UP_WRITES);
      });

      const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 10 });
      onTestFinished(async () => void (await workload.stop()));

      await runbookStep(consumeLine, async () => {
        const r = await shell.run(consumeLine);
        expect(r.exitCode, r.stderr).toBe(0);
        const printed = r.stdout.trim().split('\n');
        expect(printed, '--max-messages 10').toHaveLength(10);
        const first = (line: string) => JSON.parse(line) as { payload: { op: string; after: Record<string, unknown> | null } };
        // The snapshot's reads of the seed rows come first, then the workload's changes.
        expect(printed.slice(0, SEED_KEYS.length).map((l) => [first(l).payload.op, Number(first(l).payload.after?.[KEY])])).toEqual(SEED_KEYS.map((k) => ['r', k]));
        expect(printed.slice(SEED_KEYS.length).every((l) => first(l).payload.op === 'c'), 'then the inserts').toBe(true);
      });

      await runbookStep('Nothing lost while the sink was held up', async () => {
        const { converged, report, verdict } = await closeOutWorkload(workload, source, target, { table: TABLE });
        expect(converged, JSON.stringify(report.tables[0]?.diffCounts)).toBe(true);
        expect(verdict.pass, verdictSummary(verdict)).toBe(true);
      });

      await runbookStep(`${topicsLine}: a deleted topic is missing from the list`, async () => {
        const lost = pipeline.topicOf('products');
        await withAdmin(endpoints.kafka.bootstrap, (admin) => admin.deleteTopics({ topics: [lost], timeout: 30_000 }));
        const gone = await pollUntil({ what: `${lost} gone from '${topicsLine}'`, limitMs: lagSloMs() * 2, intervalMs: 500 }, async () => {
          const r = await shell.run(topicsLine);
          const listed = r.stdout.split('\n').map((l) => l.trim());
          return { done: r.exitCode === 0 && !listed.includes(lost), seen: listed.filter((t) => t.startsWith(pipeline.names.topicPrefix)).join(', '), value: listed };
        });
        expect(gone).toContain(topic);
      });
    });
  }
});

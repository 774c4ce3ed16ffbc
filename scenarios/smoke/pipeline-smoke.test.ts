/**
 * Smoke: the whole chain on the real stack. source PostgreSQL → Debezium → Kafka → Connect JDBC sink
 * → target PostgreSQL, every Connect hop through Toxiproxy. Inserts, updates and deletes must arrive
 * as exactly the source's end state, row by row; time to first row and steady lag are recorded.
 */
import { performance } from 'node:perf_hooks';
import { pollUntil } from '../../harness/core/poll.js';
import { awaitGroupCaughtUp, MissingTopicError } from '../../harness/pipeline/kafka-admin.js';
import { attachJson, attachSamples, attachSql, runbookStep } from '../../harness/report/step.js';
import { describe, expect, test } from '../../harness/test.js';
import { DEFAULT_HEARTBEAT_TABLE, ensureHeartbeatTable, lagSloVerdict, sampleHeartbeatLag } from '../../harness/verify/lag.js';
import { reconcileSessions } from '../../harness/verify/reconcile/index.js';

const TABLE = 'smoke_items';
const ROWS = 200;
/** Within this limit the target must converge; it is a wait limit, not a performance goal. */
const CONVERGE_LIMIT_MS = 60_000;
/**
 * Within this limit the sink's committed offsets must reach the log end. The worker commits them every
 * offset.flush.interval.ms (1 s on the local stack, harness/env/local/connect-process.ts): a wait limit of
 * many intervals, not a performance goal.
 */
const COMMIT_CATCH_UP_LIMIT_MS = 30_000;
/** A topic name no pipeline creates: reading it must fail, not look empty. */
const NO_SUCH_TOPIC = 'smoke-no-such-topic';

describe('smoke: the CDC chain end to end', () => {
  test('inserts, updates and deletes reach the target as the source end state', async ({ source, target, pipeline, connect, kafka }) => {
    const ddl = `DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id integer PRIMARY KEY, name varchar(100) NOT NULL, qty integer, price numeric(10,2), updated_at timestamp(6) NOT NULL DEFAULT now())`;
    await runbookStep('Create a table in the source', async () => {
      await attachSql('source DDL', ddl);
      await source.query(ddl);
      await ensureHeartbeatTable({ source });
    });

    const deployed = await runbookStep('Deploy the source and sink connectors', async () => {
      const result = await pipeline.deploy({ tables: [TABLE, DEFAULT_HEARTBEAT_TABLE] });
      await attachJson('source connector status', result.sourceStatus);
      await attachJson('sink connector status', result.sinkStatus);
      return result;
    });
    expect(deployed.sinkStatus.tasks.every((t) => t.state === 'RUNNING')).toBe(true);

    const firstRowSeconds = await runbookStep(`Insert ${ROWS} rows and time the first replicated row`, async () => {
      const t0 = performance.now();
      await source.query(`INSERT INTO ${TABLE} (id, name, qty, price) VALUES (1, 'first', 1, 1.00)`);
      await pollUntil({ what: `row id=1 in target ${TABLE}`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 50 }, async () => {
        const rows = await target.query(`SELECT id FROM ${TABLE} WHERE id = 1`);
        return { done: rows.length === 1, seen: `${rows.length} rows with id=1` };
      });
      const seconds = (performance.now() - t0) / 1000;
      await source.query(
        `INSERT INTO ${TABLE} (id, name, qty, price) SELECT g, 'item ' || g, g % 7, (g * 1.25)::numeric(10,2) FROM generate_series(2, ${ROWS}) g`,
      );
      await attachJson('time to first row', { seconds });
      return seconds;
    });

    await runbookStep('Update and delete rows in the source', async () => {
      const dml = [
        `UPDATE ${TABLE} SET qty = qty + 100, name = name || ' (updated)' WHERE id % 10 = 0`,
        `DELETE FROM ${TABLE} WHERE id % 25 = 0`,
        `UPDATE ${TABLE} SET price = NULL WHERE id = 7`,
      ];
      for (const statement of dml) await source.query(statement);
      await attachSql('source DML', dml.join(';\n'));
    });

    const report = await runbookStep('See exactly the source end state in the target, row by row', async () => {
      const final = await pollUntil({ what: `target ${TABLE} to match the source`, limitMs: CONVERGE_LIMIT_MS, intervalMs: 500 }, async () => {
        const r = await reconcileSessions(source, target, [{ table: TABLE }]);
        const t = r.tables[0]!;
        return { done: t.match, seen: `source ${t.sourceRows} rows, target ${t.targetRows}; missing ${t.diffCounts.missingInTarget}, extra ${t.diffCounts.extraInTarget}, differing ${t.diffCounts.differing}${t.error ? `; ${t.error}` : ''}`, value: r };
      });
      await attachJson('reconciliation report', final);
      const columns = 'id, name, qty, price::text AS price, updated_at::text AS updated_at';
      const [s, t] = await Promise.all([source.query(`SELECT ${columns} FROM ${TABLE} ORDER BY id`), target.query(`SELECT ${columns} FROM ${TABLE} ORDER BY id`)]);
      return { final, sourceRows: s, targetRows: t };
    });
    expect(report.final.tables[0]!.match).toBe(true);
    expect(report.targetRows).toEqual(report.sourceRows);
    expect(report.sourceRows.length).toBe(ROWS - Math.floor(ROWS / 25));

    const timeline = await runbookStep('Record the steady replication lag (heartbeat)', async () => {
      const result = await sampleHeartbeatLag({ source, target, durationMs: 5_000, intervalMs: 250 });
      await attachSamples('heartbeat lag samples', result.samples.map((s) => ({ writtenAt: s.writtenAt, lagSeconds: s.lagSeconds, timedOut: String(s.timedOut) })));
      const verdict = lagSloVerdict(result);
      await attachJson('lag SLO verdict', { firstRowSeconds, p50: result.p50, p95: result.p95, max: result.max, verdict });
      return { result, verdict };
    });
    expect(timeline.result.timeouts, timeline.result.problems.join('\n')).toBe(0);
    expect(timeline.verdict.pass, JSON.stringify(timeline.verdict)).toBe(true);

    await runbookStep('Check the sink consumer group has caught up and the DLQ is empty', async () => {
      // The table's and the heartbeat's topics: both had writes, so both must show a commit at their end.
      const topics = [pipeline.topicOf(TABLE), pipeline.topicOf(DEFAULT_HEARTBEAT_TABLE)];
      const caughtUp = await awaitGroupCaughtUp(() => kafka.sinkLag(pipeline.sinkName), topics, COMMIT_CATCH_UP_LIMIT_MS);
      const dlq = await kafka.count(pipeline.dlqTopic);
      const status = await connect.getConnectorStatus(pipeline.sinkName);
      await attachJson('sink consumer lag', caughtUp);
      await attachJson('sink status', status);
      expect(caughtUp.caughtUp, caughtUp.reason).toBe(true);
      expect(caughtUp.lag.total, JSON.stringify(caughtUp.lag.partitions)).toBe(0);
      expect(dlq).toBe(0);
      expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
    });

    await runbookStep('Check the harness tells a missing topic from an empty one', async () => {
      // An empty DLQ reads as 0 above only because it exists; a topic that does not is an error, never 0 or [].
      expect(await kafka.exists(pipeline.dlqTopic)).toBe(true);
      expect(await kafka.exists(NO_SUCH_TOPIC)).toBe(false);
      const count = await kafka.count(NO_SUCH_TOPIC).catch((e: unknown) => e);
      const read = await kafka.read(NO_SUCH_TOPIC, { limitMs: 5_000 }).catch((e: unknown) => e);
      await attachJson('reads of a missing topic', { count: String(count), read: String(read) });
      expect(count).toBeInstanceOf(MissingTopicError);
      expect(read).toBeInstanceOf(MissingTopicError);
      expect((read as Error).message).toContain(NO_SUCH_TOPIC);
      expect(await kafka.exists(NO_SUCH_TOPIC), 'reading it did not create it').toBe(false);
    });
  });
});

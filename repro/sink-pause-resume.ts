/**
 * npm run repro:sink-stall — does a sink stay RUNNING with its lag stuck after a pause/resume?
 *
 * The smallest stack that showed it (runbooks/schema-evolution.md, Change Log row 31): the embedded
 * stack (PostgreSQL source and target, Kafka, Connect with the Debezium PostgreSQL source and the
 * Debezium JDBC sink), one table, a workload writing it, and LOOPS rounds of what Scenario 7 steps 3–7
 * do: pause the source and the sink (waiting for the tasks to show PAUSED), change rows while paused,
 * resume both, write a marker and wait up to STALL_MS for it in the target.
 * A loop whose marker is late is a stall: its diagnostics are printed, then the sink task is restarted
 * (the operator's remedy) so the next loop starts clean, and whether the remedy worked is counted.
 *
 * Environment: LOOPS (10), RATE writes/s (20), STALL_MS (30000), PAUSED_MS (2000), WRITE_MS (5000, how
 * long the writer runs before each pause), WORKLOAD_IN_PAUSE (1: the writer keeps writing while paused;
 * 0: it stops and drains before the pause and a new one starts after the resume, as in Scenario 7),
 * UPDATE_ALL (1: the change made while paused rewrites every row in one transaction, as Scenario 7's step
 * 4 does; 0: five rows), WRITER (the workload module, default harness/workload/writer.ts: point it at an
 * older copy to measure that one). Exit code 0 always: this measures, it does not judge.
 *
 * Seen on Kafka 4.3.0 (Connect), Debezium PostgreSQL source 3.6.1.Final, Debezium JDBC sink 3.6.0.Final:
 * with the workload before commit a8a8694 (its marker stayed among the keys it updates and deletes),
 * late markers with the sink RUNNING and a steady lag of one commit interval's writes, the marker gone from
 * the source, and a sink restart not bringing it back: the workload deleted its own marker. With the
 * marker kept out of the workload's updates and deletes, no loop is late. Row 31 of the schema-evolution
 * runbook's Change Log has the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pollUntil } from '../harness/core/poll.js';
import { LocalStack, type StartedLocalStack } from '../harness/env/local/local-stack.js';
import { createSampleTables, defaultConnectors } from '../harness/env/sample-pipeline.js';
import { ConnectClient } from '../harness/pipeline/connect-client.js';
import { sinkConsumerLag, topicMessageCount } from '../harness/pipeline/kafka-admin.js';
import { openSession, type SqlSession } from '../harness/verify/reconcile/index.js';
import type { Workload as WorkloadClass } from '../harness/workload/writer.js';

const LOOPS = Number(process.env.LOOPS ?? 10);
const RATE = Number(process.env.RATE ?? 20);
const STALL_MS = Number(process.env.STALL_MS ?? 30_000);
const PAUSED_MS = Number(process.env.PAUSED_MS ?? 2_000);
const WRITE_MS = Number(process.env.WRITE_MS ?? 5_000);
const WORKLOAD_IN_PAUSE = (process.env.WORKLOAD_IN_PAUSE ?? '0') === '1';
const UPDATE_ALL = (process.env.UPDATE_ALL ?? '1') === '1';
const TABLE = 'customers';
const KEY = 'customer_id';

const shape = (key: number, n: number) => ({ name: `writer ${key} #${n}`, customer_name: `First${n} Last${n}` });

/** True once the target holds the marker row, false when `limitMs` passed first. */
async function markerArrives(target: SqlSession, marker: number, limitMs: number): Promise<boolean> {
  try {
    await pollUntil({ what: `marker ${marker} in the target`, limitMs, intervalMs: 100 }, async () => {
      const rows = await target.query(`SELECT ${KEY} FROM ${TABLE} WHERE ${KEY} = $1`, [String(marker)]).catch(() => []);
      return { done: rows.length === 1, seen: `${rows.length} rows` };
    });
    return true;
  } catch {
    return false;
  }
}

const WRITER = path.resolve(process.env.WRITER ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'harness', 'workload', 'writer.ts'));
const { Workload } = (await import(WRITER)) as { Workload: typeof WorkloadClass };

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rh-repro-'));
const stack: StartedLocalStack = await new LocalStack().withStateDir(stateDir).start();
const source = await openSession(stack.endpoints.source.url, 'source', { connections: 2 });
const target = await openSession(stack.endpoints.target.url, 'target', { connections: 2 });
const bootstrap = stack.endpoints.kafka.bootstrap;
const results: { loop: number; stalled: boolean; seconds: number; remedied?: boolean; markerInSource?: boolean }[] = [];
try {
  await createSampleTables(stack.endpoints);
  const connect = new ConnectClient(stack.endpoints.connect.url);
  const { source: src, sink } = defaultConnectors(stack.endpoints, { tables: ['customers', 'orders', 'products'] });
  await source.query(`ALTER TABLE ${TABLE} ADD COLUMN first_name varchar(100), ADD COLUMN last_name varchar(100)`);
  await connect.putConnectorConfig(src.name, src.config);
  await connect.putConnectorConfig(sink.name, sink.config);
  const topic = `${src.config['topic.prefix']}.public.${TABLE}`;
  let workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: 1_000_000, shape, ratePerSecond: RATE });
  if (!(await markerArrives(target, await workload.mark(), 60_000))) throw new Error('the pipeline never replicated the first marker');

  for (let loop = 1; loop <= LOOPS; loop++) {
    await pause(WRITE_MS);
    if (!WORKLOAD_IN_PAUSE) {
      await workload.stop();
      const last = 900_000 + loop;
      await source.query(`INSERT INTO ${TABLE} (${KEY}, name, customer_name) VALUES ($1, 'drain', 'Drain Marker')`, [String(last)]);
      if (!(await markerArrives(target, last, STALL_MS))) process.stderr.write(`loop ${loop}: the drain before the pause did not finish\n`);
    }
    for (const name of [src.name, sink.name]) await connect.pauseConnector(name);
    await source.query(`UPDATE ${TABLE} SET first_name = split_part(customer_name, ' ', 1), last_name = 'loop ${loop}' ${UPDATE_ALL ? '' : `WHERE ${KEY} <= 5`}`);
    await pause(PAUSED_MS);
    for (const name of [src.name, sink.name]) await connect.resumeConnector(name);
    if (!WORKLOAD_IN_PAUSE) workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: 1_000_000 + loop * 100_000, shape, ratePerSecond: RATE });
    const started = Date.now();
    const marker = await workload.mark();
    const arrived = await markerArrives(target, marker, STALL_MS);
    const seconds = (Date.now() - started) / 1000;
    if (arrived) {
      results.push({ loop, stalled: false, seconds });
      process.stderr.write(`loop ${loop}: marker ${marker} in the target after ${seconds.toFixed(1)} s\n`);
      continue;
    }
    const diagnostics = {
      // A marker the source no longer holds was deleted by the workload itself: not a sink stall.
      markerInSource: (await source.query(`SELECT ${KEY} FROM ${TABLE} WHERE ${KEY} = $1`, [String(marker)])).length === 1,
      sink: await connect.getConnectorStatus(sink.name),
      sinkLag: await sinkConsumerLag(bootstrap, sink.name),
      topicMessages: await topicMessageCount(bootstrap, topic),
    };
    process.stderr.write(`loop ${loop}: STALLED, marker ${marker} not in the target after ${seconds.toFixed(1)} s: ${JSON.stringify(diagnostics)}\n`);
    await connect.restartConnector(sink.name, { includeTasks: true });
    const remedied = await markerArrives(target, marker, 60_000);
    process.stderr.write(`loop ${loop}: after a sink task restart the marker ${remedied ? 'arrived' : 'still did not arrive'}\n`);
    results.push({ loop, stalled: true, seconds, remedied, markerInSource: diagnostics.markerInSource });
  }
  await workload.stop();
} finally {
  await source.close();
  await target.close();
  await stack.stop();
  rmSync(stateDir, { recursive: true, force: true });
}

const stalls = results.filter((r) => r.stalled);
const slowest = Math.max(0, ...results.filter((r) => !r.stalled).map((r) => r.seconds));
console.log(`sink pause/resume: ${results.length} loops, ${stalls.length} stalled (marker not in the target within ${STALL_MS / 1000} s), ` +
  `${stalls.filter((r) => r.markerInSource === false).length} of them with the marker deleted from the source by the workload, ` +
  `${stalls.filter((r) => r.remedied).length} drained after a sink task restart; slowest drain ${slowest.toFixed(1)} s ` +
  `(writer ${path.relative(process.cwd(), WRITER)}, rate ${RATE}/s, paused ${PAUSED_MS / 1000} s, workload ${WORKLOAD_IN_PAUSE ? 'kept writing' : 'stopped'} during the pause)`);

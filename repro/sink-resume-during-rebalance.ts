/**
 * npm run repro:sink-rebalance — a sink resumed while its consumer rebalances stops committing for good.
 *
 * What Troubleshooting "Replication Stuck After Schema Change" does, on the smallest stack that shows it (the
 * embedded stack, one table, a workload writing it): a lock on the target table blocks the JDBC sink inside its
 * write; while it is blocked a new topic matching the sink's `topics.regex` appears (in the suite: a table's first
 * event or heartbeat), so the sink's consumer must rejoin its group as soon as the write returns. Then the
 * Resolution: pause the sink, terminate the blocker, resume. MODE=immediate resumes DELAY_MS after the
 * terminate (the Resolution as first written); MODE=after-paused first waits for the task to report PAUSED
 * (that does not help: the task reports PAUSED before its consumer rejoins); MODE=no-pause only terminates
 * the blocker (the corrected Resolution: no pause, no resume, so no wakeup).
 * Each loop then stops the workload and waits STALL_MS for the sink's committed offset to reach the end of the
 * table's topic. A loop where it does not is a stall: the JDBC sink task's `preCommit` log lines are read from
 * the Connect log, the task is restarted (the operator's remedy), and whether that drains it is counted.
 *
 * Why (read in the sources of the versions below): Kafka Connect's WorkerSinkTask calls consumer.position()
 * inside onPartitionsAssigned, before it calls the task's open(); the resume calls consumer.wakeup(); a wakeup
 * that lands in position() aborts the callback, and the consumer's retry of the callback passes no partitions
 * (they are already in its assignment), so open() is never called for them. The Debezium JDBC sink's preCommit
 * returns offsets only for partitions it was open()ed for, so it returns {} and Connect skips every commit from
 * then on ("Flushing offsets: {}") while the task reports RUNNING.
 *
 * Seen on Kafka 4.3.0 (Connect runtime and clients), Debezium PostgreSQL source 3.6.1.Final, Debezium JDBC sink
 * 3.6.0.Final. Environment: LOOPS (10), MODE (immediate | after-paused | no-pause), DELAY_MS (comma list cycled per loop,
 * default 0,3,6,9,12,15,20,25,30,40: milliseconds between sending the terminate and sending the resume), RATE writes/s (20), STALL_MS (20000). Exit code 0 always: it measures, it does not judge.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pollUntil } from '../harness/core/poll.js';
import { LocalStack, type StartedLocalStack } from '../harness/env/local/local-stack.js';
import { createSampleTables, defaultConnectors } from '../harness/env/sample-pipeline.js';
import { holdTableLock } from '../harness/faults/database.js';
import { ConnectClient } from '../harness/pipeline/connect-client.js';
import { sinkConsumerLag, withAdmin } from '../harness/pipeline/kafka-admin.js';
import { openSession } from '../harness/verify/reconcile/index.js';
import { Workload } from '../harness/workload/writer.js';

const LOOPS = Number(process.env.LOOPS ?? 10);
const MODE = process.env.MODE ?? 'immediate';
const DELAYS = (process.env.DELAY_MS ?? '0,3,6,9,12,15,20,25,30,40').split(',').map(Number);
const RATE = Number(process.env.RATE ?? 20);
const STALL_MS = Number(process.env.STALL_MS ?? 20_000);
const TABLE = 'customers';
const KEY = 'customer_id';
const shape = (key: number, n: number) => ({ name: `writer ${key} #${n}` });
if (!['immediate', 'after-paused', 'no-pause'].includes(MODE)) {
  process.stderr.write(`repro: MODE must be immediate, after-paused or no-pause, got '${MODE}'\n`);
  process.exit(2);
}
// The signature is in these two loggers' DEBUG lines; set before the stack writes Connect's log4j config.
process.env.RUNBOOK_HARNESS_DEBUG_LOGGERS = 'org.apache.kafka.connect.runtime.WorkerSinkTask,io.debezium.connector.jdbc.JdbcSinkConnectorTask';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True once the sink group's committed offset on `topic` reaches the topic's end within `limitMs`. */
async function commitsReachEnd(bootstrap: string, sink: string, topic: string, limitMs: number): Promise<boolean> {
  try {
    await pollUntil({ what: `sink ${sink} committed offsets at the end of ${topic}`, limitMs, intervalMs: 250 }, async () => {
      const lag = await sinkConsumerLag(bootstrap, sink);
      const partition = lag.partitions.find((p) => p.topic === topic);
      return { done: partition !== undefined && partition.lag === 0, seen: JSON.stringify(partition ?? lag.partitions) };
    });
    return true;
  } catch {
    return false;
  }
}

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rh-repro-'));
const stack: StartedLocalStack = await new LocalStack().withStateDir(stateDir).start();
const connectLog = path.join(stack.state.dataDir, 'connect.log');
const source = await openSession(stack.endpoints.source.url, 'source', { connections: 2 });
const target = await openSession(stack.endpoints.target.url, 'target', { connections: 2 });
const bootstrap = stack.endpoints.kafka.bootstrap;
const connect = new ConnectClient(stack.endpoints.connect.url);
const results: { loop: number; delayMs: number; stalled: boolean; emptyPreCommits?: number; remedied?: boolean }[] = [];
try {
  await createSampleTables(stack.endpoints);
  const { source: src, sink } = defaultConnectors(stack.endpoints, { tables: [TABLE] });
  await connect.putConnectorConfig(src.name, src.config);
  await connect.putConnectorConfig(sink.name, sink.config);
  const prefix = src.config['topic.prefix'];
  const topic = `${prefix}.public.${TABLE}`;
  const warmup = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: 1_000_000, shape, ratePerSecond: RATE });
  await warmup.mark();
  await warmup.stop();
  if (!(await commitsReachEnd(bootstrap, sink.name, topic, 60_000))) throw new Error('the sink never committed the first writes');

  for (let loop = 1; loop <= LOOPS; loop++) {
    const delayMs = DELAYS[(loop - 1) % DELAYS.length]!;
    const workload = Workload.start(source, { table: TABLE, keyColumn: KEY, firstKey: (loop + 1) * 1_000_000, shape, ratePerSecond: RATE });
    const lock = await holdTableLock(stack.endpoints.target.url, TABLE);
    try {
      await pollUntil({ what: `the sink blocked on the lock of ${TABLE}`, limitMs: 30_000, intervalMs: 200 }, async () => {
        const waiting = await target.query(`SELECT pid FROM pg_locks WHERE relation = '${TABLE}'::regclass AND NOT granted`);
        return { done: waiting.length > 0, seen: `${waiting.length} waiting locks` };
      });
      // A topic the sink's regex matches: its consumer must rejoin once the blocked write returns.
      await withAdmin(bootstrap, (admin) => admin.createTopics({ topics: [{ topic: `${prefix}.public.repro_rebalance_${loop}`, numPartitions: 1 }], waitForLeaders: true }));
      await pause(3 * 2_000); // Connect's consumer.metadata.max.age.ms is 2 s: let it see the topic
      if (MODE === 'no-pause') {
        await target.query('SELECT pg_terminate_backend($1)', [String(lock.pid)]);
      } else if (MODE === 'after-paused') {
        await connect.pauseConnector(sink.name, { waitForTasks: false });
        await target.query('SELECT pg_terminate_backend($1)', [String(lock.pid)]);
        await connect.pauseConnector(sink.name, { waitForTasks: true });
        await connect.resumeConnector(sink.name);
      } else {
        await connect.pauseConnector(sink.name, { waitForTasks: false });
        // The window is the few milliseconds of the rebalance right after the blocked write returns: send the
        // resume DELAY_MS after the terminate is sent, without waiting for the terminate's answer first.
        const terminated = target.query('SELECT pg_terminate_backend($1)', [String(lock.pid)]);
        await pause(delayMs);
        await Promise.all([terminated, connect.resumeConnector(sink.name)]);
      }
    } finally {
      await lock.heal();
    }
    await workload.stop();
    const logBefore = readFileSync(connectLog, 'utf8').length;
    if (await commitsReachEnd(bootstrap, sink.name, topic, STALL_MS)) {
      results.push({ loop, delayMs, stalled: false });
      process.stderr.write(`loop ${loop} (${MODE === 'no-pause' ? 'no pause, terminate only' : MODE === 'after-paused' ? 'resume after PAUSED' : `resume sent ${delayMs} ms after the terminate`}): committed to the end\n`);
      continue;
    }
    const since = readFileSync(connectLog, 'utf8').slice(logBefore);
    const emptyPreCommits = (since.match(/Flushing offsets: \{\}/g) ?? []).length;
    // The consumer's retry of the woken-up assignment callback: no partitions, so no open().
    const emptyAssignments = (readFileSync(connectLog, 'utf8').match(/Partitions assigned \[\]/g) ?? []).length;
    process.stderr.write(`loop ${loop}: STALLED, committed offset short of the end after ${STALL_MS / 1000} s; "Flushing offsets: {}" ${emptyPreCommits} times since, "Partitions assigned []" ${emptyAssignments} times in the log; sink ${JSON.stringify(await connect.getConnectorStatus(sink.name))}\n`);
    await connect.restartConnector(sink.name, { includeTasks: true });
    const remedied = await commitsReachEnd(bootstrap, sink.name, topic, 60_000);
    process.stderr.write(`loop ${loop}: after a sink task restart the commits ${remedied ? 'reached the end' : 'still did not move'}\n`);
    results.push({ loop, delayMs, stalled: true, emptyPreCommits, remedied });
  }
} finally {
  await source.close();
  await target.close();
  await stack.stop();
  rmSync(stateDir, { recursive: true, force: true });
}

const stalls = results.filter((r) => r.stalled);
console.log(`sink resume during a rebalance (${MODE}${MODE === 'immediate' ? `, delays ${DELAYS.join('/')} ms` : ''}): ${results.length} loops, ` +
  `${stalls.length} stalled (commits short of the topic end for ${STALL_MS / 1000} s), ${stalls.filter((r) => (r.emptyPreCommits ?? 0) > 0).length} of them with empty preCommits, ` +
  `${stalls.filter((r) => r.remedied).length} drained after a sink task restart; stalled at delays: ${stalls.map((r) => r.delayMs).join(',') || 'none'}`);

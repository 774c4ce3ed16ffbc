/**
 * runbook-harness lag: replication lag now. Heartbeat (source write -> seen in target), the sink's consumer-group
 * lag, and PostgreSQL replication-slot lag in bytes. --watch repeats every --interval seconds (until --count
 * snapshots, or Ctrl-C). Exit 0, or 1 when the heartbeat lag breaks the replication-lag SLO, 2 on an error or when
 * the heartbeat could not be measured (its table missing on a side): then the SLO was not judged, and a gate must
 * not read that as a pass. --no-heartbeat opts out of the verdict explicitly.
 */
import type { CliCommand } from '../command.js';
import { parseCommandArgs } from '../command.js';
import { HarnessError, UsageError } from '../errors.js';
import { requireRunningStack } from '../../env/state.js';
import { openSession, type SqlSession } from '../../verify/reconcile/index.js';
import {
  DEFAULT_HEARTBEAT_TABLE,
  heartbeatTablesExist,
  lagSloVerdict,
  probeHeartbeat,
  replicationSlotLag,
  sinkConsumerLag,
  timelineOf,
  type HeartbeatSample,
} from '../../verify/lag.js';
import { describeVerdict, NAMED_SLOS } from '../../verify/slo.js';

const USAGE =
  '[--json] [--watch] [--interval SECONDS] [--count N] [--connector NAME] [--slot NAME] [--heartbeat-table T] [--no-heartbeat] ' +
  '[--timeout SECONDS] [--source-url URL --target-url URL] [--bootstrap HOST:PORT]';

const DEFAULT_SINK = 'postgresql-sink';

function number(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`lag: --${flag} must be a positive number, got '${text}'`);
  return n;
}

export const command: CliCommand = {
  summary: 'replication lag: heartbeat source->target, sink consumer-group lag, replication-slot bytes',
  async run(args) {
    const parsed = parseCommandArgs('lag', args, {
      json: { type: 'boolean' },
      watch: { type: 'boolean' },
      interval: { type: 'string' },
      count: { type: 'string' },
      connector: { type: 'string' },
      slot: { type: 'string' },
      'heartbeat-table': { type: 'string' },
      'no-heartbeat': { type: 'boolean' },
      timeout: { type: 'string' },
      'source-url': { type: 'string' },
      'target-url': { type: 'string' },
      bootstrap: { type: 'string' },
    }, USAGE);
    if (!parsed) return 0;
    const v = parsed.values;
    const interval = number('interval', v.interval, 2);
    const count = v.count !== undefined ? number('count', v.count, 1) : v.watch ? Infinity : 1;
    const timeoutMs = number('timeout', v.timeout, 30) * 1000;
    if (Boolean(v['source-url']) !== Boolean(v['target-url'])) throw new UsageError('lag: pass both --source-url and --target-url, or neither (then the running stack is used)');

    let sourceUrl = v['source-url'];
    let targetUrl = v['target-url'];
    let bootstrap = v.bootstrap;
    if (!sourceUrl || !targetUrl) {
      const stack = requireRunningStack();
      sourceUrl = stack.source.url;
      targetUrl = stack.target.url;
      bootstrap ??= stack.kafka.bootstrap;
    }
    const connector = v.connector ?? DEFAULT_SINK;
    const table = v['heartbeat-table'] ?? DEFAULT_HEARTBEAT_TABLE;
    const source = await openSession(sourceUrl, 'source', { connections: 1 });
    let target: SqlSession | undefined;
    try {
      target = await openSession(targetUrl, 'target', { connections: 1 });
      const samples: HeartbeatSample[] = [];
      let worst = 0;
      let unmeasured: string | undefined;
      for (let i = 0; i < count; i++) {
        const started = Date.now();
        const hb = { source, target, table, timeoutMs };
        const exists = v['no-heartbeat'] ? undefined : await heartbeatTablesExist(hb);
        const sample = exists?.source && exists.target ? await probeHeartbeat(hb) : undefined;
        if (sample) samples.push(sample);
        const [slots, consumer] = await Promise.all([
          replicationSlotLag(source, v.slot),
          bootstrap ? sinkConsumerLag(bootstrap, connector) : Promise.resolve({ connector, group: `connect-${connector}`, error: 'no Kafka bootstrap (pass --bootstrap or start the stack)' }),
        ]);
        const timeline = timelineOf(samples, { table });
        const verdict = samples.length ? lagSloVerdict(timeline, NAMED_SLOS.replicationLag, samples.length > 1 ? 'p95' : 'max') : undefined;
        if (verdict && !verdict.pass) worst = 1;
        const heartbeat = v['no-heartbeat']
          ? { skipped: '--no-heartbeat' }
          : !sample
            ? { skipped: `heartbeat table ${table} missing in the ${!exists?.source ? 'source' : 'target'}; create it in the source and include it in the source connector (see harness/verify/README.md)` }
            : { lagSeconds: sample.lagSeconds, timedOut: sample.timedOut, writtenAt: sample.writtenAt, resolutionSeconds: sample.resolutionSeconds, ...(samples.length > 1 ? { p50: timeline.p50, p95: timeline.p95, max: timeline.max, samples: timeline.count } : {}) };
        if (!v['no-heartbeat'] && !sample) unmeasured = `heartbeat table ${table} missing in the ${!exists?.source ? 'source' : 'target'}`;
        const snapshot = { at: new Date().toISOString(), source: source.endpoint, target: target.endpoint, heartbeat, consumer, slots, verdict };
        if (v.json) process.stdout.write(JSON.stringify(snapshot) + '\n');
        else {
          const hbText = 'skipped' in heartbeat ? `skipped (${heartbeat.skipped})` : `${heartbeat.lagSeconds.toFixed(3)} s${heartbeat.timedOut ? ' (TIMED OUT, lower bound)' : ''}${samples.length > 1 ? `; p50 ${timeline.p50.toFixed(3)} s, p95 ${timeline.p95.toFixed(3)} s, max ${timeline.max.toFixed(3)} s over ${timeline.count}` : ''}`;
          const consumerText = 'error' in consumer ? consumer.error : `${consumer.total} records behind (${consumer.partitions.map((p) => `${p.topic}[${p.partition}]=${p.lag}`).join(', ') || 'no partitions'})`;
          const slotText = slots.length ? slots.map((s) => `${s.slot}${s.active ? '' : ' (inactive)'}: ${s.unconfirmedBytes} B unconfirmed, ${s.retainedBytes} B retained`).join('; ') : source.dialect === 'postgres' ? 'no logical slots' : 'n/a (SQL Server source)';
          process.stdout.write(`${snapshot.at}\n  heartbeat: ${hbText}\n  consumer ${consumer.group}: ${consumerText}\n  slots: ${slotText}\n${verdict ? `  ${describeVerdict(verdict)}\n` : ''}`);
          for (const problem of timeline.problems.slice(-1)) if (sample?.timedOut) process.stdout.write(`  ${problem}\n`);
        }
        if (i + 1 < count) await new Promise((r) => setTimeout(r, Math.max(0, interval * 1000 - (Date.now() - started))));
      }
      // Not measured is not a pass: say so in one line and exit 2 (after the snapshots, which still show the rest).
      if (unmeasured) throw new HarnessError(`lag: no verdict on the replication-lag SLO: ${unmeasured}; create it in the source and include it in the source connector (harness/verify/README.md), or pass --no-heartbeat to read the other figures only`);
      return worst;
    } finally {
      await Promise.all([source.close().catch(() => {}), target?.close().catch(() => {})]);
    }
  },
};

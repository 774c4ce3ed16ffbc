/**
 * migrate lag: the migration's replication lag now, against the runbook's SLO row "Data replication lag" (< 5 s):
 *   heartbeat  a marker written to the source heartbeat table, timed until the target shows it (the SLO's measure)
 *   consumer   the sink's consumer-group lag in records (committed offsets, flushed every offset.flush.interval.ms)
 *   slot       the replication slot's unconfirmed and retained WAL bytes
 * Each run is recorded as a lag sample in the event log (`migrate report` draws them). Exit 0 within the SLO, 1 not
 * (or not measurable: no heartbeat within --timeout).
 */
import { parseCommandArgs } from '../../cli/command.js';
import { lagSloVerdict, probeHeartbeat, replicationSlotLag, sinkConsumerLag, timelineOf } from '../../verify/lag.js';
import { sloTarget } from '../../runbook/slo.js';
import { describeVerdict, type SloThreshold } from '../../verify/slo.js';
import type { MigrateVerb } from '../verb.js';

/** One probe's limit unless --timeout says otherwise: well past the P1 alert (60 s), so a timeout is a real finding. */
const DEFAULT_PROBE_LIMIT_S = 90;

export const verb: MigrateVerb = {
  summary: 'replication lag now (heartbeat seconds, sink consumer lag, slot bytes) against the 5 s SLO; recorded as a sample',
  exclusive: false,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate lag', args, {}, '');
    if (!parsed) return 0;
    const migration = await ctx.migration();
    const [source, target] = [await ctx.source(), await ctx.target()];
    const timeoutMs = ctx.timeoutGiven ? ctx.timeoutMs : DEFAULT_PROBE_LIMIT_S * 1000;
    const sample = await probeHeartbeat({ source, target, table: migration.pipeline.heartbeatTable, targetTable: migration.pipeline.heartbeatTable.split('.').pop(), timeoutMs });
    // The threshold is the runbook's SLO row, so editing the runbook changes the verdict.
    const slo = sloTarget('database-migration', 'Data replication lag');
    const threshold: SloThreshold = { metric: slo.metric, comparator: slo.comparator, value: slo.value, unit: slo.unit };
    const verdict = lagSloVerdict(timelineOf([sample]), threshold, 'max');
    const [slots, consumer] = await Promise.all([
      replicationSlotLag(source, migration.pipeline.slotName),
      ctx.endpoints.kafkaBootstrap
        ? sinkConsumerLag(ctx.endpoints.kafkaBootstrap, migration.pipeline.sinkConnector)
        : Promise.resolve({ connector: migration.pipeline.sinkConnector, group: `connect-${migration.pipeline.sinkConnector}`, error: 'no Kafka bootstrap: pass --kafka-bootstrap or set KAFKA_BOOTSTRAP' }),
    ]);
    const slot = slots[0];
    const detail = {
      heartbeatSeconds: sample.lagSeconds,
      timedOut: sample.timedOut,
      writtenAt: sample.writtenAt,
      consumerLag: 'error' in consumer ? null : consumer.total,
      consumerError: 'error' in consumer ? consumer.error : undefined,
      slot: slot ? { name: slot.slot, active: slot.active, unconfirmedBytes: slot.unconfirmedBytes, retainedBytes: slot.retainedBytes, walStatus: slot.walStatus } : null,
      verdict,
    };
    await ctx.record({ step: 'sample', outcome: verdict.pass ? 'ok' : 'failed', detail });
    ctx.print(
      { migrationId: migration.id, ...detail },
      [
        `migrate lag ${migration.id}:`,
        `  heartbeat: ${sample.lagSeconds.toFixed(3)} s${sample.timedOut ? ` (TIMED OUT after ${timeoutMs / 1000} s: lag at least that)` : ''}`,
        `  consumer ${consumer.group}: ${'error' in consumer ? consumer.error : `${consumer.total} records behind`}`,
        `  slot ${migration.pipeline.slotName}: ${slot ? `${slot.unconfirmedBytes} B unconfirmed, ${slot.retainedBytes} B retained${slot.active ? '' : ' (INACTIVE)'}` : 'not found'}`,
        `  ${describeVerdict(verdict)}`,
      ].join('\n'),
    );
    return verdict.pass ? 0 : 1;
  },
};

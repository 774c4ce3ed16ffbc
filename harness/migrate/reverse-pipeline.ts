/**
 * The reverse pipeline a cutover starts before it switches the application: a Debezium PostgreSQL source on the
 * target (streaming only, from a slot created now: snapshot.mode=no_data) and a JDBC sink into the source, so every
 * write the target takes after the switch reaches the old source, and a rollback loses none of them. Built from the
 * same connector templates as the forward pipeline with the two databases swapped; Connect reaches both through the
 * stack's proxies. The target must run wal_level=logical (checked first).
 */
import { randomBytes } from 'node:crypto';
import { HarnessError } from '../core/errors.js';
import { pollUntil } from '../core/poll.js';
import { connectorVariables, type PipelineNames } from '../env/connector-variables.js';
import type { StackEndpoints } from '../env/stack.js';
import type { ConnectClient } from '../pipeline/connect-client.js';
import { loadConnectorTemplate, type ConnectorDefinition } from '../pipeline/connector-config.js';
import { sinkGroupId, withAdmin } from '../pipeline/kafka-admin.js';
import type { SqlSession } from '../verify/reconcile/index.js';
import { applyConnectorFixes, type PipelineFixes } from './fixes.js';
import { tableRef } from './table-catalog.js';

export const REVERSE_SOURCE = 'reverse-postgres-source';
export const REVERSE_SINK = 'reverse-postgresql-sink';

export interface ReversePipeline {
  sourceName: string;
  sinkName: string;
  names: PipelineNames;
  dlqTopic: string;
  source: ConnectorDefinition;
  sink: ConnectorDefinition;
  /** Its publication on the target is created WITH (publish_via_partition_root = true) before the source starts. */
  publishViaPartitionRoot: boolean;
}

/** The endpoints with source and target swapped, as the connector templates see them. */
function swapped(endpoints: StackEndpoints): StackEndpoints {
  const { connectView: v } = endpoints;
  return { ...endpoints, source: endpoints.target, target: endpoints.source, connectView: { source: v.target, target: v.source, kafkaBootstrap: v.kafkaBootstrap } };
}

export function reversePipeline(endpoints: StackEndpoints, tables: string[], id = randomBytes(4).toString('hex'), fixes?: PipelineFixes): ReversePipeline {
  const names: PipelineNames = { tables, topicPrefix: `rh_rev_${id}`, slotName: `rh_rev_slot_${id}`, publicationName: `rh_rev_pub_${id}` };
  const variables = connectorVariables(swapped(endpoints), names);
  const source = loadConnectorTemplate('postgres-source', variables);
  const sink = loadConnectorTemplate('postgresql-sink', variables);
  const dlqTopic = `dlq-${REVERSE_SINK}`;
  // Only what the target takes from now on: the rows it has came from the source.
  Object.assign(source.config, { 'snapshot.mode': 'no_data' });
  Object.assign(sink.config, { 'errors.deadletterqueue.topic.name': dlqTopic });
  // The same schema from the other side: what the forward connectors needed (enum casts, triggers that must not fire
  // again, excluded generated columns), the reverse ones need as well.
  const fixed = applyConnectorFixes({ source, sink }, fixes);
  return { sourceName: REVERSE_SOURCE, sinkName: REVERSE_SINK, names, dlqTopic, source: { ...fixed.source, name: REVERSE_SOURCE }, sink: { ...fixed.sink, name: REVERSE_SINK }, publishViaPartitionRoot: fixes?.publishViaPartitionRoot ?? false };
}

/** Starts both connectors; returns once the slot on the target exists and is held by the source task. */
export async function startReversePipeline(reverse: ReversePipeline, connect: ConnectClient, target: SqlSession, limitMs: number): Promise<{ walLevel: string; slot: string; slotLsn: string }> {
  const [wal] = await target.query(`SELECT current_setting('wal_level') AS wal_level`);
  if (wal?.wal_level !== 'logical') throw new HarnessError(`the target runs wal_level=${wal?.wal_level}: a reverse pipeline needs wal_level=logical on the target (set it and restart the target before the cutover)`);
  if (reverse.publishViaPartitionRoot) {
    const tables = reverse.source.config['table.include.list']!.split(',').map((t) => (t.includes('.') ? t : `public.${t}`));
    await target.query(`DROP PUBLICATION IF EXISTS ${reverse.names.publicationName}`);
    await target.query(`CREATE PUBLICATION ${reverse.names.publicationName} FOR TABLE ${tables.map(tableRef).join(', ')} WITH (publish_via_partition_root = true)`);
  }
  await connect.putConnectorConfig(reverse.sourceName, reverse.source.config);
  const slot = reverse.names.slotName;
  const held = await pollUntil({ what: `replication slot ${slot} on the target to exist and be active`, limitMs, intervalMs: 100 }, async () => {
    const rows = await target.query(`SELECT active::text AS active, confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
    return { done: rows[0]?.active === 'true', seen: rows.length ? `active=${rows[0]!.active}` : 'no slot yet', value: rows[0]?.lsn ?? '' };
  });
  await connect.putConnectorConfig(reverse.sinkName, reverse.sink.config);
  return { walLevel: wal.wal_level, slot, slotLsn: held };
}

/** Deletes both connectors, the slot and publication on the target, the sink's group and the topics. Safe to repeat. */
export async function removeReversePipeline(reverse: ReversePipeline, connect: ConnectClient, target: SqlSession, kafkaBootstrap: string): Promise<void> {
  for (const name of [reverse.sinkName, reverse.sourceName]) await connect.deleteConnector(name).catch(() => undefined);
  const slot = reverse.names.slotName;
  await pollUntil({ what: `replication slot ${slot} on the target to be released`, limitMs: 30_000 }, async () => {
    const rows = await target.query('SELECT active::text AS active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    return { done: rows.length === 0 || rows[0]!.active === 'false', seen: `active=${rows[0]?.active}` };
  });
  await target.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  await target.query(`DROP PUBLICATION IF EXISTS ${reverse.names.publicationName}`);
  await withAdmin(kafkaBootstrap, async (admin) => {
    await admin.deleteGroups([sinkGroupId(reverse.sinkName)]).catch(() => undefined);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${reverse.names.topicPrefix}.`) || t === reverse.dlqTopic);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  });
}

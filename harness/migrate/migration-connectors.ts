/**
 * The Debezium PostgreSQL source and the JDBC sink of one migration, from the fixtures/connectors templates, filled
 * with the migration's recorded names (connectors, topic prefix, slot, publication) and the endpoints Connect uses.
 * The source also captures the heartbeat table (lag probes), the drain marker table (`cutover`) and the signal table
 * (`resync`, incremental snapshots); the sink skips the signal table's topic.
 */
import { connectorVariables, DEFAULT_PIPELINE, SINK_CONNECTOR, sourceConnectorName } from '../env/connector-variables.js';
import type { StackEndpoints } from '../env/stack.js';
import { loadConnectorTemplate, type ConnectorDefinition } from '../pipeline/connector-config.js';
import { DEFAULT_HEARTBEAT_TABLE } from '../verify/lag.js';
import type { MigrationPipeline } from './control-store.js';
import type { MigrateEndpoints } from './endpoints.js';
import { MARKER_TABLE } from './drain.js';
import { applyConnectorFixes } from './fixes.js';

export const SIGNAL_TABLE = 'runbook_harness_signal';
export const MIGRATE_SCHEMA = 'public';
/** The cutover's drain marker (harness/migrate/drain.ts): captured by the forward pipeline so a drain can be observed. */
export const MIGRATE_MARKER_TABLE = `${MIGRATE_SCHEMA}.${MARKER_TABLE}`;

/** The runbook's names (postgres-source, postgresql-sink, warehouse, debezium_warehouse, dbz_warehouse) unless overridden. */
export function defaultPipeline(overrides: Partial<MigrationPipeline> = {}): MigrationPipeline {
  return {
    sourceConnector: sourceConnectorName({ source: { dialect: 'postgres' } } as StackEndpoints),
    sinkConnector: SINK_CONNECTOR,
    topicPrefix: DEFAULT_PIPELINE.topicPrefix,
    slotName: DEFAULT_PIPELINE.slotName,
    publicationName: DEFAULT_PIPELINE.publicationName,
    signalTable: `${MIGRATE_SCHEMA}.${SIGNAL_TABLE}`,
    heartbeatTable: `${MIGRATE_SCHEMA}.${DEFAULT_HEARTBEAT_TABLE}`,
    schemas: [MIGRATE_SCHEMA],
    ...overrides,
  };
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function migrationConnectors(endpoints: MigrateEndpoints, pipeline: MigrationPipeline, tables: string[]): { source: ConnectorDefinition; sink: ConnectorDefinition } {
  const stackLike = {
    source: endpoints.source,
    target: endpoints.target,
    connectView: endpoints.connectView,
  } as unknown as StackEndpoints;
  const bare = (t: string) => t.slice(t.indexOf('.') + 1);
  const captured = [...tables, pipeline.heartbeatTable, MIGRATE_MARKER_TABLE, pipeline.signalTable];
  const variables = connectorVariables(stackLike, {
    tables: captured.map(bare),
    topicPrefix: pipeline.topicPrefix,
    slotName: pipeline.slotName,
    publicationName: pipeline.publicationName,
  });
  const source = loadConnectorTemplate(sourceConnectorName(stackLike), variables);
  const sink = loadConnectorTemplate(SINK_CONNECTOR, variables);
  source.name = pipeline.sourceConnector;
  sink.name = pipeline.sinkConnector;
  source.config['table.include.list'] = captured.join(',');
  source.config['signal.data.collection'] = pipeline.signalTable;
  const schema = escapeRegex(pipeline.schemas[0] ?? MIGRATE_SCHEMA);
  sink.config['topics.regex'] = `${escapeRegex(pipeline.topicPrefix)}\\.${schema}\\.(?!${escapeRegex(bare(pipeline.signalTable))}$).+`;
  sink.config['errors.deadletterqueue.topic.name'] = `dlq-${pipeline.sinkConnector}`;
  return applyConnectorFixes({ source, sink }, pipeline.fixes);
}

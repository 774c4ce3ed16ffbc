/**
 * Fills the connector templates from a stack's endpoints. Connect reaches the databases and Kafka
 * through the Toxiproxy hops (connectView), never directly.
 */
import type { StackEndpoints } from './stack.js';

export const TOPIC_PREFIX = 'warehouse';
export const SAMPLE_TABLES = ['customers', 'orders', 'products'] as const;

/** Connector name of the source for the stack's dialect. */
export function sourceConnectorName(endpoints: StackEndpoints): string {
  return endpoints.source.dialect === 'postgres' ? 'postgres-source' : 'sqlserver-source';
}

export const SINK_CONNECTOR = 'postgresql-sink';
export const DLQ_TOPIC = 'dlq-postgresql-sink';

/** Topic of a source table: <prefix>.<schema>.<table> (PostgreSQL) or <prefix>.<db>.<schema>.<table> (SQL Server). */
export function tableTopic(endpoints: StackEndpoints, table: string, topicPrefix = TOPIC_PREFIX): string {
  return endpoints.source.dialect === 'postgres' ? `${topicPrefix}.public.${table}` : `${topicPrefix}.${endpoints.source.database}.dbo.${table}`;
}

export interface PipelineNames {
  tables: readonly string[];
  topicPrefix: string;
  slotName: string;
  publicationName: string;
}

export const DEFAULT_PIPELINE: PipelineNames = { tables: SAMPLE_TABLES, topicPrefix: TOPIC_PREFIX, slotName: 'debezium_warehouse', publicationName: 'dbz_warehouse' };

export function connectorVariables(endpoints: StackEndpoints, names: Partial<PipelineNames> = {}): Record<string, string> {
  const { tables, topicPrefix, slotName, publicationName } = { ...DEFAULT_PIPELINE, ...names };
  const schema = endpoints.source.dialect === 'postgres' ? 'public' : 'dbo';
  const topicScope = endpoints.source.dialect === 'postgres' ? `${topicPrefix}\\.public` : `${topicPrefix}\\.${endpoints.source.database}\\.dbo`;
  return {
    SOURCE_HOST: endpoints.connectView.source.host,
    SOURCE_PORT: String(endpoints.connectView.source.port),
    SOURCE_USER: endpoints.source.user,
    SOURCE_PASSWORD: endpoints.source.password,
    SOURCE_DATABASE: endpoints.source.database,
    TARGET_HOST: endpoints.connectView.target.host,
    TARGET_PORT: String(endpoints.connectView.target.port),
    TARGET_USER: endpoints.target.user,
    TARGET_PASSWORD: endpoints.target.password,
    TARGET_DATABASE: endpoints.target.database,
    KAFKA_BOOTSTRAP: endpoints.connectView.kafkaBootstrap,
    TOPIC_PREFIX: topicPrefix,
    TABLE_INCLUDE_LIST: tables.map((t) => `${schema}.${t}`).join(','),
    TOPICS_REGEX: `${topicScope}\\..*`,
    SLOT_NAME: slotName,
    PUBLICATION_NAME: publicationName,
  };
}

/**
 * What `runbook-harness up` sets up unless --bare: the runbooks' sample tables in the source and the
 * default source and sink connectors, so a runbook can be rehearsed by hand at once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withPostgres } from '../db/postgres.js';
import { ConnectClient } from '../pipeline/connect-client.js';
import { loadConnectorTemplate, type ConnectorDefinition } from '../pipeline/connector-config.js';
import { connectorVariables, SINK_CONNECTOR, sourceConnectorName, type PipelineNames } from './connector-variables.js';
import type { StackEndpoints } from './stack.js';

const SEED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'seed');

export async function createSampleTables(endpoints: StackEndpoints): Promise<void> {
  if (endpoints.source.dialect !== 'postgres') {
    const { runSqlServerBatch } = await import('../db/sqlserver.js');
    await runSqlServerBatch(endpoints.source, readFileSync(path.join(SEED_DIR, 'sample-tables.sqlserver.sql'), 'utf8'));
    return;
  }
  const sql = readFileSync(path.join(SEED_DIR, 'sample-tables.postgres.sql'), 'utf8');
  await withPostgres(endpoints.source.url, (client) => client.query(sql));
}

export function defaultConnectors(endpoints: StackEndpoints, names: Partial<PipelineNames> = {}): { source: ConnectorDefinition; sink: ConnectorDefinition } {
  const variables = connectorVariables(endpoints, names);
  return {
    source: loadConnectorTemplate(sourceConnectorName(endpoints), variables),
    sink: loadConnectorTemplate(SINK_CONNECTOR, variables),
  };
}

/** Deploys (or updates) the default source and sink and waits until both run. */
export async function deployDefaultConnectors(endpoints: StackEndpoints, names: Partial<PipelineNames> = {}): Promise<void> {
  const connect = new ConnectClient(endpoints.connect.url);
  const { source, sink } = defaultConnectors(endpoints, names);
  await connect.putConnectorConfig(source.name, source.config);
  await connect.putConnectorConfig(sink.name, sink.config);
}

/** The migration's two connectors as Kafka Connect reports them (a missing one is 'MISSING', not an error). */
import { ConnectError, summariseState, type ConnectClient, type ConnectorStatus } from '../pipeline/connect-client.js';
import type { Migration } from './control-store.js';

export interface ConnectorView {
  name: string;
  role: 'source' | 'sink';
  state: string;
  tasks: string[];
  trace?: string;
  status?: ConnectorStatus;
}

export async function connectorViews(connect: ConnectClient, migration: Migration): Promise<ConnectorView[]> {
  const out: ConnectorView[] = [];
  for (const [role, name] of [['source', migration.pipeline.sourceConnector], ['sink', migration.pipeline.sinkConnector]] as const) {
    try {
      const status = await connect.getConnectorStatus(name);
      const trace = (status.connector.trace ?? status.tasks.find((t) => t.trace)?.trace)?.split('\n')[0];
      out.push({ name, role, state: summariseState(status), tasks: status.tasks.map((t) => t.state), ...(trace ? { trace } : {}), status });
    } catch (error) {
      if (error instanceof ConnectError && error.status === 404) out.push({ name, role, state: 'MISSING', tasks: [] });
      else throw error;
    }
  }
  return out;
}

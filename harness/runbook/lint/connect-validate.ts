/**
 * Connect-side validation: when a stack is up, each connector config goes through the worker's
 * `PUT /connector-plugins/{class}/config/validate`, with the stack's hosts and secrets filled in for the
 * `${...}` placeholders the harness knows. Errors on a value that still holds an unknown placeholder are notes.
 */
import { readStackState } from '../../env/state.js';
import { connectorVariables } from '../../env/connector-variables.js';
import { at, type Finding } from './finding.js';
import type { ConnectorConfig } from './lint-json.js';

export interface ConnectValidator {
  /** Connector classes the worker has installed. */
  installed: string[];
  sourceDialect: 'postgres' | 'sqlserver';
  validate(connectorClass: string, config: Record<string, string>): Promise<{ name: string; errors: string[] }[]>;
  placeholders: Record<string, string>;
}

interface ClientLike {
  getConnectorPlugins(): Promise<{ class: string; type: string }[]>;
  validateConfig(connectorClass: string, config: Record<string, string>): Promise<{ configs: { value: { name: string; errors: string[] } }[] }>;
}

/** undefined when no stack is up (lint then says the check was structural only). */
export async function connectValidator(): Promise<ConnectValidator | undefined> {
  const state = readStackState();
  if (!state) return undefined;
  const { ConnectClient } = await import('../../pipeline/connect-client.js');
  const client: ClientLike = new ConnectClient(state.endpoints.connect.url, { requestLimitMs: 60_000 });
  let plugins: { class: string; type: string }[];
  try {
    plugins = await client.getConnectorPlugins();
  } catch {
    return undefined; // a stale state file: the worker is gone
  }
  return {
    installed: plugins.map((p) => p.class),
    sourceDialect: state.endpoints.source.dialect,
    // The same variables `connector deploy` fills into fixtures/connectors templates.
    placeholders: connectorVariables(state.endpoints),
    async validate(connectorClass, config) {
      const result = await client.validateConfig(connectorClass, config);
      return result.configs.flatMap((c) => (c.value && c.value.errors?.length ? [{ name: c.value.name, errors: c.value.errors }] : []));
    },
  };
}

const ENVIRONMENT_KEYS = /^(database\.(hostname|port|user|password|dbname|names)|connection\.(url|username|password|user))$/;

const SOURCE_DIALECT_OF: Record<string, 'postgres' | 'sqlserver'> = {
  'io.debezium.connector.postgresql.PostgresConnector': 'postgres',
  'io.debezium.connector.sqlserver.SqlServerConnector': 'sqlserver',
};

export async function validateOnWorker(connector: ConnectorConfig, validator: ConnectValidator): Promise<Finding[]> {
  const { config, ctx, keyLine } = connector;
  const connectorClass = config['connector.class'];
  if (!validator.installed.includes(connectorClass)) return []; // already reported as not installed
  const dialect = SOURCE_DIALECT_OF[connectorClass];
  if (dialect && dialect !== validator.sourceDialect) {
    return [at(ctx, keyLine('connector.class'), 'info', 'connect-not-validated', `not validated by Connect: the running stack's source is ${validator.sourceDialect}, this connector reads ${dialect}`)];
  }
  // Connect requires a name even to validate; the runbook's own name when it gives one.
  const filled: Record<string, string> = { name: connector.name ?? 'runbook-lint' };
  const fromStack = new Set<string>();
  for (const [key, value] of Object.entries(config)) {
    filled[key] = value.replace(/\$\{([A-Z0-9_]+)\}/g, (m, name: string) => {
      if (!(name in validator.placeholders)) return m;
      fromStack.add(key);
      return validator.placeholders[name];
    });
  }
  let invalid: { name: string; errors: string[] }[];
  try {
    invalid = await validator.validate(connectorClass, filled);
  } catch (error) {
    return [at(ctx, keyLine('connector.class'), 'error', 'connect-validation', `Kafka Connect could not validate the config: ${(error as Error).message.split('\n')[0].slice(0, 200)}`)];
  }
  return invalid.flatMap(({ name, errors }) => {
    const unresolved = /\$\{|<[a-z]/i.test(filled[name] ?? '');
    // A host or credential of the author's own environment is not a defect of the runbook.
    const foreign = ENVIRONMENT_KEYS.test(name) && !fromStack.has(name);
    return errors.map((e) => {
      const said = e.split('\n')[0].slice(0, 200);
      if (unresolved) return at(ctx, keyLine(name), 'info', 'connect-not-validated', `'${name}' holds a placeholder the harness cannot fill; Connect said: ${said}`);
      if (foreign) return at(ctx, keyLine(name), 'info', 'connect-not-validated', `'${name}' names the author's environment, not this stack; Connect said: ${said}`);
      return at(ctx, keyLine(name), 'error', 'connect-validation', `Kafka Connect: '${name}': ${said}`);
    });
  });
}

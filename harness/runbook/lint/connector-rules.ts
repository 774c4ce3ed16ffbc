/**
 * What a connector config must look like on this stack: classes that are installed, and Debezium property names
 * that Debezium 2.0 renamed (the 1.x names are ignored by Debezium 3.x, so the setting silently disappears or a
 * required one is missing).
 */

/** Plugin classes the harness installs (harness/env/runtime/pom.xml); a running worker's list replaces this. */
export const INSTALLED_CONNECTOR_CLASSES = [
  'io.debezium.connector.postgresql.PostgresConnector',
  'io.debezium.connector.sqlserver.SqlServerConnector',
  'io.debezium.connector.jdbc.JdbcSinkConnector',
];

/** Suggested replacement for a class that is known but not installed. */
export const CLASS_REPLACEMENTS: Record<string, string> = {
  'io.confluent.connect.jdbc.JdbcSinkConnector': 'io.debezium.connector.jdbc.JdbcSinkConnector (insert.mode=upsert, primary.key.mode=record_key, delete.enabled=true, schema.evolution=basic)',
  'io.confluent.connect.jdbc.JdbcSourceConnector': 'a Debezium source connector',
};

interface Rename {
  /** Exact name, or a prefix when it ends with '.'. */
  old: string;
  replacement: (key: string) => string;
  /** Connector classes the rename applies to; all Debezium source connectors when absent. */
  classes?: string[];
}

const SQLSERVER = 'io.debezium.connector.sqlserver.SqlServerConnector';

const RENAMES: Rename[] = [
  { old: 'database.server.name', replacement: () => 'topic.prefix' },
  { old: 'database.history.', replacement: (k) => k.replace(/^database\.history\./, 'schema.history.internal.') },
  { old: 'database.history', replacement: () => 'schema.history.internal' },
  { old: 'database.dbname', replacement: () => 'database.names', classes: [SQLSERVER] },
  { old: 'table.whitelist', replacement: () => 'table.include.list' },
  { old: 'table.blacklist', replacement: () => 'table.exclude.list' },
  { old: 'column.whitelist', replacement: () => 'column.include.list' },
  { old: 'column.blacklist', replacement: () => 'column.exclude.list' },
  { old: 'schema.whitelist', replacement: () => 'schema.include.list' },
  { old: 'schema.blacklist', replacement: () => 'schema.exclude.list' },
  { old: 'database.whitelist', replacement: () => 'database.include.list' },
  { old: 'database.blacklist', replacement: () => 'database.exclude.list' },
];

function isDebeziumSource(connectorClass: string): boolean {
  return connectorClass.startsWith('io.debezium.connector.') && !connectorClass.startsWith('io.debezium.connector.jdbc.');
}

/** The Debezium 2+ name for a 1.x property of this connector class, or undefined when the name is current. */
export function renamedProperty(connectorClass: string, key: string): string | undefined {
  if (!isDebeziumSource(connectorClass)) return undefined;
  for (const rule of RENAMES) {
    const hit = rule.old.endsWith('.') ? key.startsWith(rule.old) : key === rule.old;
    if (hit && (!rule.classes || rule.classes.includes(connectorClass))) return rule.replacement(key);
  }
  return undefined;
}

/**
 * One Kafka Connect distributed worker with the Debezium plugins. It reaches Kafka only through
 * the Toxiproxy kafka hop; its REST API listens on 127.0.0.1.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Runtime } from '../runtime/provision.js';
import type { LaunchSpec } from './process-supervisor.js';
import { writeLog4jConfig } from './jvm-logging.js';

export interface ConnectSettings {
  dataDir: string;
  restPort: number;
  /** Bootstrap through the kafka proxy. */
  bootstrap: string;
}

export const CONNECT_HEAP = '-Xmx768m';
export const CONNECT_GROUP = 'runbook-harness-connect';

export function prepareConnect(runtime: Runtime, settings: ConnectSettings): LaunchSpec {
  const properties = path.join(settings.dataDir, 'connect.properties');
  writeFileSync(
    properties,
    [
      `bootstrap.servers=${settings.bootstrap}`,
      `group.id=${CONNECT_GROUP}`,
      'config.storage.topic=_connect-configs',
      'offset.storage.topic=_connect-offsets',
      'status.storage.topic=_connect-status',
      'config.storage.replication.factor=1',
      'offset.storage.replication.factor=1',
      'status.storage.replication.factor=1',
      'offset.storage.partitions=1',
      'status.storage.partitions=1',
      // JSON with schemas: the JDBC sink needs the schema to create and evolve tables.
      'key.converter=org.apache.kafka.connect.json.JsonConverter',
      'value.converter=org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable=true',
      'value.converter.schemas.enable=true',
      // Commit source offsets and sink positions every second: rehearsals measure lag in seconds.
      'offset.flush.interval.ms=1000',
      `listeners=http://127.0.0.1:${settings.restPort}`,
      'rest.advertised.host.name=127.0.0.1',
      `rest.advertised.port=${settings.restPort}`,
      `plugin.path=${runtime.pluginsDir}`,
      'plugin.discovery=service_load',
      // Sinks subscribe by topics.regex; a topic created after the sink started (a new table) is only
      // noticed at the next metadata refresh, 5 minutes by default.
      'consumer.metadata.max.age.ms=2000',
      // A lone worker: no need to wait for others to join a rebalance.
      'scheduled.rebalance.max.delay.ms=0',
      '',
    ].join('\n'),
  );
  const log4j = writeLog4jConfig(settings.dataDir, 'connect');
  return {
    command: runtime.java,
    args: [
      CONNECT_HEAP,
      '-XX:+UseSerialGC',
      `-Dlog4j2.configurationFile=${log4j}`,
      '-cp',
      runtime.classpath,
      'org.apache.kafka.connect.cli.ConnectDistributed',
      properties,
    ],
    cwd: settings.dataDir,
    logFile: path.join(settings.dataDir, 'connect.log'),
    healthAddress: `127.0.0.1:${settings.restPort}`,
  };
}

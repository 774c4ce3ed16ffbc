/**
 * A single-node Kafka in KRaft mode (broker + controller in one JVM) with two client listeners:
 * DIRECT for the harness's own admin and consumers, PROXIED advertised as the Toxiproxy address
 * so that Connect's every broker connection goes through the kafka hop.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { HarnessError } from '../../core/errors.js';
import { runCommandSync } from '../../core/subprocess.js';
import type { Runtime } from '../runtime/provision.js';
import type { LaunchSpec } from './process-supervisor.js';
import { writeLog4jConfig } from './jvm-logging.js';

export interface KafkaSettings {
  dataDir: string;
  directPort: number;
  proxiedPort: number;
  controllerPort: number;
  /** host:port of the Toxiproxy listener in front of proxiedPort. */
  proxiedAdvertised: string;
}

export const KAFKA_HEAP = '-Xmx512m';

export function prepareKafka(runtime: Runtime, settings: KafkaSettings): LaunchSpec {
  const dir = path.join(settings.dataDir, 'kafka');
  const properties = path.join(settings.dataDir, 'kafka.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${settings.controllerPort}`,
      `listeners=DIRECT://127.0.0.1:${settings.directPort},PROXIED://127.0.0.1:${settings.proxiedPort},CONTROLLER://127.0.0.1:${settings.controllerPort}`,
      `advertised.listeners=DIRECT://127.0.0.1:${settings.directPort},PROXIED://${settings.proxiedAdvertised}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=DIRECT',
      'listener.security.protocol.map=DIRECT:PLAINTEXT,PROXIED:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${dir}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      '',
    ].join('\n'),
  );
  const log4j = writeLog4jConfig(settings.dataDir, 'kafka');
  // A base64url id may start with '-', which the tool's parser would read as an option: pass it as --cluster-id=<id>.
  const clusterId = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url').slice(0, 22);
  try {
    runCommandSync(runtime.java, ['-cp', runtime.classpath, `-Dlog4j2.configurationFile=${log4j}`, 'kafka.tools.StorageTool', 'format', '--standalone', `--cluster-id=${clusterId}`, '-c', properties], { limitMs: 60_000 });
  } catch (error) {
    throw new HarnessError(`formatting Kafka storage in ${dir} failed: ${(error as Error).message}`, { cause: error });
  }
  return {
    command: runtime.java,
    args: [KAFKA_HEAP, '-XX:+UseSerialGC', `-Dlog4j2.configurationFile=${log4j}`, '-cp', runtime.classpath, 'kafka.Kafka', properties],
    cwd: settings.dataDir,
    logFile: path.join(settings.dataDir, 'kafka.log'),
    healthAddress: `127.0.0.1:${settings.directPort}`,
  };
}

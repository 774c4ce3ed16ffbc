/**
 * Consumer-group lag of a sink connector (group connect-<name>), through harness/pipeline/kafka-admin.ts.
 * The import is dynamic and guarded: verify/ keeps working (and says why) if that module is absent or fails.
 */
export interface ConsumerLag {
  connector: string;
  group: string;
  total: number;
  partitions: { topic: string; partition: number; lag: number }[];
}

type SinkConsumerLag = (bootstrap: string, connectorName: string) => Promise<{ total: number; partitions: { topic: string; partition: number; lag: number }[] }>;

export async function sinkConsumerLag(bootstrap: string, connector: string): Promise<ConsumerLag | { connector: string; group: string; error: string }> {
  const group = `connect-${connector}`;
  let fn: SinkConsumerLag | undefined;
  try {
    const modulePath = '../../pipeline/kafka-admin.js';
    fn = ((await import(modulePath)) as { sinkConsumerLag?: SinkConsumerLag }).sinkConsumerLag;
  } catch (error) {
    return { connector, group, error: `consumer lag unavailable: harness/pipeline/kafka-admin.ts could not be loaded (${(error as Error).message.split('\n')[0]})` };
  }
  if (typeof fn !== 'function') return { connector, group, error: 'consumer lag unavailable: harness/pipeline/kafka-admin.ts has no sinkConsumerLag export' };
  try {
    const lag = await fn(bootstrap, connector);
    return { connector, group, total: lag.total, partitions: lag.partitions };
  } catch (error) {
    return { connector, group, error: `consumer group ${group} at ${bootstrap}: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** Consumer-group lag of a sink connector (group connect-<name>), through harness/pipeline/kafka-admin.ts. */
import { sinkConsumerLag as adminSinkConsumerLag } from '../../pipeline/kafka-admin.js';

export interface ConsumerLag {
  connector: string;
  group: string;
  total: number;
  partitions: { topic: string; partition: number; lag: number }[];
}

/** Never throws: an unreachable broker or unknown group comes back as `error`, naming the group and the bootstrap. */
export async function sinkConsumerLag(bootstrap: string, connector: string): Promise<ConsumerLag | { connector: string; group: string; error: string }> {
  const group = `connect-${connector}`;
  try {
    const lag = await adminSinkConsumerLag(bootstrap, connector);
    return { connector, group, total: lag.total, partitions: lag.partitions };
  } catch (error) {
    return { connector, group, error: `consumer group ${group} at ${bootstrap}: ${(error as Error).message.split('\n')[0]}` };
  }
}

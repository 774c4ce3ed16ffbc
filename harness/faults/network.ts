/**
 * Network faults on one hop through Toxiproxy. inject* returns a Fault whose heal() removes exactly
 * what it added; healAll() is the rollback every scenario runs in teardown.
 */
import { Toxiproxy, type ICreateToxicBody } from 'toxiproxy-node-client';
import type { Hop } from '../env/stack.js';

export interface Fault {
  readonly description: string;
  heal(): Promise<void>;
}

type ToxicType = 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data';

export class NetworkFaults {
  private readonly toxiproxy: Toxiproxy;
  private counter = 0;

  constructor(url: string) {
    this.toxiproxy = new Toxiproxy(url);
  }

  /** Adds one toxic to a hop (downstream = towards Connect, upstream = towards the service). */
  async inject(hop: Hop, type: ToxicType, attributes: Record<string, number>, stream: 'upstream' | 'downstream' = 'downstream'): Promise<Fault> {
    const proxy = await this.toxiproxy.get(hop);
    const name = `${type}-${stream}-${++this.counter}`;
    const body = { name, type, stream, toxicity: 1, attributes } as unknown as ICreateToxicBody<unknown>;
    const toxic = await proxy.addToxic(body);
    return { description: `${type} ${JSON.stringify(attributes)} on ${hop} (${stream})`, heal: () => toxic.remove() };
  }

  /** Every byte towards Connect waits `ms` more. */
  latency(hop: Hop, ms: number, jitterMs = 0): Promise<Fault> {
    return this.inject(hop, 'latency', { latency: ms, jitter: jitterMs });
  }

  /** Caps throughput towards Connect at `kilobytesPerSecond`. */
  bandwidth(hop: Hop, kilobytesPerSecond: number): Promise<Fault> {
    return this.inject(hop, 'bandwidth', { rate: kilobytesPerSecond });
  }

  /** The hop refuses and drops connections until healed. */
  async cut(hop: Hop): Promise<Fault> {
    const proxy = await this.toxiproxy.get(hop);
    const { listen, upstream } = proxy;
    await proxy.update({ enabled: false, listen, upstream });
    return {
      description: `${hop} down`,
      heal: async () => {
        await (await this.toxiproxy.get(hop)).update({ enabled: true, listen, upstream });
      },
    };
  }

  /** Removes every toxic and re-enables every proxy. */
  async healAll(): Promise<void> {
    await this.toxiproxy.reset();
  }
}

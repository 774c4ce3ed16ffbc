/**
 * Watching the pipeline over time: a connector staying in (or reaching) a state, the sink's consumer-group lag rising
 * or sampled, task states sampled over a change, the flow in and out of the pipeline, and `lag --json` parsed.
 * These return observations; only scenarios assert.
 */
import { pollUntil, WaitTimeoutError } from '../core/poll.js';
import { type ConnectClient, type ConnectorStateName, type ConnectorStatus, summariseState } from '../pipeline/connect-client.js';

/**
 * Watches a connector for `windowMs`: `stayed` is true when its summarised state was `state` at every
 * poll; otherwise `left` is the first other state seen (the status at that moment in `status`).
 */
export async function watchState(connect: ConnectClient, name: string, state: ConnectorStateName, windowMs: number): Promise<{ stayed: boolean; left?: ConnectorStateName; polls: number; status: ConnectorStatus }> {
  let polls = 0;
  let status = await connect.getConnectorStatus(name);
  try {
    await pollUntil({ what: `connector ${name} to leave ${state}`, limitMs: windowMs, intervalMs: 500 }, async () => {
      status = await connect.getConnectorStatus(name);
      polls++;
      const now = summariseState(status);
      return { done: now !== state, seen: now, value: now };
    });
    return { stayed: false, left: summariseState(status), polls, status };
  } catch (error) {
    if (error instanceof WaitTimeoutError) return { stayed: true, polls, status };
    throw error;
  }
}

/** Polls until the connector's summarised state is `state`, without failing fast on FAILED. */
export async function awaitState(connect: ConnectClient, name: string, state: ConnectorStateName, limitMs: number): Promise<{ reached: boolean; status: ConnectorStatus; seconds: number }> {
  const started = Date.now();
  let status = await connect.getConnectorStatus(name);
  try {
    await pollUntil({ what: `connector ${name} to be ${state}`, limitMs, intervalMs: 250 }, async () => {
      status = await connect.getConnectorStatus(name);
      const now = summariseState(status);
      return { done: now === state, seen: `${now} (tasks ${status.tasks.map((t) => t.state).join(',')})` };
    });
    return { reached: true, status, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    if (error instanceof WaitTimeoutError) return { reached: false, status, seconds: (Date.now() - started) / 1000 };
    throw error;
  }
}

/** A task trace's first lines: what a runbook reader sees first in the status JSON. */
export function traceHead(status: ConnectorStatus, lines = 40): string {
  const trace = status.connector.trace ?? status.tasks.find((t) => t.trace)?.trace ?? '';
  return trace.split('\n').slice(0, lines).join('\n');
}

export interface ConsumerLagSample {
  /** Seconds since the sampler started. */
  t: number;
  /** Records the sink's consumer group has not committed yet (all partitions). */
  records: number;
}

/** Samples a consumer group's total lag every `intervalMs` in the background until stopped. */
export function startConsumerLagSampler(read: () => Promise<{ total: number }>, intervalMs = 1_000): { stop(): Promise<ConsumerLagSample[]> } {
  const samples: ConsumerLagSample[] = [];
  const started = Date.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const tick = Date.now();
      const lag = await read().catch(() => undefined);
      if (lag) samples.push({ t: Number(((tick - started) / 1000).toFixed(1)), records: lag.total });
      const wait = intervalMs - (Date.now() - tick);
      if (running && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

export interface FlowSample {
  /** Seconds since the window opened. */
  t: number;
  acknowledged: number;
  /** The topic's log-end offset (all partitions). */
  end: number;
  /** The sink group's committed offset on the topic (all partitions). */
  committed: number;
}

export interface FlowRates {
  seconds: number;
  /** Writes the source acknowledged per second (the application's own rate). */
  sourceWritesPerSecond: number;
  /** Change events the source connector added to the topic per second. */
  producedPerSecond: number;
  /** Events the sink committed (applied to the replica) per second. */
  appliedPerSecond: number;
  /** The topic's records the sink had not committed (log-end minus committed) when the window opened and closed. */
  backlogAtStart: number;
  backlogAtEnd: number;
  /** backlogAtEnd minus backlogAtStart: positive when the sink falls further behind. */
  backlogGrowth: number;
  /** One sample a second, for the evidence. */
  samples: FlowSample[];
}

/**
 * Measures, for up to `windowMs`, how changes enter and leave the pipeline for one table: the source's
 * acknowledged writes, the topic's end offset and the sink group's committed offset on that topic, sampled
 * every second. The sink commits a whole put() batch at once, so a rate over a few seconds says more about
 * when a batch landed than about the sink's pace; the backlog (log-end minus committed) over a window that
 * spans several batches does not. `enough`, when given, closes the window early once a sample settles the
 * question (the window's rates are then over the time actually sampled).
 */
export async function measureFlow(
  read: { acknowledged: () => number; partitions: () => Promise<{ topic: string; committed: number; end: number }[]> },
  topic: string,
  windowMs: number,
  enough?: (first: FlowSample, now: FlowSample) => boolean,
): Promise<FlowRates> {
  const opened = Date.now();
  const sample = async (): Promise<FlowSample> => {
    const parts = (await read.partitions()).filter((p) => p.topic === topic);
    return { t: Number(((Date.now() - opened) / 1000).toFixed(1)), acknowledged: read.acknowledged(), end: parts.reduce((s, p) => s + p.end, 0), committed: parts.reduce((s, p) => s + p.committed, 0) };
  };
  const samples = [await sample()];
  const first = samples[0]!;
  // The limit only guards against reads that hang; the window itself closes the poll.
  const last = await pollUntil({ what: `a ${windowMs / 1000} s window of ${topic}'s flow`, limitMs: windowMs * 2, intervalMs: 1_000 }, async () => {
    const now = await sample();
    samples.push(now);
    const done = (now.t - first.t) * 1000 >= windowMs || (enough?.(first, now) ?? false);
    return { done, seen: `${(now.t - first.t).toFixed(1)} s sampled, backlog ${now.end - now.committed}`, value: now };
  });
  const seconds = Number((last.t - first.t).toFixed(1));
  const rate = (a: number, b: number) => Number(((b - a) / seconds).toFixed(1));
  const backlogAtStart = first.end - first.committed;
  const backlogAtEnd = last.end - last.committed;
  return {
    seconds,
    sourceWritesPerSecond: rate(first.acknowledged, last.acknowledged),
    producedPerSecond: rate(first.end, last.end),
    appliedPerSecond: rate(first.committed, last.committed),
    backlogAtStart,
    backlogAtEnd,
    backlogGrowth: backlogAtEnd - backlogAtStart,
    samples,
  };
}

/** What one `runbook-harness lag --json` snapshot holds that scenarios assert on. */
export interface LagSnapshot {
  heartbeat: { lagSeconds?: number; timedOut?: boolean; skipped?: string };
  consumer: { group: string; total?: number; error?: string; partitions?: { topic: string; lag: number }[] };
  verdict?: { pass: boolean; measured: number; threshold: string };
}

/** The last JSON line `lag --json` printed, or undefined when it printed none. */
export function parseLagSnapshot(stdout: string): LagSnapshot | undefined {
  try {
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as LagSnapshot;
  } catch {
    return undefined;
  }
}

export interface LagSample extends Record<string, string | number> {
  atMs: number;
  lag: number;
}

/**
 * Samples `read()` (the sink's consumer-group lag) until it has risen `rises` times in a row, or the
 * limit passes; returns the samples and whether it kept rising.
 */
export async function watchLagRise(read: () => Promise<number>, rises: number, limitMs: number, intervalMs = 1_000): Promise<{ rising: boolean; samples: LagSample[] }> {
  const started = Date.now();
  const samples: LagSample[] = [];
  let streak = 0;
  try {
    await pollUntil({ what: `sink lag to rise ${rises} samples in a row`, limitMs, intervalMs }, async () => {
      const lag = await read();
      const previous = samples.at(-1);
      samples.push({ atMs: Date.now() - started, lag });
      streak = previous && lag > previous.lag ? streak + 1 : previous && lag === previous.lag ? streak : 0;
      return { done: streak >= rises, seen: `lag ${lag}, rising ${streak} samples in a row` };
    });
    return { rising: true, samples };
  } catch {
    return { rising: false, samples };
  }
}

/**
 * The runbook's `restart --include-tasks --only-failed` through the Connect client, which waits for RUNNING;
 * returns whether the sink ran again and its last status rather than throwing, so the scenario asserts.
 */
export async function restartFailedTasks(connect: ConnectClient, name: string): Promise<{ running: boolean; status: ConnectorStatus; error?: string }> {
  try {
    return { running: true, status: await connect.restartConnector(name, { includeTasks: true, onlyFailed: true }) };
  } catch (error) {
    return { running: false, status: await connect.getConnectorStatus(name), error: (error as Error).message };
  }
}

/**
 * Samples the sink's summarised state until stopped: the Downtime? observation (a task that leaves RUNNING stops
 * the pipeline). Status reads that fail are recorded as such.
 */
export function startStateSampler(connect: ConnectClient, connector: string, intervalMs = 500): { stop(): Promise<{ at: string; state: string }[]> } {
  const samples: { at: string; state: string }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const state = await connect.getConnectorStatus(connector).then(summariseState, (e: Error) => `error: ${e.message.split('\n')[0]}`);
      samples.push({ at: new Date().toISOString(), state });
      const wait = intervalMs - (Date.now() - started);
      if (wait > 0 && running) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** One snapshot of `runbook-harness lag` as it prints it without --json (what an operator watching `--watch` reads). */
export interface LagTextSnapshot {
  at: string;
  /** Heartbeat seconds, undefined when the heartbeat was skipped. */
  heartbeatSeconds?: number;
  /** The probe waited its --timeout out: the seconds are a lower bound. */
  heartbeatTimedOut: boolean;
  group?: string;
  /** Records the sink's consumer group is behind, undefined when it could not be read. */
  recordsBehind?: number;
}

/** The snapshots `runbook-harness lag [--watch]` printed in text form, in order. */
export function parseLagText(stdout: string): LagTextSnapshot[] {
  const snapshots: LagTextSnapshot[] = [];
  for (const line of stdout.split('\n')) {
    if (/^\d{4}-\d\d-\d\dT\S+Z$/.test(line.trim())) {
      snapshots.push({ at: line.trim(), heartbeatTimedOut: false });
      continue;
    }
    const current = snapshots.at(-1);
    if (!current) continue;
    const heartbeat = /^\s+heartbeat: (\d+(?:\.\d+)?) s( \(TIMED OUT)?/.exec(line);
    if (heartbeat) Object.assign(current, { heartbeatSeconds: Number(heartbeat[1]), heartbeatTimedOut: Boolean(heartbeat[2]) });
    const consumer = /^\s+consumer (\S+): (?:(\d+) records behind)?/.exec(line);
    if (consumer) Object.assign(current, { group: consumer[1], recordsBehind: consumer[2] === undefined ? undefined : Number(consumer[2]) });
  }
  return snapshots;
}

/** `runbook-harness kafka groups --group G` as printed: the total lag and one row per partition. */
export interface GroupReadout {
  group?: string;
  totalLag?: number;
  partitions: { topic: string; partition: number; committed: number; end: number; lag: number }[];
}

export function parseGroupReadout(stdout: string): GroupReadout {
  const head = /^GROUP (\S+)\s+TOTAL LAG (\d+)/m.exec(stdout);
  const partitions = stdout
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/))
    .filter((cells) => cells.length === 5 && cells.slice(1).every((c) => /^-?\d+$/.test(c)))
    .map(([topic, partition, committed, end, lag]) => ({ topic: topic!, partition: Number(partition), committed: Number(committed), end: Number(end), lag: Number(lag) }));
  return { group: head?.[1], totalLag: head ? Number(head[2]) : undefined, partitions };
}

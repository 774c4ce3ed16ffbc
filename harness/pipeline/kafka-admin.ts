/**
 * The harness's own Kafka access (direct listener, never through Toxiproxy): topics, the consumer-group
 * lag of a sink connector, and reading a topic such as the DLQ with its headers.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { pollUntil } from '../core/poll.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number;
  end: number;
  lag: number;
}

export interface GroupLag {
  group: string;
  total: number;
  partitions: PartitionLag[];
}

export interface TopicMessage {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/**
 * A read of a topic the broker does not have. Kept apart from "empty": a misspelt or never-created topic
 * must not pass for a topic with no messages (a DLQ check, a "no schema-change topic" check).
 */
export class MissingTopicError extends Error {
  constructor(readonly topic: string, readonly bootstrap: string) {
    super(`topic ${topic} does not exist on ${bootstrap} (list them with 'runbook-harness kafka topics')`);
    this.name = 'MissingTopicError';
  }
}

function client(bootstrap: string): Kafka {
  return new Kafka({ clientId: 'runbook-harness', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

export async function withAdmin<T>(bootstrap: string, body: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  try {
    return await body(admin);
  } finally {
    await admin.disconnect();
  }
}

export function listTopics(bootstrap: string): Promise<string[]> {
  return withAdmin(bootstrap, async (admin) => (await admin.listTopics()).sort());
}

/** Kafka Connect names a sink connector's consumer group connect-<name>. */
export function sinkGroupId(connectorName: string): string {
  return `connect-${connectorName}`;
}

/** Committed offset vs log end per partition of every topic the group has committed to. */
export async function consumerGroupLag(bootstrap: string, group: string): Promise<GroupLag> {
  return withAdmin(bootstrap, async (admin) => {
    const committed = await admin.fetchOffsets({ groupId: group });
    const partitions: PartitionLag[] = [];
    for (const { topic, partitions: parts } of committed) {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
      for (const p of parts) {
        const end = ends.get(p.partition) ?? 0;
        const done = Number(p.offset) < 0 ? 0 : Number(p.offset);
        partitions.push({ topic, partition: p.partition, committed: done, end, lag: Math.max(0, end - done) });
      }
    }
    return { group, total: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
  });
}

export async function sinkConsumerLag(bootstrap: string, connectorName: string): Promise<{ total: number; partitions: { topic: string; partition: number; lag: number }[] }> {
  return consumerGroupLag(bootstrap, sinkGroupId(connectorName));
}

/** Whether the broker has the topic (listing only: a metadata read could auto-create it). */
export function topicExists(bootstrap: string, topic: string): Promise<boolean> {
  return withAdmin(bootstrap, async (admin) => (await admin.listTopics()).includes(topic));
}

/** Number of messages in a topic (sum of end − start offsets); MissingTopicError when the topic does not exist. */
export async function topicMessageCount(bootstrap: string, topic: string): Promise<number> {
  return withAdmin(bootstrap, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) throw new MissingTopicError(topic, bootstrap);
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  });
}

/**
 * Reads a topic from the beginning with a throwaway group (deleted afterwards), until maxMessages
 * or until everything up to the end offsets seen at the start has been read, within limitMs.
 * MissingTopicError when the topic does not exist ([] means it exists and is empty).
 */
export async function readTopic(bootstrap: string, topic: string, options: { maxMessages?: number; limitMs?: number } = {}): Promise<TopicMessage[]> {
  const maxMessages = options.maxMessages ?? Number.MAX_SAFE_INTEGER;
  const limitMs = options.limitMs ?? 15_000;
  const kafka = client(bootstrap);
  const ends = await withAdmin(bootstrap, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }));
  });
  if (!ends) throw new MissingTopicError(topic, bootstrap);
  const expected = Math.min(maxMessages, ends.reduce((sum, p) => sum + p.high - p.low, 0));
  if (expected === 0) return [];
  const group = `runbook-harness-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId: group });
  const messages: TopicMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`waited ${limitMs / 1000}s reading ${topic}; read ${messages.length} of ${expected} messages`)),
        limitMs,
      );
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            if (messages.length >= expected) return;
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v ?? '');
            messages.push({ topic: t, partition, offset: message.offset, timestamp: message.timestamp, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
            if (messages.length >= expected) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await withAdmin(bootstrap, (admin) => admin.deleteGroups([group])).catch(() => undefined);
  }
  return messages;
}

export interface CaughtUp {
  caughtUp: boolean;
  seconds: number;
  /** The lag last read. */
  lag: GroupLag;
  /** Why it is not caught up, when it is not (the poll's last observation). */
  reason?: string;
}

/**
 * Waits until the group's committed offsets reach the log end on every partition of `topics` (each topic
 * must have a committed partition: a group that never committed has a total lag of 0 and proves nothing).
 * Offsets are committed every `offset.flush.interval.ms`, so a limit of a few intervals is needed. `stopIf` names a
 * state that makes waiting pointless (a FAILED sink task): the wait then ends at once with that reason.
 */
export async function awaitGroupCaughtUp(readLag: () => Promise<GroupLag>, topics: string[], limitMs: number, stopIf?: () => Promise<string | undefined>): Promise<CaughtUp> {
  if (topics.length === 0) throw new Error('awaitGroupCaughtUp needs the topics the group must have caught up on');
  const started = Date.now();
  let lag: GroupLag | undefined;
  const problem = (l: GroupLag): string | undefined => {
    const uncommitted = topics.filter((t) => !l.partitions.some((p) => p.topic === t));
    if (uncommitted.length) return `no committed offset on ${uncommitted.join(', ')}`;
    const behind = l.partitions.filter((p) => topics.includes(p.topic) && p.lag > 0);
    return behind.length ? behind.map((p) => `${p.topic}[${p.partition}] committed ${p.committed}, end ${p.end}`).join('; ') : undefined;
  };
  try {
    await pollUntil({ what: `the consumer group's committed offsets to reach the end of ${topics.join(', ')}`, limitMs, intervalMs: 250 }, async () => {
      lag = await readLag();
      const p = problem(lag);
      const fatal = p === undefined ? undefined : await stopIf?.();
      return { done: p === undefined, seen: p ?? 'caught up', ...(fatal ? { abort: new Error(`stopped waiting for the consumer group (${p}): ${fatal}`) } : {}) };
    });
    return { caughtUp: true, seconds: (Date.now() - started) / 1000, lag: lag! };
  } catch (error) {
    const last = lag ?? (await readLag());
    return { caughtUp: false, seconds: (Date.now() - started) / 1000, lag: last, reason: error instanceof Error ? error.message : String(error) };
  }
}

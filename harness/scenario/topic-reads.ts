/**
 * Kafka topics read as observations: DLQ records with their error headers, a table topic's change events, and a raw
 * record produced behind the pipeline's back.
 */
import { type TopicMessage } from '../pipeline/kafka-admin.js';

export interface KafkaReader {
  read(topic: string, options?: { maxMessages?: number; limitMs?: number }): Promise<TopicMessage[]>;
  count(topic: string): Promise<number>;
}

/** Limit for reading a whole topic (a table topic with a few thousand events, or the DLQ). */
const TOPIC_READ_LIMIT_MS = 30_000;

export interface DlqRecord {
  offset: string;
  key: string | null;
  originalTopic: string;
  exception: string;
  message: string;
}

/** The DLQ's messages with the `__connect.errors.*` headers that say why each one is there. */
export async function readDlq(kafka: KafkaReader, topic: string): Promise<DlqRecord[]> {
  const messages = await kafka.read(topic, { limitMs: TOPIC_READ_LIMIT_MS });
  return messages.map((m) => ({
    offset: m.offset,
    key: m.key,
    originalTopic: m.headers['__connect.errors.topic'] ?? '',
    exception: m.headers['__connect.errors.exception.class.name'] ?? '',
    message: (m.headers['__connect.errors.exception.message'] ?? '').slice(0, 500),
  }));
}

/** The key column's value of a Debezium JSON key (`{"schema":…,"payload":{"id":1}}`), or null. */
export function keyValue(key: string | null, column: string): number | null {
  if (!key) return null;
  try {
    const parsed = JSON.parse(key) as { payload?: Record<string, unknown> } & Record<string, unknown>;
    const value = (parsed.payload ?? parsed)[column];
    return value === undefined || value === null ? null : Number(value);
  } catch {
    return null;
  }
}

export interface TableEvent {
  offset: string;
  key: number | null;
  /** Debezium op: r (snapshot), c, u, d; 'tombstone' for a null value. */
  op: string;
  after: Record<string, unknown> | null;
}

/** Every event of a table topic, from the beginning, with its key and operation. */
export async function readTableEvents(kafka: KafkaReader, topic: string, keyColumn: string): Promise<TableEvent[]> {
  const messages = await kafka.read(topic, { limitMs: TOPIC_READ_LIMIT_MS });
  return messages.map((m) => {
    if (m.value === null) return { offset: m.offset, key: keyValue(m.key, keyColumn), op: 'tombstone', after: null };
    const value = JSON.parse(m.value) as { payload?: { op?: string; after?: Record<string, unknown> | null } };
    return { offset: m.offset, key: keyValue(m.key, keyColumn), op: value.payload?.op ?? '?', after: value.payload?.after ?? null };
  });
}

/** Writes one raw record to a topic on the direct listener (a record the pipeline did not produce). */
export async function produceRaw(bootstrap: string, topic: string, key: string, value: string): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const producer = new Kafka({ clientId: 'runbook-harness-scenario', brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key, value }] });
  } finally {
    await producer.disconnect();
  }
}

/** Key of a DLQ record: from the record key's payload, else from the value's before/after image. */
export function dlqRecordKey(message: TopicMessage, keyColumn: string): number | undefined {
  const fromJson = (text: string | null) => {
    if (!text) return undefined;
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const payload = (parsed.payload ?? parsed) as Record<string, unknown> | null;
      const direct = payload?.[keyColumn];
      if (direct !== undefined && direct !== null) return Number(direct);
      const image = (payload?.after ?? payload?.before) as Record<string, unknown> | undefined;
      return image?.[keyColumn] !== undefined ? Number(image[keyColumn]) : undefined;
    } catch {
      return undefined;
    }
  };
  return fromJson(message.key) ?? fromJson(message.value);
}

/** DLQ records whose original topic is `topic`. */
export function dlqOf(messages: TopicMessage[], topic: string): TopicMessage[] {
  return messages.filter((m) => m.headers['__connect.errors.topic'] === topic);
}

/**
 * Duplicated change events in a table's topic: Debezium events (JSON converter, with or without schemas) with the
 * same source position and key delivered more than once. The position is the PostgreSQL `lsn`, or SQL Server's
 * `commit_lsn`/`change_lsn`/`event_serial_no`; several rows may share one position (a snapshot, a multi-row insert),
 * never one key twice. Tombstones (null value) carry no position and are skipped.
 */
import type { TopicMessage } from '../pipeline/kafka-admin.js';

export interface DuplicatedEvent {
  /** The row key (a number when the key column holds an integer). */
  key: number | string;
  /** Where the source wrote it: `lsn=…` or `commit_lsn=…,change_lsn=…,event_serial_no=…`. */
  position: string;
  op: string;
  /** How many times it is in the topic (≥ 2), and where: `partition:offset`. */
  count: number;
  offsets: string[];
}

export interface TopicEvents {
  /** Change events read (tombstones and other messages not counted). */
  events: number;
  /** Messages that are neither a change event nor a tombstone (unparseable, no source position). */
  unreadable: number;
  duplicated: DuplicatedEvent[];
}

function parse(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Record<string, unknown> | null;
    // With schemas.enable=true the record is { schema, payload }.
    return value && typeof value === 'object' && 'payload' in value && 'schema' in value ? (value.payload as Record<string, unknown> | null) : value;
  } catch {
    return null;
  }
}

const POSITION_FIELDS = ['lsn', 'commit_lsn', 'change_lsn', 'event_serial_no'];

function positionOf(source: Record<string, unknown>): string | undefined {
  const parts = POSITION_FIELDS.filter((f) => source[f] !== undefined && source[f] !== null).map((f) => `${f}=${String(source[f])}`);
  return parts.length ? parts.join(',') : undefined;
}

export function findDuplicatedEvents(messages: TopicMessage[], keyColumn: string): TopicEvents {
  const seen = new Map<string, DuplicatedEvent>();
  let events = 0;
  let unreadable = 0;
  for (const message of messages) {
    if (message.value === null) continue; // tombstone after a delete
    const value = parse(message.value);
    const source = value?.source as Record<string, unknown> | undefined;
    const position = source && positionOf(source);
    const keyRecord = parse(message.key);
    if (!value || !position || !keyRecord) {
      unreadable++;
      continue;
    }
    events++;
    const raw = keyColumn in keyRecord ? keyRecord[keyColumn] : JSON.stringify(keyRecord);
    const key = typeof raw === 'number' ? raw : String(raw);
    const id = `${position}|${String(key)}`;
    const entry = seen.get(id) ?? { key, position, op: String(value.op ?? ''), count: 0, offsets: [] };
    entry.count++;
    entry.offsets.push(`${message.partition}:${message.offset}`);
    seen.set(id, entry);
  }
  return { events, unreadable, duplicated: [...seen.values()].filter((e) => e.count > 1) };
}

/** Duplicated Debezium change events in a planted topic (the JSON converter's format, with and without schemas). */
import { describe, expect, it } from 'vitest';
import type { TopicMessage } from '../../harness/pipeline/kafka-admin.js';
import { findDuplicatedEvents } from '../../harness/verify/history-topic.js';

let offset = 0;
function pgEvent(id: number, lsn: number, op = 'c', schemas = true): TopicMessage {
  const key = { id };
  const value = { before: null, after: { id, name: 'x' }, source: { connector: 'postgresql', lsn, txId: 7 }, op };
  const wrap = (payload: unknown) => JSON.stringify(schemas ? { schema: { type: 'struct' }, payload } : payload);
  return { topic: 'p.public.t', partition: 0, offset: String(offset++), timestamp: '0', key: wrap(key), value: wrap(value), headers: {} };
}

describe('duplicated change events', () => {
  it('finds the same LSN and key delivered twice, with its count and offsets', () => {
    offset = 0;
    const result = findDuplicatedEvents([pgEvent(1, 100), pgEvent(2, 200), pgEvent(1, 100), pgEvent(2, 300, 'u'), pgEvent(1, 100)], 'id');
    expect(result.events).toBe(5);
    expect(result.duplicated).toEqual([{ key: 1, position: 'lsn=100', op: 'c', count: 3, offsets: ['0:0', '0:2', '0:4'] }]);
  });

  it('does not count rows sharing one position (snapshot, multi-row insert) or tombstones', () => {
    offset = 0;
    const tombstone = { ...pgEvent(1, 100, 'd'), value: null };
    const result = findDuplicatedEvents([pgEvent(1, 100, 'r'), pgEvent(2, 100, 'r'), pgEvent(3, 100, 'r', false), tombstone, tombstone], 'id');
    expect(result).toEqual({ events: 3, unreadable: 0, duplicated: [] });
  });

  it('uses SQL Server positions (commit_lsn, change_lsn, event_serial_no) and counts what it cannot read', () => {
    const ss = (serial: number): TopicMessage => ({
      topic: 's.dbo.t', partition: 0, offset: String(serial), timestamp: '0', key: JSON.stringify({ id: 5 }), headers: {},
      value: JSON.stringify({ after: { id: 5 }, source: { commit_lsn: '0000002a:00000010:0003', change_lsn: '0000002a:00000010:0002', event_serial_no: serial }, op: 'u' }),
    });
    const junk: TopicMessage = { ...ss(9), value: 'not json' };
    const result = findDuplicatedEvents([ss(1), ss(2), ss(1), junk], 'id');
    expect(result.unreadable).toBe(1);
    expect(result.duplicated.map((d) => [d.key, d.position, d.count])).toEqual([[5, 'commit_lsn=0000002a:00000010:0003,change_lsn=0000002a:00000010:0002,event_serial_no=1', 2]]);
  });
});

/**
 * The history checker (in the manner of Jepsen's queue and Kafka checkers): from the writes a workload attempted,
 * with each one's outcome (acknowledged, failed, indeterminate), and what the target table holds (and, when asked,
 * the table's topic), a verdict per table. It never throws on a difference; it throws (HarnessError from the
 * session, or readTopic's error) only when the target or the topic cannot be read.
 *
 * Verdict (one per target table; checkHistories gives several and an overall pass):
 *   table, pass                  pass = no lost, no unexpected, no stale, and no duplicated when exactly-once is promised
 *   lost: number[]               keys whose last acknowledged write left a row, absent from the target
 *   unexpected: number[]         keys in the target inside the writers' key spaces (the keys they allocated) that no
 *                                write attempted
 *   stale: StaleKey[]            keys present with a final state no write explains: other values than the last
 *                                acknowledged write (`value`), still there after an acknowledged delete (`deleted`),
 *                                there although no write of them was acknowledged or indeterminate (`never-written`)
 *   duplicated: DuplicatedEvent[]  change events in the topic more than once (same source position and key), with
 *                                their count and offsets; they fail `pass` only under `exactlyOnce` (the stack's
 *                                Connect is at-least-once, where redelivery is reported, not failed)
 *   recovered: RecoveredKey[]    keys where an indeterminate write (its outcome unknown to the writer) shows: present
 *                                with the values it tried, or absent for a delete. An indeterminate write is never
 *                                lost: absent, it is simply not counted
 *   excused: number[]            keys left out by the caller (e.g. the runbook routes them to the DLQ)
 *   attemptedWrites / acknowledgedWrites / failedWrites / indeterminateWrites / keysChecked: counts
 *   comparedColumns              the columns compared (the written ones, narrowed by onlyColumns)
 *   topic                        { name, events, unreadable, exactlyOnce } when the topic was read, else null
 */
import { readTopic, type TopicMessage } from '../pipeline/kafka-admin.js';
import type { WorkloadHistory } from '../workload/writer.js';
import { judgeKeys, type RecoveredKey, type StaleKey, type TableWrites, type TargetRow } from './history-judge.js';
import { findDuplicatedEvents, type DuplicatedEvent } from './history-topic.js';
import type { SqlSession } from './reconcile/index.js';

export type { RecoveredKey, StaleKey } from './history-judge.js';
export type { DuplicatedEvent } from './history-topic.js';

export interface HistoryVerdict {
  table: string;
  pass: boolean;
  lost: number[];
  unexpected: number[];
  stale: StaleKey[];
  duplicated: DuplicatedEvent[];
  recovered: RecoveredKey[];
  excused: number[];
  attemptedWrites: number;
  acknowledgedWrites: number;
  failedWrites: number;
  indeterminateWrites: number;
  keysChecked: number;
  comparedColumns: string[];
  topic: { name: string; events: number; unreadable: number; exactlyOnce: boolean } | null;
}

/** The table's topic: read from Kafka (`bootstrap`), or messages already read. */
export type TopicSource = { name: string; exactlyOnce?: boolean; limitMs?: number } & ({ bootstrap: string } | { messages: TopicMessage[] });

export interface HistoryCheckOptions {
  targetTable?: string;
  /** Renamed columns: source name → target name. */
  columnMap?: Record<string, string>;
  /** Keys the runbook routes to the DLQ; the scenario must find them there. */
  excusedKeys?: number[];
  /**
   * Compare only these columns: the source's final columns, when a procedure's rollback dropped a column
   * the workload wrote (its values are gone by design; reconciliation covers the schemas).
   */
  onlyColumns?: string[];
  /** Also look for duplicated change events in the table's topic. */
  topic?: TopicSource;
}

export interface HistoriesVerdict {
  pass: boolean;
  tables: HistoryVerdict[];
}

const quote = (n: string) => `"${n.replace(/"/g, '""')}"`;

async function targetRows(target: SqlSession, table: string, keyColumn: string, columns: string[], writes: TableWrites): Promise<Map<number, TargetRow>> {
  const k = quote(keyColumn);
  const text = (c: string, as = c) => (target.dialect === 'postgres' ? `${quote(c)}::text AS ${quote(as)}` : `CAST(${quote(c)} AS nvarchar(max)) AS ${quote(as)}`);
  const select = `SELECT ${[text(keyColumn, 'k'), ...columns.map((c) => text(c))].join(', ')} FROM ${quote(table)} WHERE `;
  const rows = new Map<number, TargetRow>();
  const add = (found: TargetRow[]) => found.forEach(({ k: key, ...row }) => rows.set(Number(key), row));
  const spaces = writes.keySpaces.filter((s) => s.last >= s.first);
  for (const s of spaces) add(await target.query(`${select}${k} BETWEEN ${s.first} AND ${s.last}`));
  // Keys outside every key space (excused keys are looked up too, but not judged).
  const outside = [...new Set([...writes.attempts.map((a) => a.key), ...writes.finalState.keys()])].filter((key) => !spaces.some((s) => key >= s.first && key <= s.last));
  for (let i = 0; i < outside.length; i += 1000) add(await target.query(`${select}${k} IN (${outside.slice(i, i + 1000).join(',')})`));
  return rows;
}

/** Checks several workloads at once: one verdict per target table (writers of one table are judged together). */
export async function checkHistories(target: SqlSession, entries: ({ history: WorkloadHistory } & HistoryCheckOptions)[]): Promise<HistoriesVerdict> {
  const groups = new Map<string, typeof entries>();
  for (const entry of entries) {
    const table = entry.targetTable ?? entry.history.table;
    groups.set(table, [...(groups.get(table) ?? []), entry]);
  }
  const tables: HistoryVerdict[] = [];
  for (const [table, group] of groups) tables.push(await checkTable(target, table, group));
  return { pass: tables.every((t) => t.pass), tables };
}

export async function checkHistory(history: WorkloadHistory, target: SqlSession, options: HistoryCheckOptions = {}): Promise<HistoryVerdict> {
  return (await checkHistories(target, [{ history, ...options }])).tables[0]!;
}

async function checkTable(target: SqlSession, table: string, group: ({ history: WorkloadHistory } & HistoryCheckOptions)[]): Promise<HistoryVerdict> {
  const histories = group.map((g) => g.history);
  const map = Object.assign({}, ...group.map((g) => g.columnMap ?? {})) as Record<string, string>;
  const excused = new Set(group.flatMap((g) => g.excusedKeys ?? []));
  // Writers of one table are passed in the order they wrote: a later writer's state of a shared key wins.
  const finalState = new Map(histories.flatMap((h) => [...h.finalState]));
  const writes: TableWrites = { attempts: histories.flatMap((h) => h.attempts), finalState, keySpaces: histories.map((h) => h.keySpace), excused };
  const written = [...new Set([...finalState.values()].flatMap((row) => (row ? Object.keys(row) : [])))];
  const only = group.some((g) => g.onlyColumns) ? new Set(group.flatMap((g) => g.onlyColumns ?? [])) : undefined;
  const columns = only ? written.filter((c) => only.has(c)) : written;
  const keyColumn = histories[0]!.keyColumn;
  const judged = judgeKeys(writes, await targetRows(target, table, keyColumn, columns.map((c) => map[c] ?? c), writes), columns, map);
  const topicSource = group.find((g) => g.topic)?.topic;
  let topic: HistoryVerdict['topic'] = null;
  let duplicated: DuplicatedEvent[] = [];
  if (topicSource) {
    const messages = 'messages' in topicSource ? topicSource.messages : await readTopic(topicSource.bootstrap, topicSource.name, { limitMs: topicSource.limitMs ?? 60_000 });
    const events = findDuplicatedEvents(messages, keyColumn);
    duplicated = events.duplicated;
    topic = { name: topicSource.name, events: events.events, unreadable: events.unreadable, exactlyOnce: topicSource.exactlyOnce ?? false };
  }
  const attempts = writes.attempts;
  return {
    table,
    pass: judged.lost.length === 0 && judged.unexpected.length === 0 && judged.stale.length === 0 && !(topic?.exactlyOnce && duplicated.length > 0),
    lost: judged.lost,
    unexpected: judged.unexpected,
    stale: judged.stale,
    duplicated,
    recovered: judged.recovered,
    excused: [...excused],
    attemptedWrites: attempts.length,
    acknowledgedWrites: histories.reduce((n, h) => n + h.writes.length, 0),
    failedWrites: attempts.filter((a) => a.outcome === 'failed').length,
    indeterminateWrites: attempts.filter((a) => a.outcome === 'indeterminate').length,
    keysChecked: judged.keysChecked,
    comparedColumns: columns,
    topic,
  };
}


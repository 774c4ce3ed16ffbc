/**
 * Building blocks the schema-evolution Scenarios 2–7 share on top of kit.ts: the SQL of a section or step for the
 * dialect in use, the DLQ and a table topic read as observations, and the closing "nothing lost" check. Like
 * kit.ts these return what they saw; only scenarios assert.
 */
import { readFileSync } from 'node:fs';
import type { Claim } from '../runbook/claims.js';
import type { RunbookSection } from '../runbook/section.js';
import type { SourceDialect } from '../runbook/model.js';
import type { TopicMessage } from '../pipeline/kafka-admin.js';
import type { HistoryVerdict } from '../verify/history.js';
import type { WorkloadHistory } from '../workload/writer.js';

export interface KafkaReader {
  read(topic: string, options?: { maxMessages?: number; limitMs?: number }): Promise<TopicMessage[]>;
  count(topic: string): Promise<number>;
}

/** Limit for reading a whole topic (a table topic with a few thousand events, or the DLQ). */
const TOPIC_READ_LIMIT_MS = 30_000;

/** The SQL code blocks of a section (e.g. a Rollback without numbered steps), in document order, for one side. */
export function sectionSql(section: RunbookSection, side: 'source' | 'target', dialect: SourceDialect): string[] {
  return side === 'target' ? section.blocks({ lang: 'sql', side }).map((b) => b.value) : section.blocks({ lang: 'sql', side, dialect }).map((b) => b.value);
}

/** The SQL blocks of one numbered step for one side, in document order (a step may have several). */
export function stepBlocks(section: RunbookSection, n: number, side: 'source' | 'target', dialect: SourceDialect): string[] {
  return section
    .step(n)
    .codeBlocks.filter((b) => b.lang === 'sql' && b.side === side && (side === 'target' || b.dialect === dialect))
    .map((b) => b.value);
}

/** A sentence of a step's prose as a claim a scenario can assert (throws if the runbook no longer says it). */
export function proseClaim(section: RunbookSection, n: number, sentence: string): Claim {
  const step = section.step(n);
  const flat = step.text.replace(/\s+/g, ' ');
  if (!flat.includes(sentence)) throw new Error(`${section.file} [${section.id}] step ${n} no longer says "${sentence}"`);
  return { runbook: section.runbook, file: section.file, sectionId: section.id, sectionTitle: section.title, line: step.line, text: sentence };
}

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

/** A one-line summary of a history verdict for an assertion message. */
export function verdictSummary(verdict: HistoryVerdict): string {
  return JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) });
}

/**
 * A workload history seen through a rename: each key's final state is its last write (the workload writes every
 * column of its shape each time), with the old column's value under the new name when that write used the old name.
 * The no-loss check then asks: is every acknowledged value in the renamed column, whichever name it was written to?
 */
export function historyThroughRename(history: WorkloadHistory, from: string, to: string): WorkloadHistory {
  const finalState = new Map<number, Record<string, string> | null>();
  for (const write of history.writes) {
    if (write.row === null) {
      finalState.set(write.key, null);
      continue;
    }
    const { [from]: old, ...rest } = write.row;
    finalState.set(write.key, { ...rest, [to]: rest[to] ?? old! });
  }
  return { ...history, finalState };
}

/** The lines of a block that follow `-- <label>` up to the next `-- ` label line (rollbacks that list approaches). */
export function labelledSql(sql: string, label: string): string {
  const lines = sql.split('\n');
  const start = lines.findIndex((l) => l.trim() === `-- ${label}`);
  if (start < 0) throw new Error(`no '-- ${label}' in:\n${sql}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^\s*-- /.test(l));
  return rest.slice(0, end < 0 ? undefined : end).join('\n').trim();
}

/** A statement in a section's text (any line of it, bullets included) as a claim; throws if the runbook no longer says it. */
export function textClaim(section: RunbookSection, statement: string): Claim {
  const lines = readFileSync(section.file, 'utf8').split('\n');
  for (let i = section.line - 1; i < section.endLine; i++) {
    if (lines[i]!.includes(statement)) return { runbook: section.runbook, file: section.file, sectionId: section.id, sectionTitle: section.title, line: i + 1, text: statement };
  }
  throw new Error(`${section.file} [${section.id}] no longer says "${statement}"`);
}

/**
 * The ledger of harness-initiated actions (see findings.ts): one JSON line per finding, written by test
 * workers, cleared and summarized by the scenarios' globalSetup. No vitest or Allure imports here, so the
 * main process can read it.
 */
import { jsonlLedger } from '../core/jsonl-ledger.js';

export type FindingKind = 'restart' | 'retry' | 'repair';

export interface HarnessFinding {
  kind: FindingKind;
  /** Short and stable across tests, so the summary can group by it: "sink stalled after resume". */
  what: string;
  /** What was seen that made the harness act, and what it did. */
  detail: string;
  /** The test it happened in (vitest's full name), or '(outside a test)'. */
  test: string;
  at: string;
}

const ledger = jsonlLedger<HarnessFinding>('RUNBOOK_HARNESS_FINDINGS', 'harness-findings.jsonl', parseLine);

/** RUNBOOK_HARNESS_FINDINGS moves the ledger (two suites side by side); default under reports/. */
export const findingsLedgerPath = ledger.path;
export const clearFindings = ledger.clear;
export const appendFinding = ledger.append;

export function readFindings(file = findingsLedgerPath()): HarnessFinding[] {
  return ledger.read(file) ?? [];
}

/** A line cut short (a worker killed mid-write) stays visible in the summary instead of breaking it. */
function parseLine(line: string): HarnessFinding {
  try {
    return JSON.parse(line) as HarnessFinding;
  } catch {
    return { kind: 'repair', what: 'unreadable ledger line', detail: line.slice(0, 200), test: '(unreadable ledger line)', at: '' };
  }
}

/** One line per kind of finding: "harness-initiated restart: sink stalled after resume in 2 tests: a; b". */
export function summarizeFindings(findings: HarnessFinding[]): string[] {
  const groups = new Map<string, HarnessFinding[]>();
  for (const f of findings) {
    const key = `${f.kind}: ${f.what}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  if (groups.size === 0) return ['harness-initiated retries, restarts and repairs: none'];
  return [...groups].map(([key, list]) => {
    const tests = [...new Set(list.map((f) => f.test))];
    return `harness-initiated ${key} in ${tests.length} test${tests.length === 1 ? '' : 's'} (${list.length} time${list.length === 1 ? '' : 's'}): ${tests.join('; ')}`;
  });
}

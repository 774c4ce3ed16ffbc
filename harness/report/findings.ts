/**
 * Harness-initiated actions are findings, never hidden: a retry, restart or repair that the harness did on
 * its own (not a step the runbook prescribes) is attached to the test's evidence and appended to a ledger
 * that the run's summary prints at the end ("the sink stalled after resume in 2 tests: …").
 *
 * The ledger itself is findings-ledger.ts.
 */
import { expect } from 'vitest';
import { attachJson } from './step.js';
import { appendFinding, type FindingKind, type HarnessFinding } from './findings-ledger.js';
import { redact } from './secrets.js';

export { clearFindings, readFindings, summarizeFindings, type FindingKind, type HarnessFinding } from './findings-ledger.js';

/** Records what the harness did on its own: evidence in the current test, and a ledger line for the run summary. */
export async function recordFinding(kind: FindingKind, what: string, detail: string): Promise<HarnessFinding> {
  let test = '(outside a test)';
  try {
    test = expect.getState().currentTestName ?? test;
  } catch {
    // not inside a vitest test
  }
  const finding: HarnessFinding = { kind, what: redact(what), detail: redact(detail), test: redact(test), at: new Date().toISOString() };
  appendFinding(finding);
  await attachJson(`harness-initiated ${kind}: ${what}`, finding).catch(() => undefined);
  return finding;
}


/**
 * The run gate: after a scenario run, every tested section that is not pending must have had a test that RAN
 * (finished, passed or failed) — a `runbookSection()` call in a skipped test covers nothing. Reads the ledger the
 * run wrote (sections-ran.ts) against the static coverage report. `partial` (a filtered run, e.g. `rehearse
 * smoke`) judges only the sections whose test files were part of the run.
 */
import type { CoverageReport } from './coverage.js';
import type { Runbook } from './model.js';
import type { SectionRunEvent } from './sections-ran.js';

export interface SectionRunProblem {
  runbook: string;
  sectionId: string;
  reason: string;
}

export interface RunCoverage {
  /** Tested, non-pending sections the gate judged, and how many of them had a test that ran. */
  judged: number;
  ran: number;
  problems: SectionRunProblem[];
  ok: boolean;
}

export function coverageOfRun(report: CoverageReport, runbooks: Runbook[], events: SectionRunEvent[], options: { partial?: boolean } = {}): RunCoverage {
  // A test of a sub-section (a scenario's Procedure) runs its scenario: count events under their unit.
  const unitOf = new Map<string, string>();
  for (const r of runbooks) for (const s of r.sections) if (s.unitId) unitOf.set(`${r.name}#${s.id}`, `${r.name}#${s.unitId}`);
  const declared = new Map<string, Set<string>>();
  const ran = new Set<string>();
  for (const e of events) {
    const unit = unitOf.get(`${e.runbook}#${e.sectionId}`);
    if (!unit) continue;
    if (e.event === 'ran') ran.add(unit);
    else if (e.event === 'declared') declared.set(unit, (declared.get(unit) ?? new Set()).add(e.file));
  }
  const problems: SectionRunProblem[] = [];
  let judged = 0;
  let ranCount = 0;
  for (const r of report.runbooks) {
    for (const s of r.sections) {
      if (s.status !== 'covered') continue; // pending and gaps are the static gate's
      const unit = `${r.runbook}#${s.id}`;
      const files = declared.get(unit);
      if (options.partial && !files) continue;
      judged++;
      if (ran.has(unit)) {
        ranCount++;
        continue;
      }
      const reason = files
        ? `its tests were collected (${[...files].join(', ')}) but none of them ran: every one was skipped`
        : `no test of it was part of this run (named in ${[...new Set(s.tests.map((t) => t.file))].join(', ')})`;
      problems.push({ runbook: r.runbook, sectionId: s.id, reason });
    }
  }
  return { judged, ran: ranCount, problems, ok: problems.length === 0 };
}

export function formatRunCoverage(run: RunCoverage, ledger: string): string {
  const lines = run.problems.map((p) => `not run: ${p.runbook}#${p.sectionId}: ${p.reason}`);
  lines.push(
    run.ok
      ? `run coverage OK: ${run.ran} of ${run.judged} tested, non-pending sections had a test that ran (${ledger})`
      : `run coverage FAILED: ${run.problems.length} of ${run.judged} tested, non-pending sections had no test that ran (${ledger}); a section counts only when a test of it runs`,
  );
  return lines.join('\n');
}

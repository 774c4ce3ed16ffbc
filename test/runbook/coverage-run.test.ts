import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeCoverage, loadRunbooks } from '../../harness/runbook/coverage.js';
import { coverageOfRun, formatRunCoverage } from '../../harness/runbook/coverage-run.js';
import { readSectionsRan, type SectionRunEvent } from '../../harness/runbook/sections-ran.js';

const FIXTURES = 'test/runbook/fixtures/sections-ran';

/** Runs the fixture test files under vitest, as the scenarios project runs, and returns the ledger they wrote. */
function runFixtures(): SectionRunEvent[] {
  const ledger = path.join(mkdtempSync(path.join(tmpdir(), 'sections-ran-')), 'ledger.jsonl');
  const vitest = path.resolve('node_modules/vitest/vitest.mjs');
  const result = spawnSync(process.execPath, [vitest, 'run', '--root', FIXTURES, '--config', 'vitest.config.ts'], {
    env: { ...process.env, SECTIONS_RAN_FIXTURE_LEDGER: ledger, VITEST: undefined, VITEST_WORKER_ID: undefined, VITEST_POOL_ID: undefined },
    encoding: 'utf8',
  });
  expect(result.status, result.stdout + result.stderr).toBe(0);
  return readSectionsRan(ledger) ?? [];
}

describe('the section ledger a scenario run writes', () => {
  const events = runFixtures();

  it('records a section as run only by a test that ran, never by a skipped one', () => {
    const ran = events.filter((e) => e.event === 'ran').map((e) => `${e.sectionId} ${e.state} ${e.test}`);
    // The file-level call counts for each test of the file; a call inside a test counts for that test.
    expect(ran.sort()).toEqual([
      'scenario-1-add-nullable-column/procedure pass ran.fixture.ts > names another section while running',
      'scenario-1-add-nullable-column/procedure pass ran.fixture.ts > reads its step and runs',
      'scenario-3-drop-column run names another section while running',
    ]);
    expect(events.filter((e) => e.event === 'skipped').map((e) => e.test)).toEqual(['skipped.fixture.ts > skipped while running']);
    const declared = events.filter((e) => e.event === 'declared').map((e) => e.sectionId).sort();
    expect(declared).toEqual(['scenario-1-add-nullable-column/procedure', 'scenario-2-add-not-null-column-with-default', 'scenario-3-drop-column']);
  });

  it('the run gate names the section whose tests were all skipped, and passes the one that ran', () => {
    const report = computeCoverage();
    const run = coverageOfRun(report, loadRunbooks(), events, { partial: true });
    expect(run.judged).toBe(3);
    expect(run.ran).toBe(2);
    expect(run.problems.map((p) => p.sectionId)).toEqual(['scenario-2-add-not-null-column-with-default']);
    expect(run.problems[0].reason).toMatch(/collected \(.*skipped\.fixture\.ts\) but none of them ran: every one was skipped/);
    expect(formatRunCoverage(run, 'ledger')).toMatch(/run coverage FAILED: 1 of 3/);
  });
});

describe('the run gate over a whole run', () => {
  const report = computeCoverage();
  const runbooks = loadRunbooks();
  const covered = report.runbooks.flatMap((r) => r.sections.filter((s) => s.status === 'covered').map((s) => ({ runbook: r.runbook, id: s.id, file: s.tests[0].file })));
  const allRan: SectionRunEvent[] = covered.flatMap((c) => [
    { event: 'declared', runbook: c.runbook, sectionId: c.id, file: c.file },
    { event: 'ran', runbook: c.runbook, sectionId: c.id, file: c.file, test: 't', state: 'pass' },
  ]);

  it('passes when every covered section had a test that ran', () => {
    expect(covered.length).toBeGreaterThan(20);
    const run = coverageOfRun(report, runbooks, allRan);
    expect(run).toMatchObject({ ok: true, judged: covered.length, ran: covered.length });
  });

  it('fails on a covered section whose file was not in the run, unless the run is partial', () => {
    const missing = covered[0];
    const events = allRan.filter((e) => e.sectionId !== missing.id);
    const run = coverageOfRun(report, runbooks, events);
    expect(run.ok).toBe(false);
    expect(run.problems).toEqual([{ runbook: missing.runbook, sectionId: missing.id, reason: expect.stringMatching(/^no test of it was part of this run/) }]);
    expect(coverageOfRun(report, runbooks, events, { partial: true }).ok).toBe(true);
  });
});

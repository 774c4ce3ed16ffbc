import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeCoverage, formatCoverage, scanTestFile } from '../../harness/runbook/coverage.js';

const RUNBOOK = `# Demo

## Scenarios

### Scenario 1: One

#### Procedure

1. **Do**

   \`\`\`bash
   runbook-harness status
   \`\`\`

### Scenario 2: Two

Text only.

## Troubleshooting

### Issue: Broken

Text.
`;

function project(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'coverage-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

const test1 = `import { runbookSection } from '../../harness/runbook/section.js';\nconst s = runbookSection('demo', 'procedure');\ntest('one', () => {});\n`;

describe('coverage gate', () => {
  it('fails on a tested section with no test and no pending entry', () => {
    const report = computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': test1 }));
    expect(report.ok).toBe(false);
    const statuses = Object.fromEntries(report.runbooks[0].sections.map((s) => [s.id, s.status]));
    // A test naming a sub-section (Procedure) covers its scenario.
    expect(statuses).toEqual({ 'scenario-1-one': 'covered', 'scenario-2-two': 'gap', 'issue-broken': 'gap' });
    expect(formatCoverage(report)).toMatch(/coverage FAILED: 2 gaps/);
  });

  it('passes when the untested sections are pending, and prints them as pending', () => {
    const pending = JSON.stringify({ sections: { demo: ['scenario-2-two', 'issue-broken'] }, tests: [] });
    const report = computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': test1, 'runbooks/coverage-pending.json': pending }));
    expect(report.ok).toBe(true);
    expect(report.complete).toBe(false);
    expect(report.runbooks[0].counts).toEqual({ total: 3, covered: 1, pending: 2, gaps: 0 });
    const text = formatCoverage(report);
    expect(text).toMatch(/pending\s+scenario\s+scenario-2-two\s+\(0 tests\)/);
    // The count per runbook, and never "OK" while anything is pending.
    expect(text).toMatch(/^demo: 1 of 3 tested sections covered, 2 pending$/m);
    expect(text).not.toMatch(/coverage OK/);
    expect(text).toMatch(/^coverage INCOMPLETE: .* 2 of 3 tested sections have no test yet \(demo: 2\)/m);
  });

  it('says OK only when nothing is pending, and fails once the emptied list leaves a section without its test', () => {
    const pending = JSON.stringify({ sections: { demo: [] }, tests: [] });
    const all = `${test1}runbookSection('demo', 'scenario-2-two');\nrunbookSection('demo', 'issue-broken');\ntest('x', () => {});\n`;
    const complete = computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': all, 'runbooks/coverage-pending.json': pending }));
    expect(complete).toMatchObject({ ok: true, complete: true });
    expect(formatCoverage(complete)).toMatch(/^coverage OK: all 3 tested sections of 1 runbooks have a test; nothing pending$/m);
    // The test of Issue: Broken is deleted: a gap, not pending (the list stays empty).
    const lost = computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': all.replace("runbookSection('demo', 'issue-broken');\n", ''), 'runbooks/coverage-pending.json': pending }));
    expect(lost.ok).toBe(false);
    expect(formatCoverage(lost)).toMatch(/^demo: 2 of 3 tested sections covered, 0 pending, 1 GAP \(no test, not pending\)$/m);
    expect(formatCoverage(lost)).toMatch(/coverage FAILED: 1 gaps/);
  });

  it('counts nothing from a file whose every test is skipped', () => {
    const pending = JSON.stringify({ sections: { demo: ['scenario-2-two', 'issue-broken'] }, tests: [] });
    const skipped = `import { test } from 'vitest';\nconst s = runbookSection('demo', 'scenario-1-one');\ntest.skip('one', () => {});\nit.todo('two');\n// test('commented out', () => {});\n`;
    const report = computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': skipped, 'runbooks/coverage-pending.json': pending }));
    expect(report.runbooks[0].sections[0]).toMatchObject({ id: 'scenario-1-one', status: 'gap' });
    expect(report.skippedOnly.map((p) => `${p.file}:${p.line}`)).toEqual(['scenarios/demo/one.test.ts:2']);
    expect(report.ok).toBe(false);
    // A conditional skip (the SQL Server variants) is decided at run time: the run gate judges it.
    const conditional = skipped.replace("test.skip('one'", "test.skipIf(!variant.runs)('one'");
    expect(computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': conditional, 'runbooks/coverage-pending.json': pending })).ok).toBe(true);
  });

  it('asks for a test of a Scenario placed under a reference heading', () => {
    const withAppendix = `${RUNBOOK}\n## Appendix\n<!-- kind: reference -->\n\n### Scenario 8: Hidden\n\n1. **Run**\n\n   \`\`\`sql source=postgres\n   SELECT 1;\n   \`\`\`\n`;
    const pending = JSON.stringify({ sections: { demo: ['scenario-2-two', 'issue-broken'] }, tests: [] });
    const report = computeCoverage(project({ 'runbooks/demo.md': withAppendix, 'scenarios/demo/one.test.ts': test1, 'runbooks/coverage-pending.json': pending }));
    expect(report.runbooks[0].sections.find((s) => s.id === 'scenario-8-hidden')).toMatchObject({ kind: 'scenario', status: 'gap' });
    expect(report.ok).toBe(false);
  });

  it('fails on a dangling reference and on a pending entry that is not a tested section', () => {
    const dangling = `runbookSection('demo', 'scenario-3-three');\nrunbookSection('nope', 'x');\n`;
    const pending = JSON.stringify({ sections: { demo: ['scenario-2-two', 'issue-broken', 'scenarios'] }, tests: [] });
    const report = computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': test1 + dangling, 'runbooks/coverage-pending.json': pending }));
    expect(report.ok).toBe(false);
    expect(report.dangling.map((d) => `${d.file}:${d.line} ${d.reason}`)).toEqual([
      "scenarios/demo/one.test.ts:4 runbook 'demo' has no section 'scenario-3-three'",
      "scenarios/demo/one.test.ts:5 no runbook 'nope' (runbooks/nope.md)",
    ]);
    expect(report.errors.map((e) => e.reason)).toEqual(["pending list names 'demo#scenarios', which is not a tested section of that runbook"]);
  });

  it('reports a covered section left in the pending list as stale', () => {
    const pending = JSON.stringify({ sections: { demo: ['scenario-1-one', 'scenario-2-two', 'issue-broken'] }, tests: [] });
    const report = computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': test1, 'runbooks/coverage-pending.json': pending }));
    expect(report.runbooks[0].sections[0].status).toBe('covered');
    expect(report.stale.map((s) => s.reason)).toEqual(["'demo#scenario-1-one' is covered by scenarios/demo/one.test.ts; remove it from the pending list"]);
    // An error: the list shrinks when a test lands, so a later loss of that test is a gap.
    expect(report.ok).toBe(false);
    expect(formatCoverage(report)).toMatch(/coverage FAILED: .* 1 stale pending entries/);
  });

  it('stops with one file:line error on a malformed runbook or pending list', () => {
    expect(() => computeCoverage(project({ 'runbooks/demo.md': '# D\n\n## A\n\n## A\n' }))).toThrow(/^runbooks\/demo\.md:5: section id 'd\/a' is used twice/);
    expect(() => computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'runbooks/coverage-pending.json': '{ "sections": [] }' }))).toThrow(
      /^runbooks\/coverage-pending\.json: expected \{ "sections"/,
    );
  });

  it('lists a test under scenarios/<runbook>/ that names no section', () => {
    const pending = JSON.stringify({ sections: { demo: ['scenario-2-two', 'issue-broken'] }, tests: [] });
    const report = computeCoverage(
      project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': test1, 'scenarios/demo/loose.test.ts': 'test("x", () => {});\n', 'scenarios/smoke/s.test.ts': '', 'runbooks/coverage-pending.json': pending }),
    );
    expect(report.unlinked).toEqual(['scenarios/demo/loose.test.ts']);
    expect(report.ok).toBe(true);
  });

  it('reads only literal calls; anything else is a problem, not a silent miss', () => {
    const { refs, problems } = scanTestFile(`runbookSection("a", "b");\nrunbookSection(name, 'b');\nexport function runbookSection(runbook: string) {}\n`, 't.test.ts');
    expect(refs).toEqual([{ file: 't.test.ts', line: 1, runbook: 'a', sectionId: 'b', runnable: false }]);
    expect(problems.map((p) => p.line)).toEqual([2]);
  });
});

/**
 * The pending list may only shrink: this is its ceiling. A section added to a runbook lands with its test, and a
 * section that loses its test is a gap (exit 1), never parked here again. Remove entries as tests land; never add.
 */
const PENDING_CEILING: Record<string, string[]> = {
  'database-migration': [
    'migration-overview-dashboard', 'database-health-dashboard', 'initialize-migration-environment', 'configure-debezium-connector',
    'create-target-database', 'start-migration-initial-snapshot', 'monitor-replication-lag', 'validate-data-consistency',
    'pre-cutover-checklist', 'execute-cutover', 'post-cutover-validation', 'emergency-rollback', 'detection',
    'p0-debezium-connector-failed-during-cutover', 'p0-data-loss-detected', 'p1-high-replication-lag', 'p1-schema-mismatch-detected',
    'debezium-connector-issues', 'kafka-issues', 'database-replication-issues', 'issue-connector-stuck-in-failed-state',
    'issue-replication-slot-not-advancing', 'issue-data-inconsistency-between-source-and-target', 'pre-migration-backups',
    'continuous-backups-during-migration', 'recover-failed-migration', 'recover-from-kafka-data-loss', 'daily-tasks', 'weekly-tasks',
    'monthly-tasks',
  ],
  'schema-evolution': [],
};

describe('the project', () => {
  it('passes its own coverage gate, printing what is still pending per runbook', () => {
    const report = computeCoverage();
    expect(report.ok).toBe(true);
    const text = formatCoverage(report);
    for (const r of report.runbooks) {
      expect(text).toContain(`${r.runbook}: ${r.counts.covered} of ${r.counts.total} tested sections covered, ${r.counts.pending} pending`);
      expect(r.counts.total).toBeGreaterThan(20);
    }
    expect(text).toMatch(report.complete ? /coverage OK/ : /coverage INCOMPLETE/);
    expect(report.runbooks.map((r) => r.runbook).sort()).toEqual(['database-migration', 'schema-evolution']);
  });

  it('has a pending list that only shrinks', () => {
    const pending = JSON.parse(readFileSync(path.join('runbooks', 'coverage-pending.json'), 'utf8')) as { sections: Record<string, string[]> };
    for (const [runbook, ids] of Object.entries(pending.sections)) {
      const grown = ids.filter((id) => !(PENDING_CEILING[runbook] ?? []).includes(id));
      expect(grown, `${runbook}: entries added to the pending list; write their tests instead`).toEqual([]);
    }
  });
});

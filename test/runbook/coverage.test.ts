import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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

const test1 = `import { runbookSection } from '../../harness/runbook/section.js';\nconst s = runbookSection('demo', 'procedure');\n`;

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
    expect(report.runbooks[0].counts).toEqual({ total: 3, covered: 1, pending: 2, gaps: 0 });
    expect(formatCoverage(report)).toMatch(/pending\s+scenario\s+scenario-2-two\s+\(0 tests\)/);
  });

  it('fails on a dangling reference and on a pending entry that is not a tested section', () => {
    const dangling = `runbookSection('demo', 'scenario-3-three');\nrunbookSection('nope', 'x');\n`;
    const pending = JSON.stringify({ sections: { demo: ['scenario-2-two', 'issue-broken', 'scenarios'] }, tests: [] });
    const report = computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': test1 + dangling, 'runbooks/coverage-pending.json': pending }));
    expect(report.ok).toBe(false);
    expect(report.dangling.map((d) => `${d.file}:${d.line} ${d.reason}`)).toEqual([
      "scenarios/demo/one.test.ts:3 runbook 'demo' has no section 'scenario-3-three'",
      "scenarios/demo/one.test.ts:4 no runbook 'nope' (runbooks/nope.md)",
    ]);
    expect(report.errors.map((e) => e.reason)).toEqual(["pending list names 'demo#scenarios', which is not a tested section of that runbook"]);
  });

  it('reports a covered section left in the pending list as stale', () => {
    const pending = JSON.stringify({ sections: { demo: ['scenario-1-one', 'scenario-2-two', 'issue-broken'] }, tests: [] });
    const report = computeCoverage(project({ 'runbooks/demo.md': RUNBOOK, 'scenarios/demo/one.test.ts': test1, 'runbooks/coverage-pending.json': pending }));
    expect(report.runbooks[0].sections[0].status).toBe('covered');
    expect(report.stale.map((s) => s.reason)).toEqual(["'demo#scenario-1-one' is covered by scenarios/demo/one.test.ts; remove it from the pending list"]);
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
    expect(refs).toEqual([{ file: 't.test.ts', line: 1, runbook: 'a', sectionId: 'b' }]);
    expect(problems.map((p) => p.line)).toEqual([2]);
  });
});

describe('the project', () => {
  it('passes its own coverage gate (the pending list keeps it honest until the scenario tests land)', () => {
    const report = computeCoverage();
    expect(formatCoverage(report)).toMatch(/coverage OK/);
    expect(report.ok).toBe(true);
    const names = report.runbooks.map((r) => r.runbook).sort();
    expect(names).toEqual(['database-migration', 'schema-evolution']);
    for (const r of report.runbooks) expect(r.counts.total).toBeGreaterThan(20);
  });
});

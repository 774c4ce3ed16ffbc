import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommandSync } from '../../harness/core/subprocess.js';

function cli(...args: string[]) {
  const r = runCommandSync(process.execPath, ['bin/runbook-harness.js', ...args], { reject: false });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe('runbook-harness lint', () => {
  it('exits 1 on the original runbook and prints file:line, severity, section and reason', () => {
    const r = cli('lint', '--no-connect', 'test/runbook/fixtures/seed-database-migration.txt');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "test/runbook/fixtures/seed-database-migration.txt:112: error [configure-debezium-connector] 'database.server.name' is a Debezium 1.x name, ignored since 2.0; use 'topic.prefix' (debezium-1x-property)",
    );
    expect(r.stdout).toMatch(/2 error\(s\), 4 warning\(s\), \d+ note\(s\); 1 connector config\(s\), connector configs checked structurally only/);
  });

  it('prints findings as JSON', () => {
    const r = cli('lint', '--no-connect', '--json', 'test/runbook/fixtures/seed-database-migration.txt');
    const result = JSON.parse(r.stdout) as { findings: { line: number; rule: string }[]; counts: { errors: number }; validation: string };
    expect(result.counts.errors).toBe(2);
    expect(result.validation).toBe('structural');
    expect(result.findings.find((f) => f.rule === 'debezium-1x-property')?.line).toBe(112);
  });

  it('exits 0 on the project runbooks', () => {
    const r = cli('lint', '--no-connect', 'runbooks/schema-evolution.md', 'runbooks/database-migration.md');
    expect(r.stdout).toMatch(/2 file\(s\): 0 error\(s\), 0 warning\(s\)/);
    expect(r.code).toBe(0);
  });

  it('gives one line and exit 2 for a missing, unreadable or malformed runbook', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lint-'));
    const dup = path.join(dir, 'dup.md');
    writeFileSync(dup, '# T\n\n## Same\n\n## Same\n');
    const binary = path.join(dir, 'bin.md');
    writeFileSync(binary, Buffer.from([0x23, 0x20, 0x00, 0x01]));
    for (const [file, reason] of [
      [path.join(dir, 'missing.md'), /missing\.md: no such runbook/],
      [dir, /: is a directory, not a runbook/],
      [dup, /dup\.md:5: section id 't\/same' is used twice/],
      [binary, /bin\.md:1: binary file, not a markdown runbook/],
    ] as const) {
      const r = cli('lint', '--no-connect', file);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(reason);
    }
    expect(cli('lint').code).toBe(2);
  });
});

describe('runbook-harness coverage', () => {
  it('every tested section of both runbooks is covered and nothing is pending: coverage OK, exit 0', () => {
    const r = cli('coverage');
    // coverage-pending.json may only shrink, and it is empty: the project's runbooks stay complete from here on.
    const pending = JSON.parse(readFileSync('runbooks/coverage-pending.json', 'utf8')) as { sections: Record<string, string[]>; tests: string[] };
    expect(Object.values(pending.sections).flat()).toEqual([]);
    expect(pending.tests).toEqual([]);
    expect(r.stdout).toMatch(/^database-migration: (\d+) of \1 tested sections covered, 0 pending$/m);
    expect(r.stdout).toMatch(/^schema-evolution: (\d+) of \1 tested sections covered, 0 pending$/m);
    expect(r.stdout).not.toMatch(/^  pending /m);
    expect(r.stdout).toMatch(/^coverage OK: all \d+ tested sections of 2 runbooks have a test; nothing pending$/m);
    expect(r.code).toBe(0);
  });

  it('prints the map as JSON', () => {
    const report = JSON.parse(cli('coverage', '--json').stdout) as { ok: boolean; complete: boolean; runbooks: { runbook: string }[] };
    expect(report.ok).toBe(true);
    expect(report.complete).toBe(true);
    expect(report.runbooks.map((r) => r.runbook)).toEqual(['database-migration', 'schema-evolution']);
  });

  it('--ran: exit 1 when a covered section had no test that ran, naming the skipped-only one; exit 2 without a ledger', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cov-ran-'));
    const ledger = path.join(dir, 'ledger.jsonl');
    const file = 'scenarios/schema-evolution/scenario-1-add-nullable-column.test.ts';
    writeFileSync(ledger, JSON.stringify({ event: 'declared', runbook: 'schema-evolution', sectionId: 'scenario-1-add-nullable-column', file }) + '\n');
    const r = cli('coverage', '--ran', ledger, '--partial');
    expect(r.stdout).toContain(`not run: schema-evolution#scenario-1-add-nullable-column: its tests were collected (${file}) but none of them ran: every one was skipped`);
    expect(r.stdout).toMatch(/run coverage FAILED: 1 of 1 /);
    expect(r.code).toBe(1);
    writeFileSync(ledger, JSON.stringify({ event: 'ran', runbook: 'schema-evolution', sectionId: 'scenario-1-add-nullable-column/procedure', file, test: 't', state: 'pass' }) + '\n', { flag: 'a' });
    expect(cli('coverage', '--ran', ledger, '--partial').code).toBe(0);
    // A whole run judges every covered section: the other sections' tests never ran here.
    expect(cli('coverage', '--ran', ledger).code).toBe(1);
    const none = cli('coverage', '--ran', path.join(dir, 'absent.jsonl'));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no ledger at .*absent\.jsonl; it is written by a scenario run/);
    expect(cli('coverage', '--partial').code).toBe(2);
  });
});

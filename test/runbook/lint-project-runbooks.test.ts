import { describe, expect, it } from 'vitest';
import { lintFiles } from '../../harness/runbook/lint/lint-runbook.js';
import { formatFinding } from '../../harness/runbook/lint/finding.js';

// Structural lint (no Connect call): npm test must not depend on whether someone's stack is up.
describe('the project runbooks lint clean', () => {
  for (const file of ['runbooks/schema-evolution.md', 'runbooks/database-migration.md']) {
    it(file, async () => {
      const result = await lintFiles([file], { connect: false });
      const problems = result.findings.filter((f) => f.severity !== 'info').map(formatFinding);
      expect(problems).toEqual([]);
      // Notes are only the honest "not checked" kinds, never a hidden problem.
      const noteRules = new Set(result.findings.filter((f) => f.severity === 'info').map((f) => f.rule));
      expect([...noteRules].every((r) => r === 'sql-not-checked' || r === 'connect-not-validated')).toBe(true);
      expect(result.connectorConfigs).toBeGreaterThanOrEqual(2);
    });
  }
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintFiles } from '../../harness/runbook/lint/lint-runbook.js';
import { formatFinding } from '../../harness/runbook/lint/finding.js';

/** A copy of the project's runbook with one sqlserver block misspelt, as an author's typo would leave it. */
function misspeltCopy(): { file: string; line: number } {
  const text = readFileSync('runbooks/schema-evolution.md', 'utf8');
  const lines = text.split('\n');
  const fence = lines.findIndex((l) => /^\s*```sql source=sqlserver/.test(l));
  expect(fence).toBeGreaterThan(0);
  const indent = /^\s*/.exec(lines[fence])![0];
  lines.splice(fence + 1, 0, `${indent}ALTER TABLEE dbo.customers ADDD COLUMN nickname NVARCHAR(50) NULL;`);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'lint-tsql-')), 'schema-evolution.md');
  writeFileSync(file, lines.join('\n'));
  return { file, line: fence + 2 };
}

describe('T-SQL blocks of a runbook', () => {
  it('a misspelt T-SQL keyword in a sql source=sqlserver block is an error at its line', async () => {
    const { file, line } = misspeltCopy();
    const result = await lintFiles([file], { connect: false });
    const errors = result.findings.filter((f) => f.severity === 'error');
    expect(errors.map((f) => `${f.line} ${f.rule}`)).toEqual([`${line} sql-syntax`]);
    expect(formatFinding(errors[0])).toMatch(/T-SQL \(ANTLR grammars-v4 TSqlParser\): syntax error near 'TABLEE'/);
  });

  // SQL Server cannot run on this machine (no SQL Server binaries for the embedded stack, no container runtime in
  // the default environment): this runs in container mode, where RUNBOOK_HARNESS_SQLSERVER_URL points at one.
  it.skipIf(!process.env.RUNBOOK_HARNESS_SQLSERVER_URL)('SQL Server itself (SET PARSEONLY ON) reports the misspelling too', async () => {
    const url = new URL(process.env.RUNBOOK_HARNESS_SQLSERVER_URL!);
    const sqlServer = { host: url.hostname, port: Number(url.port || 1433), database: url.pathname.slice(1) || 'master', user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
    const { file, line } = misspeltCopy();
    const result = await lintFiles([file], { connect: false, sqlServer });
    const server = result.findings.filter((f) => f.severity === 'error' && f.message.includes('SET PARSEONLY ON'));
    expect(server.map((f) => f.line)).toEqual([line]);
    const clean = await lintFiles(['runbooks/schema-evolution.md', 'runbooks/database-migration.md'], { connect: false, sqlServer });
    expect(clean.findings.filter((f) => f.severity === 'error').map(formatFinding)).toEqual([]);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decisionMatrix, decisionRow } from '../../harness/runbook/decision-matrix.js';
import { assertSlo, sloTable, sloTarget, sloVerdict } from '../../harness/runbook/slo.js';
import { assertClaim, ClaimViolation } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';

/** A copy of a project runbook with one edit, to show that the runbook text drives the expectations. */
function editedCopy(name: string, from: string, to: string): string {
  const text = readFileSync(`runbooks/${name}.md`, 'utf8');
  expect(text).toContain(from);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'runbook-')), `${name}.md`);
  writeFileSync(file, text.replace(from, to));
  return file;
}

describe('decision matrix', () => {
  it('reads Auto-Handled? per source dialect and Downtime? as typed values', () => {
    const row = decisionRow('schema-evolution', 'ADD COLUMN (nullable)');
    expect(row.autoHandled).toEqual({ postgres: 'yes', sqlserver: 'no' });
    expect(row.downtime).toBe(false);
    expect(decisionRow('schema-evolution', 'ALTER TYPE (incompatible)').downtime).toBe(true);
    expect(decisionMatrix('schema-evolution')).toHaveLength(11);
  });

  it('follows an edit of the runbook', () => {
    const file = editedCopy('schema-evolution', '| ADD COLUMN (nullable) | ✅ Yes | ❌ No |', '| ADD COLUMN (nullable) | ✅ Yes | ✅ Yes |');
    expect(decisionRow(file, 'ADD COLUMN (nullable)').autoHandled.sqlserver).toBe('yes');
  });

  it('reads the single Auto-Handled? column of the original document for both dialects', () => {
    const row = decisionRow('test/runbook/fixtures/seed-schema-evolution.txt', 'ADD COLUMN (nullable)');
    expect(row.autoHandled).toEqual({ postgres: 'yes', sqlserver: 'yes' });
  });

  it('fails a contradicted claim with the file, section, claim and observation', () => {
    const claim = decisionRow('schema-evolution', 'ADD COLUMN (nullable)').autoHandledClaim('sqlserver');
    expect(() => assertClaim(claim, false, 'the column reached warehouse_target without a new capture instance')).toThrow(ClaimViolation);
    expect(() => assertClaim(claim, false, 'x')).toThrow(
      /^runbooks\/schema-evolution\.md:\d+ \[schema-change-decision-matrix\] claims "ADD COLUMN \(nullable\): Auto-Handled\? \(SQL Server source\) = no"; observed: x/,
    );
    expect(assertClaim(claim, true, 'column absent after 30 s').holds).toBe(true);
  });
});

describe('SLO table', () => {
  it('reads every target as a comparator and a value in seconds or percent', () => {
    const slos = Object.fromEntries(sloTable('database-migration').map((t) => [t.metric, [t.comparator, t.value, t.unit]]));
    expect(slos).toEqual({
      'Migration downtime': ['<=', 0, 'seconds'],
      'Data replication lag': ['<', 5, 'seconds'],
      'Migration success rate': ['>=', 99, 'percent'],
      'Cutover time': ['<', 300, 'seconds'],
      'Data consistency validation': ['>=', 100, 'percent'],
      'Rollback time (RTO)': ['<', 120, 'seconds'],
    });
  });

  it('judges an observation against the target, and follows an edit of the runbook', () => {
    const lag = sloTarget('database-migration', 'Data replication lag');
    expect(sloVerdict(lag, 4.9).holds).toBe(true);
    expect(sloVerdict(lag, 5).holds).toBe(false);
    expect(() => assertSlo(lag, 7.5, 'p95 over 60 s')).toThrow(
      /^runbooks\/database-migration\.md:\d+ \[slos-slis\] claims "Data replication lag: < 5 seconds"; observed: 7\.5s \(p95 over 60 s\)/,
    );
    const file = editedCopy('database-migration', '| < 5 seconds |', '| < 10 seconds |');
    expect(sloVerdict(sloTarget(file, 'Data replication lag'), 7.5).holds).toBe(true);
  });
});

describe('runbookSection', () => {
  it('returns the section with its steps and the SQL of a step per side and dialect', () => {
    const section = runbookSection('schema-evolution', 'scenario-1-add-nullable-column');
    expect(section.kind).toBe('scenario');
    expect(section.step(1).title).toBe('Execute DDL on the Source');
    expect(section.stepSql(1, { side: 'source', dialect: 'postgres' })).toMatch(/^ALTER TABLE public\.customers\s+ADD COLUMN email_secondary VARCHAR\(255\) NULL;$/);
    expect(section.stepSql(1, { side: 'source', dialect: 'sqlserver' })).toContain('ALTER TABLE dbo.customers');
    expect(section.stepSql(4, { side: 'target' })).toContain('WHERE customer_id = 999999');
    expect(section.field('Downtime').value).toBe('None');
    const step4 = section.stepBlocks(4, { lang: 'sql', side: 'source', dialect: 'postgres' });
    expect(step4.map((b) => b.value.split(' ')[0])).toEqual(['INSERT', 'DELETE']);
    expect(section.stepBlocks(5, { lang: 'bash' })).toHaveLength(1);
  });

  it('throws clearly for a missing section, a missing step, and a step number two sub-sections share', () => {
    expect(() => runbookSection('schema-evolution', 'scenario-9-nothing')).toThrow(/has no section 'scenario-9-nothing'/);
    expect(() => runbookSection('schema-evolution', 'scenario-3-drop-column').step(9)).toThrow(/\[scenario-3-drop-column\] has no step 9/);
    expect(() => runbookSection('schema-evolution', 'scenario-4-rename-column').step(1)).toThrow(/step 1 exists in approach-a-zero-downtime-recommended and approach-b-maintenance-window/);
    // A Procedure sub-section wins over other sub-sections' steps (e.g. a numbered Rollback).
    expect(runbookSection('schema-evolution', 'scenario-3-drop-column').step(1).title).toBe('Verify Column is Safe to Drop');
    expect(() => runbookSection('schema-evolution', 'scenario-1-add-nullable-column').stepSql(2, { side: 'target' })).toThrow(/step 2 \('Monitor Schema Change Event'\) has no `sql target` block/);
  });
});

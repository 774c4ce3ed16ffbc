import { describe, expect, test } from 'vitest';
import { changeLogClaim } from '../../harness/runbook/change-log.js';

describe('changeLogClaim', () => {
  test("a row's 'This runbook does' cell becomes a claim with the row's line and section", () => {
    const claim = changeLogClaim('schema-evolution', 4);
    expect(claim.file).toMatch(/runbooks\/schema-evolution\.md$/);
    expect(claim.sectionTitle).toMatch(/change log/i);
    expect(claim.text).toMatch(/^Change Log #4 \(Scenario 4: Rename Column\): Drain the sink to zero lag first/);
    expect(claim.row['#']).toBe('4');
    expect(claim.line).toBeGreaterThan(1);
  });

  test('one statement of the row, and a row that no longer says it fails loudly', () => {
    const claim = changeLogClaim('schema-evolution', 4, 'Drain the sink to zero lag first, or queued events re-add the old column');
    expect(claim.text).toBe('Change Log #4 (Scenario 4: Rename Column): Drain the sink to zero lag first, or queued events re-add the old column');
    expect(() => changeLogClaim('schema-evolution', 4, 'Renaming needs no drain')).toThrow(/Change Log row 4 no longer says "Renaming needs no drain"/);
    expect(() => changeLogClaim('schema-evolution', 9999)).toThrow(/the Change Log has no row 9999/);
  });
});

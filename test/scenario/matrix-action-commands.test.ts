/** The commands the decision-matrix scenario runs for a row are the runbook's, in the runbook's order. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { actionCommands } from '../../harness/scenario/decision-matrix-experiments.js';

describe('actionCommands', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'matrix-commands-'));
  const file = path.join(dir, 'runbook.md');
  writeFileSync(
    file,
    [
      '| Change Type | Action Required |',
      '|---|---|',
      '| X | Widen it, `psql "$TARGET_URL" -c "ALTER TABLE <table_name> ALTER COLUMN <column> TYPE <new_type>"`, then `runbook-harness connector restart postgresql-sink --include-tasks --only-failed` |',
      '| Y | Use `message.key.columns` (Scenario 6) |',
    ].join('\n'),
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the psql and runbook-harness spans of the row, in order', () => {
    expect(actionCommands({ line: 3 }, file)).toEqual([
      'psql "$TARGET_URL" -c "ALTER TABLE <table_name> ALTER COLUMN <column> TYPE <new_type>"',
      'runbook-harness connector restart postgresql-sink --include-tasks --only-failed',
    ]);
  });

  it('leaves out names and settings in backticks', () => {
    expect(actionCommands({ line: 4 }, file)).toEqual([]);
  });
});

import { describe, expect, test } from 'vitest';
import { statementsWithExpected } from '../../harness/scenario/runbook-blocks.js';

describe('statementsWithExpected', () => {
  test('a statement and the Expected comment after it', () => {
    const block = `-- No application sessions left\nSELECT count(*) FROM pg_stat_activity\nWHERE datname = 'x';\n-- Expected: 0\n`;
    expect(statementsWithExpected(block)).toEqual([{ sql: "SELECT count(*) FROM pg_stat_activity\nWHERE datname = 'x'", expected: '0' }]);
  });
  test('each Expected belongs to the statement before it; a statement without one has none', () => {
    expect(statementsWithExpected('SELECT 1;\n-- Expected: 1\nSELECT 2;\nSELECT 3;\n-- Expected: three rows')).toEqual([
      { sql: 'SELECT 1', expected: '1' },
      { sql: 'SELECT 2', expected: undefined },
      { sql: 'SELECT 3', expected: 'three rows' },
    ]);
  });
});

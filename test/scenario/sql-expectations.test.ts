/**
 * sql-expectations.ts: the `-- Expected:` lines of a runbook SQL block paired with their statements, and compared
 * with rows (plain data: the scenarios run the SQL on a real source).
 */
import { describe, expect, it } from 'vitest';
import { compareExpectation, sqlExpectations } from '../../harness/scenario/sql-expectations.js';

describe('sqlExpectations', () => {
  it('pairs each Expected line with the statement before it', () => {
    expect(sqlExpectations('SHOW wal_level;\n-- Expected: logical\n')).toEqual([{ sql: 'SHOW wal_level', expected: 'logical' }]);
    const block = "SELECT name, is_cdc_enabled FROM sys.databases WHERE name = 'w';\n-- Expected: is_cdc_enabled = 1\nEXEC sys.sp_cdc_help_jobs;";
    expect(sqlExpectations(block)).toEqual([{ sql: "SELECT name, is_cdc_enabled FROM sys.databases WHERE name = 'w'", expected: 'is_cdc_enabled = 1' }]);
    expect(sqlExpectations('SELECT 1;\nSELECT 2;')).toEqual([]);
  });
});

describe('compareExpectation', () => {
  it('a bare value is the first column of the first row', () => {
    expect(compareExpectation([{ wal_level: 'logical' }], 'logical')).toEqual({ pass: true, expected: 'logical', seen: 'logical' });
    expect(compareExpectation([{ wal_level: 'replica' }], 'logical')).toMatchObject({ pass: false, seen: 'replica' });
    expect(compareExpectation([], 'logical')).toMatchObject({ pass: false, seen: 'no rows' });
  });
  it('column = value holds on every row, and never on none', () => {
    expect(compareExpectation([{ is_cdc_enabled: '1' }], 'is_cdc_enabled = 1')).toMatchObject({ pass: true });
    expect(compareExpectation([{ is_cdc_enabled: '1' }, { is_cdc_enabled: '0' }], 'is_cdc_enabled = 1')).toMatchObject({ pass: false, seen: 'is_cdc_enabled = 1, 0' });
    expect(compareExpectation([], 'is_cdc_enabled = 1')).toMatchObject({ pass: false, seen: 'no rows' });
    expect(compareExpectation([{ other: '1' }], 'is_cdc_enabled = 1')).toMatchObject({ pass: false });
  });
});

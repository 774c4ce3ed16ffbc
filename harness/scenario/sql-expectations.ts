/**
 * The `-- Expected: …` comments of a runbook SQL block, paired with the statement before them, and compared with
 * what the statement returned. Two forms: a bare value (`-- Expected: logical`: the first column of the first row)
 * and `column = value` (`-- Expected: is_cdc_enabled = 1`: that column of every row). Returns verdicts; only
 * scenarios assert.
 */
import { splitSql } from '../runbook/lint/sql-split.js';
import { type SqlRow } from '../verify/reconcile/sql-session.js';

export interface SqlExpectation {
  /** The statement the comment follows. */
  sql: string;
  expected: string;
}

/** Each statement of the block followed (before the next statement) by an `-- Expected:` line, with that expectation. */
export function sqlExpectations(block: string): SqlExpectation[] {
  const statements = splitSql(block);
  const lines = block.split('\n');
  const out: SqlExpectation[] = [];
  for (const [i, statement] of statements.entries()) {
    const until = i + 1 < statements.length ? statements[i + 1]!.line : lines.length;
    const comment = lines.slice(statement.line, until).map((l) => /^\s*--\s*Expected:\s*(.+?)\s*$/.exec(l)?.[1]).find((e) => e !== undefined);
    if (comment !== undefined) out.push({ sql: statement.text, expected: comment });
  }
  return out;
}

export interface ExpectationVerdict {
  pass: boolean;
  expected: string;
  /** What the rows showed, in the expectation's terms. */
  seen: string;
}

/** Compares a statement's rows with its `Expected:` text. */
export function compareExpectation(rows: SqlRow[], expected: string): ExpectationVerdict {
  const pair = /^(\w+)\s*=\s*(.+)$/.exec(expected);
  if (pair) {
    const [, column, value] = pair as unknown as [string, string, string];
    const values = rows.map((r) => (column in r ? String(r[column]) : `(no column ${column})`));
    return { pass: values.length > 0 && values.every((v) => v === value), expected, seen: values.length ? `${column} = ${values.join(', ')}` : 'no rows' };
  }
  const first = rows[0] ? Object.values(rows[0])[0] : undefined;
  const seen = first === undefined ? 'no rows' : String(first);
  return { pass: seen === expected, expected, seen };
}

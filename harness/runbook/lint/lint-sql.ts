/**
 * SQL blocks, per dialect, each with its own real grammar, so a failure is an error with its line:
 * PostgreSQL (source=postgres, target) with libpg-query, PostgreSQL's own parser; T-SQL (source=sqlserver) with the
 * ANTLR grammars-v4 T-SQL grammar (tsql-grammar.ts), and, when a SQL Server is reachable, with SQL Server's own
 * `SET PARSEONLY ON` (tsql-parseonly.ts). Untagged blocks (the user's originals mix dialects) pass a statement
 * that either grammar accepts.
 */
import { loadModule, parseSync } from 'libpg-query';
import { at, type BlockContext, type Finding } from './finding.js';
import { replacePlaceholders } from './placeholders.js';
import { splitSql, stripSqlComments } from './sql-split.js';
import { tsqlSyntaxErrors } from './tsql-grammar.js';
import type { SourceDialect } from '../model.js';

let pgReady: Promise<void> | undefined;

function pgError(statement: string): string | undefined {
  try {
    parseSync(statement);
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

/**
 * Valid T-SQL the grammars-v4 T-SQL grammar in antlr4ts-sql has no rule for (it has GRANT but not DENY or REVOKE,
 * and no TABLESAMPLE or temporal FOR SYSTEM_TIME). Such statements are blanked before parsing, keeping line
 * numbers, and reported as not checked by the grammar; SQL Server's own parser, where reachable, still checks them.
 */
const TSQL_GRAMMAR_GAPS = /^(deny|revoke)\b|\b(tablesample|for\s+system_time)\b/i;

function blankGrammarGaps(sql: string, ctx: BlockContext, findings: Finding[]): string {
  let out = sql;
  for (const statement of splitSql(sql)) {
    const code = stripSqlComments(statement.text).trim();
    const gap = TSQL_GRAMMAR_GAPS.exec(code);
    if (!gap) continue;
    const what = (gap[1] ?? gap[2]).toUpperCase().replace(/\s+/g, ' ');
    findings.push(at(ctx, statement.line, 'info', 'sql-not-checked', `T-SQL ${what}: the ANTLR T-SQL grammar has no rule for it; not checked by the grammar`));
    const start = out.indexOf(statement.text);
    out = out.slice(0, start) + statement.text.replace(/[^\n]/g, ' ') + out.slice(start + statement.text.length);
  }
  return out;
}

/** A T-SQL script's own checker: SQL Server's parser, where one is reachable (container mode). */
export type TsqlServerCheck = (script: string) => Promise<{ line: number; message: string }[]>;

export async function lintSql(value: string, dialect: SourceDialect | undefined, ctx: BlockContext, server?: TsqlServerCheck): Promise<Finding[]> {
  pgReady ??= loadModule();
  await pgReady;
  const findings: Finding[] = [];
  const lines = value.split('\n');
  // psql meta-commands are client commands, not SQL: blank them (keeping line numbers) and say so.
  const sql = replacePlaceholders(
    lines
      .map((line, i) => {
        if (!/^\s*\\/.test(line)) return line;
        findings.push(at(ctx, i, 'info', 'sql-not-checked', `psql meta-command '${line.trim()}' is not SQL; not checked`));
        return '';
      })
      .join('\n'),
  );

  if (dialect === 'sqlserver') {
    // The whole block is one script (GO separates batches), so a BEGIN … END block is parsed as one.
    // After the first error in a statement, ANTLR's recovery reports follow-on errors that say nothing new.
    const starts = splitSql(sql).map((st) => st.line);
    const reported = new Set<number>();
    for (const e of tsqlSyntaxErrors(blankGrammarGaps(sql, ctx, findings))) {
      const statement = starts.filter((line) => line <= e.line - 1).pop() ?? 0;
      if (reported.has(statement)) continue;
      reported.add(statement);
      findings.push(at(ctx, e.line - 1, 'error', 'sql-syntax', `T-SQL (ANTLR grammars-v4 TSqlParser): ${e.message}`));
    }
    if (server) {
      for (const e of await server(sql)) findings.push(at(ctx, e.line - 1, 'error', 'sql-syntax', `T-SQL (SQL Server SET PARSEONLY ON): ${e.message}`));
    }
    return findings;
  }

  for (const statement of splitSql(sql)) {
    const code = stripSqlComments(statement.text).trim();
    const keyword = /^[A-Za-z]+/.exec(code)?.[0];
    if (!keyword) {
      findings.push(at(ctx, statement.line, 'error', 'sql-syntax', `not a SQL statement: '${code.split('\n')[0].slice(0, 60)}'`));
      continue;
    }
    const pErr = pgError(statement.text);
    if (dialect === 'postgres') {
      if (pErr) findings.push(at(ctx, statement.line, 'error', 'sql-syntax', `PostgreSQL (libpg-query): ${pErr}`));
      continue;
    }
    if (!pErr) continue;
    const tErr = tsqlSyntaxErrors(statement.text)[0];
    if (!tErr) continue;
    findings.push(
      at(ctx, statement.line + tErr.line - 1, 'error', 'sql-syntax', `${keyword.toUpperCase()}: neither PostgreSQL (libpg-query: ${pErr}) nor T-SQL (ANTLR TSqlParser: ${tErr.message}) accepts it`),
    );
  }
  return findings;
}

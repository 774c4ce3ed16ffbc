/**
 * SQL blocks, per dialect. PostgreSQL (source=postgres, target) is parsed with libpg-query, PostgreSQL's own
 * parser, so a failure is an error. T-SQL (source=sqlserver) is parsed with node-sql-parser's TransactSQL mode,
 * which lacks many valid constructs: a statement it rejects is reported "not checked", unless no parser accepts it
 * and it is plain DML (SELECT/INSERT/UPDATE/DELETE), where both grammars agree. Untagged blocks (the user's
 * originals mix dialects) pass if either parser accepts a statement.
 */
import { loadModule, parseSync } from 'libpg-query';
import sqlParser from 'node-sql-parser';
import { at, type BlockContext, type Finding } from './finding.js';
import { replacePlaceholders } from './placeholders.js';
import { splitSql, stripSqlComments } from './sql-split.js';
import type { SourceDialect } from '../model.js';

let pgReady: Promise<void> | undefined;
const tsql = new sqlParser.Parser();

function pgError(statement: string): string | undefined {
  try {
    parseSync(statement);
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

function tsqlError(statement: string): string | undefined {
  try {
    tsql.astify(statement, { database: 'TransactSQL' });
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0].slice(0, 120);
  }
}

const DML = /^(select|insert|update|delete|with)\b/i;
/** Valid T-SQL that node-sql-parser lacks and PostgreSQL does not have: such a statement is never judged. */
const TSQL_ONLY = /\b(tablesample|pivot|unpivot|option\s*\(|for\s+(xml|browse|system_time)|openquery|openrowset|opendatasource|containstable|freetexttable|contains\s*\(|freetext\s*\(|collate|at\s+time\s+zone|with\s+ties|top\s*\(?\s*\d+\s*\)?\s*percent)\b/i;

export async function lintSql(value: string, dialect: SourceDialect | undefined, ctx: BlockContext): Promise<Finding[]> {
  pgReady ??= loadModule();
  await pgReady;
  const findings: Finding[] = [];
  const lines = value.split('\n');
  // psql meta-commands are client commands, not SQL: blank them (keeping line numbers) and say so.
  const sql = lines
    .map((line, i) => {
      if (!/^\s*\\/.test(line)) return line;
      findings.push(at(ctx, i, 'info', 'sql-not-checked', `psql meta-command '${line.trim()}' is not SQL; not checked`));
      return '';
    })
    .join('\n');

  for (const statement of splitSql(replacePlaceholders(sql))) {
    const code = stripSqlComments(statement.text).trim();
    const keyword = /^[A-Za-z]+/.exec(code)?.[0];
    if (!keyword) {
      findings.push(at(ctx, statement.line, 'error', 'sql-syntax', `not a SQL statement: '${code.split('\n')[0].slice(0, 60)}'`));
      continue;
    }
    if (dialect === 'postgres') {
      const err = pgError(statement.text);
      if (err) findings.push(at(ctx, statement.line, 'error', 'sql-syntax', `PostgreSQL (libpg-query): ${err}`));
      continue;
    }
    const tErr = tsqlError(statement.text);
    if (!tErr) continue;
    const pErr = pgError(statement.text);
    if (!pErr) {
      if (dialect === 'sqlserver') {
        findings.push(at(ctx, statement.line, 'info', 'sql-not-checked', `T-SQL ${keyword.toUpperCase()}: node-sql-parser (TransactSQL) cannot parse it; not checked`));
      }
      continue;
    }
    if (DML.test(code) && !TSQL_ONLY.test(code)) {
      const which = dialect === 'sqlserver' ? 'T-SQL' : 'SQL';
      findings.push(at(ctx, statement.line, 'error', 'sql-syntax', `${which} ${keyword.toUpperCase()} rejected by node-sql-parser (TransactSQL) and libpg-query: ${pErr}`));
    } else {
      findings.push(at(ctx, statement.line, 'info', 'sql-not-checked', `${keyword.toUpperCase()} statement: no available parser accepts it (node-sql-parser TransactSQL lacks many constructs); not checked`));
    }
  }
  return findings;
}

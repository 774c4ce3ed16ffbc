/**
 * Splits a SQL block into statements with their 0-based starting line, honouring quotes, comments, dollar
 * quoting, T-SQL brackets and `GO` batch separators. A lexer, not a parser: the parsers judge each statement.
 */
export interface SqlStatement {
  text: string;
  /** Line offset (0-based, inside the block) of the statement's first non-blank, non-comment character. */
  line: number;
}

export function splitSql(sql: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const text = sql.slice(start, end);
    if (stripSqlComments(text).trim()) {
      const lead = text.length - text.trimStart().length;
      let offset = start + lead;
      // Report the line where the code starts, not a leading comment line.
      const firstCode = /^(?:\s*(?:--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/.exec(text.slice(lead));
      if (firstCode) offset += firstCode[0].length;
      out.push({ text: text.trim(), line: sql.slice(0, offset).split('\n').length - 1 });
    }
    start = end + 1;
  };
  while (i < sql.length) {
    const c = sql[i];
    const rest = sql.slice(i);
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'" || c === '"' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === close && sql[j + 1] === close && close !== ']') j += 2;
        else if (sql[j] === close) break;
        else j++;
      }
      i = j + 1;
    } else if (c === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(rest);
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? sql.length : end + tag[0].length;
      } else i++;
    } else if (c === ';') {
      push(i);
      i++;
    } else if ((i === 0 || sql[i - 1] === '\n') && /^[ \t]*GO[ \t]*(?:\n|$)/i.test(rest)) {
      const nl = sql.indexOf('\n', i);
      const end = nl < 0 ? sql.length : nl;
      push(i);
      start = end;
      i = end;
    } else i++;
  }
  push(sql.length);
  return out;
}

export function stripSqlComments(text: string): string {
  return text.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}

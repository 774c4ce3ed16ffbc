/**
 * T-SQL syntax check with the ANTLR grammars-v4 T-SQL grammar, as generated and published in the antlr4ts-sql
 * package (its lexer upper-cases input through CaseChangingStream, so keywords match in any case). Only the T-SQL
 * lexer and parser are loaded: the package's index also builds MySQL, PL/SQL and PL/pgSQL parsers.
 * antlr4ts is CommonJS with circular imports between its index and its modules: require the modules themselves.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface TsqlSyntaxError {
  /** 1-based line within the text given. */
  line: number;
  column: number;
  message: string;
}

interface Listener {
  syntaxError(recognizer: unknown, offending: { startIndex?: number; stopIndex?: number; type?: number } | undefined, line: number, column: number, message: string): void;
}
interface Recognizer {
  removeErrorListeners(): void;
  addErrorListener(listener: Listener): void;
}

type Grammar = { parse(text: string, listener: Listener): void };
let grammar: Grammar | undefined;

function load(): Grammar {
  const { ANTLRInputStream } = require('antlr4ts/ANTLRInputStream.js');
  const { CommonTokenStream } = require('antlr4ts/CommonTokenStream.js');
  const { CaseChangingStream } = require('antlr4ts-sql/dist/src/models/CaseChangingStream.js');
  const { TSqlLexer } = require('antlr4ts-sql/dist/src/grammar-output/tsql/TSqlLexer.js');
  const { TSqlParser } = require('antlr4ts-sql/dist/src/grammar-output/tsql/TSqlParser.js');
  return {
    parse(text, listener) {
      const lexer: Recognizer = new TSqlLexer(new CaseChangingStream(new ANTLRInputStream(text), true));
      lexer.removeErrorListeners();
      lexer.addErrorListener(listener);
      const parser: Recognizer & { tsql_file(): unknown } = new TSqlParser(new CommonTokenStream(lexer));
      parser.removeErrorListeners();
      parser.addErrorListener(listener);
      parser.tsql_file();
    },
  };
}

/** ANTLR lists every token it expected (hundreds); keep the message readable. */
function shorten(message: string): string {
  return message.replace(/expecting \{([^}]*)\}/, (_m, list: string) => {
    const items = list.split(', ');
    return items.length > 8 ? `expecting one of ${items.length} tokens (${items.slice(0, 6).join(', ')}, …)` : `expecting {${list}}`;
  });
}

/**
 * Syntax errors of a T-SQL script (GO separates batches, as in the grammar), one per line: after the first
 * error on a line ANTLR's recovery reports follow-on errors that say nothing new.
 */
export function tsqlSyntaxErrors(text: string): TsqlSyntaxError[] {
  grammar ??= load();
  const errors: TsqlSyntaxError[] = [];
  grammar.parse(text, {
    syntaxError(_recognizer, offending, line, column, message) {
      if (errors.some((e) => e.line === line)) return;
      // CaseChangingStream gives tokens no text of their own: take the offending token from the input.
      const word = offending && offending.type !== -1 && offending.startIndex! >= 0 ? text.slice(offending.startIndex, offending.stopIndex! + 1) : '';
      const near = word ? ` near '${word}'` : ' at the end';
      const detail = shorten(message.replace(/ at input '[^']*'/, '').replace(/ input '<\d+>'/, ` '${word}'`).replace(/'<\d+>'/g, `'${word}'`));
      errors.push({ line, column, message: `syntax error${near} (line ${line}, column ${column + 1}): ${detail}` });
    },
  });
  return errors;
}

/**
 * Shell blocks: `bash -n` syntax check, `runbook-harness` invocations against the real command line, and JSON
 * heredoc bodies (a connector config written with `cat > x.json << 'EOF'`) handed to the JSON lint.
 */
import { runCommandSync } from '../../core/subprocess.js';
import { at, type BlockContext, type Finding } from './finding.js';
import { replacePlaceholders } from './placeholders.js';
import { checkHarnessCommand, shellWords } from './harness-commands.js';

export interface Heredoc {
  body: string;
  /** 0-based line offset of the body's first line inside the block. */
  line: number;
}

export function jsonHeredocs(text: string): Heredoc[] {
  const out: Heredoc[] = [];
  for (const m of text.matchAll(/<<-?\s*(['"]?)(\w+)\1[^\n]*\n([\s\S]*?)\n[ \t]*\2[ \t]*(?:\n|$)/g)) {
    if (!m[3].trimStart().startsWith('{')) continue;
    const bodyStart = m.index + m[0].indexOf('\n') + 1;
    out.push({ body: m[3], line: text.slice(0, bodyStart).split('\n').length - 1 });
  }
  return out;
}

function bashSyntax(text: string, ctx: BlockContext): Finding[] {
  const result = runCommandSync('bash', ['-n'], { input: replacePlaceholders(text, 'PH_'), limitMs: 10_000, reject: false });
  if (result.exitCode === null) return [at(ctx, 0, 'info', 'shell-not-checked', `bash not available (${result.failure}); shell syntax not checked`)];
  if (result.exitCode === 0) return [];
  const first = result.stderr.split('\n').find((l) => l.includes('line')) ?? result.stderr.split('\n')[0];
  const m = /line (\d+): (.*)$/.exec(first);
  const offset = m ? Number(m[1]) - 1 : 0;
  return [at(ctx, offset, 'error', 'shell-syntax', `bash -n: ${m ? m[2] : first.trim()}`)];
}

/** Logical lines (continuations joined) with their 0-based starting line. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((line, i) => {
    if (!buffer) start = i;
    if (line.endsWith('\\')) buffer += line.slice(0, -1) + ' ';
    else {
      out.push({ text: buffer + line, line: start });
      buffer = '';
    }
  });
  if (buffer) out.push({ text: buffer, line: start });
  return out;
}

function harnessInvocations(text: string, ctx: BlockContext): Finding[] {
  const findings: Finding[] = [];
  for (const { text: line, line: offset } of logicalLines(replacePlaceholders(text, 'PH_'))) {
    const code = line.replace(/(^|\s)#.*$/, '');
    for (const m of code.matchAll(/(?:^|[\s;|&(`])runbook-harness\s+([^\n]*)/g)) {
      for (const problem of checkHarnessCommand(shellWords(m[1]))) {
        findings.push(at(ctx, offset, 'error', 'harness-command', problem));
      }
    }
  }
  return findings;
}

/**
 * `POST /connectors/{name}/restart` (and `connector restart` without --include-tasks) restarts the connector
 * instance only, not its tasks; Kafka Connect never restarts a FAILED task by itself, so as a fix it does nothing.
 * A block that also restarts tasks explicitly is fine.
 */
function connectorOnlyRestarts(text: string, ctx: BlockContext): Finding[] {
  if (/\/tasks\/\d+\/restart/.test(text)) return [];
  const findings: Finding[] = [];
  for (const { text: line, line: offset } of logicalLines(text)) {
    const code = line.replace(/(^|\s)#.*$/, '');
    const rest = /\/connectors\/[^/\s'"]+\/restart(\S*)/.exec(code);
    const viaRest = /\bcurl\b/.test(code) && /-X\s*POST/.test(code) && rest && !/includeTasks=true/.test(rest[1]);
    const viaHarness = /runbook-harness\s+connector\s+restart\b/.test(code) && !/--include-tasks\b/.test(code);
    if (viaRest || viaHarness) {
      findings.push(at(ctx, offset, 'warning', 'connector-only-restart', 'restarts the connector instance, not its tasks: a FAILED task stays FAILED and a running one keeps its state (add ?includeTasks=true&onlyFailed=true, or --include-tasks --only-failed)'));
    }
  }
  return findings;
}

/** Lines where a new shell command starts: outside quotes and heredoc bodies (0-based line, text). */
export function commandLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const lines = text.split('\n');
  let quote: string | undefined;
  let heredoc: string | undefined;
  let continued = false;
  lines.forEach((line, i) => {
    if (heredoc) {
      if (line.trim() === heredoc) heredoc = undefined;
      return;
    }
    if (!quote && !continued) out.push({ line: i, text: line });
    for (let j = 0; j < line.length; j++) {
      const c = line[j];
      if (quote) {
        if (c === '\\' && quote === '"') j++;
        else if (c === quote) quote = undefined;
      } else if (c === '#' && (j === 0 || /\s/.test(line[j - 1]))) break;
      else if (c === '\\') j++;
      else if (c === '"' || c === "'") quote = c;
    }
    const doc = quote ? undefined : /<<-?\s*['"]?(\w+)['"]?/.exec(line);
    if (doc) heredoc = doc[1];
    continued = !quote && line.endsWith('\\');
  });
  return out;
}

const SQL_AS_COMMAND = /^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE|GRANT|REVOKE|EXEC|USE)\s/;

/** An upper-case SQL statement where the shell expects a command: it would run as a program of that name. */
function sqlAsShell(text: string, ctx: BlockContext): Finding[] {
  return commandLines(text)
    .filter((l) => SQL_AS_COMMAND.test(l.text))
    .map((l) => at(ctx, l.line, 'error', 'sql-in-shell', `SQL in a shell block runs as a command named '${l.text.trim().split(/\s/)[0]}'; put it in a sql block (or psql -c)`));
}

export function lintShell(text: string, ctx: BlockContext): Finding[] {
  const syntax = bashSyntax(text, ctx);
  // When bash cannot even parse the block, its message already points at the line.
  const misplacedSql = syntax.some((f) => f.severity === 'error') ? [] : sqlAsShell(text, ctx);
  return [...syntax, ...misplacedSql, ...harnessInvocations(text, ctx), ...connectorOnlyRestarts(text, ctx)];
}

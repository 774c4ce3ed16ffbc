/**
 * What a runbook's code blocks say, read for a scenario: a section's or step's SQL per side and dialect, placeholders
 * filled, the psql and runbook-harness lines of a bash block (with their Expected comments), comment steps, the
 * rollback decision tree, and runbook SQL run as evidence.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachSql, attachText } from '../report/step.js';
import { type CodeBlock, type SourceDialect, type Step } from '../runbook/model.js';
import { loadRunbook, sectionTree } from '../runbook/parse.js';
import { type RunbookSection } from '../runbook/section.js';
import { splitSql } from '../runbook/lint/sql-split.js';
import { type SqlSession } from '../verify/reconcile/index.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs SQL on a session and attaches it as evidence under `label`. */
export async function runSql(session: SqlSession, sql: string, label: string): Promise<void> {
  await attachSql(label, sql);
  await session.query(sql);
}

/** The SQL code blocks of a section (e.g. a Rollback without numbered steps), in document order, for one side. */
export function sectionSql(section: RunbookSection, side: 'source' | 'target', dialect: SourceDialect): string[] {
  return side === 'target' ? section.blocks({ lang: 'sql', side }).map((b) => b.value) : section.blocks({ lang: 'sql', side, dialect }).map((b) => b.value);
}

/** The SQL blocks of one numbered step for one side, in document order (a step may have several). */
export function stepBlocks(section: RunbookSection, n: number, side: 'source' | 'target', dialect: SourceDialect): string[] {
  return section
    .step(n)
    .codeBlocks.filter((b) => b.lang === 'sql' && b.side === side && (side === 'target' || b.dialect === dialect))
    .map((b) => b.value);
}

/** The lines of a block that follow `-- <label>` up to the next `-- ` label line (rollbacks that list approaches). */
export function labelledSql(sql: string, label: string): string {
  const lines = sql.split('\n');
  const start = lines.findIndex((l) => l.trim() === `-- ${label}`);
  if (start < 0) throw new Error(`no '-- ${label}' in:\n${sql}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^\s*-- /.test(l));
  return rest.slice(0, end < 0 ? undefined : end).join('\n').trim();
}

/**
 * The SQL of step `n` of another section (a cross-reference such as "see Troubleshooting, Column Type
 * Mismatch"), read without runbookSection(): the referring test borrows the SQL, it does not cover that section.
 */
export function referencedStepSql(runbookName: string, sectionId: string, n: number, where: { side: 'source'; dialect: SourceDialect } | { side: 'target' }): string {
  const runbook = loadRunbook(runbookName);
  const steps = sectionTree(runbook, sectionId).flatMap((s) => s.steps.filter((st) => st.number === n));
  if (steps.length !== 1) throw new Error(`${runbook.file} [${sectionId}]: expected one step ${n}, found ${steps.length}`);
  const blocks = steps[0]!.codeBlocks.filter((b) => b.lang === 'sql' && b.side === where.side && (where.side === 'target' || b.dialect === where.dialect));
  if (blocks.length === 0) throw new Error(`${runbook.file} [${sectionId}] step ${n} has no sql block for ${JSON.stringify(where)}`);
  return blocks.map((b) => b.value).join('\n');
}

/**
 * The code blocks of another section (a cross-reference such as "Reload the table as in P0: Data Loss Detected,
 * Recovery"), in document order, read without runbookSection(): the referring test borrows them, it does not cover
 * that section. `after` keeps only the blocks below the first line of the section that contains it (e.g. `**Recovery:**`).
 */
export function referencedSectionBlocks(runbookName: string, sectionId: string, after?: string): CodeBlock[] {
  const runbook = loadRunbook(runbookName);
  const tree = sectionTree(runbook, sectionId);
  const byLine = new Map(tree.flatMap((s) => [...s.codeBlocks, ...s.steps.flatMap((st) => st.codeBlocks)]).map((b) => [b.line, b]));
  const blocks = [...byLine.values()].sort((a, b) => a.line - b.line);
  if (after === undefined) return blocks;
  const lines = readFileSync(path.resolve(REPO_ROOT, runbook.file), 'utf8').split('\n');
  const start = lines.findIndex((l, i) => i >= tree[0]!.line - 1 && i < tree[0]!.endLine && l.includes(after));
  if (start < 0) throw new Error(`${runbook.file} [${sectionId}] has no line with '${after}'`);
  return blocks.filter((b) => b.line > start + 1);
}

/**
 * The `runbook-harness …` lines of a bash block as argument lists (placeholders replaced), each with the
 * `# Expected:` comment that follows it, if any. Other lines (psql, curl, comments) are left to the scenario.
 */
export function expectedHarnessCommands(block: string, replace: Record<string, string> = {}): { args: string[]; expected?: string }[] {
  const out: { args: string[]; expected?: string }[] = [];
  for (const raw of block.split('\n')) {
    const line = Object.entries(replace).reduce((l, [k, v]) => l.replaceAll(k, v), raw.trim());
    const expected = /^#\s*Expected:\s*(.+)$/.exec(line)?.[1];
    if (expected && out.length) out[out.length - 1]!.expected ??= expected;
    if (line.startsWith('runbook-harness ')) out.push({ args: line.split(/\s+/).slice(1) });
  }
  return out;
}

/** Replaces `<name>` placeholders of a runbook block with values; throws if one is left unfilled. */
export function fillPlaceholders(text: string, values: Record<string, string | number>): string {
  const filled = text.replace(/<([a-z_]+)>/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
  const left = filled.match(/<[a-z_]+>/g);
  if (left) throw new Error(`runbook block has unfilled placeholders ${[...new Set(left)].join(', ')}: ${text.slice(0, 200)}`);
  return filled;
}

/** The SQL of every `psql "$TARGET_URL" -c "…"` line of a bash block, in order. */
export function psqlCommands(block: CodeBlock): { url: string; sql: string }[] {
  return [...block.value.matchAll(/psql\s+"\$(\w+)"\s+-c\s+"([^"]+)"/g)].map((m) => ({ url: m[1]!, sql: m[2]! }));
}

/** The `runbook-harness …` command lines of a bash block (comments dropped). */
export function harnessCommands(block: CodeBlock): string[] {
  return block.value.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('runbook-harness '));
}

/** Attaches a step's shell blocks as the commands an operator types; the scenario runs their API equivalent. */
export async function attachCommands(step: Pick<Step, 'codeBlocks'> | { codeBlocks: CodeBlock[] }, label = 'runbook commands'): Promise<CodeBlock[]> {
  const blocks = step.codeBlocks.filter((b) => b.lang === 'bash');
  for (const block of blocks) await attachText(label, block.value);
  return blocks;
}

/** A bash block whose commands are grouped under `# N. Title` comment lines (Quick Rollback, Point-in-Time Recovery). */
export interface CommentStep {
  number: number;
  title: string;
  /** The comment lines after the title (continuations), joined. */
  note: string;
  commands: string[];
}

export function commentSteps(block: CodeBlock): CommentStep[] {
  const steps: CommentStep[] = [];
  for (const raw of block.value.split('\n')) {
    const line = raw.trim();
    const head = line.match(/^#\s*(\d+)\.\s+(.*)$/);
    if (head) steps.push({ number: Number(head[1]), title: head[2]!.trim(), note: '', commands: [] });
    else if (line.startsWith('#') && steps.length) steps.at(-1)!.note += `${steps.at(-1)!.note ? ' ' : ''}${line.replace(/^#\s*/, '')}`;
    else if (line && steps.length) steps.at(-1)!.commands.push(line);
  }
  return steps;
}

/** Splits a shell command line into words (double quotes kept together, no expansion). */
export function shellWords(line: string): string[] {
  // A word is a run of unquoted characters and "quoted" parts (--dbname="$URL" is one word).
  return [...line.matchAll(/(?:"[^"]*"|[^\s"]+)+/g)].map((m) => m[0].replace(/"([^"]*)"/g, '$1'));
}

/** One branch of a ```text decision tree: its condition line and the actions under it, in order. */
export interface TreeBranch {
  condition: string;
  actions: string[];
  /** Line of the condition in the runbook (1-based). */
  line: number;
}

/** Parses a box-drawing decision tree (`├─ condition` then `│  ├─ action` lines). */
export function decisionTree(block: CodeBlock): TreeBranch[] {
  const branches: TreeBranch[] = [];
  block.value.split('\n').forEach((raw, i) => {
    const top = raw.match(/^[├└]─\s*(.+)$/);
    const action = raw.match(/^[│ ]\s+[├└]─\s*(.+)$/);
    if (top) branches.push({ condition: top[1]!.trim(), actions: [], line: block.line + 1 + i });
    else if (action && branches.length) branches.at(-1)!.actions.push(action[1]!.trim());
  });
  return branches;
}

/** The column names of a `psql -c "\d+ <table>"` listing (the first cell of each row of its table). */
export function psqlDescribedColumns(listing: string): string[] {
  const lines = listing.split('\n');
  const rule = lines.findIndex((l) => /^-+\+-/.test(l.trim()));
  if (rule < 0) return [];
  const columns: string[] = [];
  for (const line of lines.slice(rule + 1)) {
    if (!line.includes('|')) break;
    columns.push(line.split('|')[0]!.trim());
  }
  return columns;
}

/** One statement of a runbook SQL block with the `-- Expected: …` comment that follows it (before the next statement), if any. */
export interface ExpectedStatement {
  sql: string;
  expected?: string;
}

export function statementsWithExpected(block: string): ExpectedStatement[] {
  // Each statement's code without the comment lines before it (those belong to the statement before, or head the block).
  const code = splitSql(block).map((s) => s.text.replace(/^(?:\s*--[^\n]*\n)*\s*/, ''));
  let from = 0;
  const located = code.map((sql) => {
    const at = block.indexOf(sql, from);
    from = at + sql.length;
    return { sql, at, end: from };
  });
  return located.map((s, i) => {
    const between = block.slice(s.end, located[i + 1]?.at ?? block.length);
    return { sql: s.sql, expected: /--\s*Expected:\s*(.+)$/m.exec(between)?.[1]?.trim() };
  });
}

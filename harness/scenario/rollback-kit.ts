/**
 * What the rollback and troubleshooting scenarios share: filling a runbook block's placeholders, the
 * SQL a runbook's `psql -c "…"` line runs, the bash block of a step as evidence, and sampling the sink's
 * consumer-group lag over time. These return observations; only scenarios assert.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pollUntil } from '../core/poll.js';
import { runCommand, stderrAndWhy } from '../core/subprocess.js';
import { type ConnectClient, type ConnectorStatus } from '../pipeline/connect-client.js';
import { attachText } from '../report/step.js';
import type { Claim } from '../runbook/claims.js';
import type { CodeBlock, Step } from '../runbook/model.js';

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

export interface LagSample extends Record<string, string | number> {
  atMs: number;
  lag: number;
}

/**
 * Samples `read()` (the sink's consumer-group lag) until it has risen `rises` times in a row, or the
 * limit passes; returns the samples and whether it kept rising.
 */
export async function watchLagRise(read: () => Promise<number>, rises: number, limitMs: number, intervalMs = 1_000): Promise<{ rising: boolean; samples: LagSample[] }> {
  const started = Date.now();
  const samples: LagSample[] = [];
  let streak = 0;
  try {
    await pollUntil({ what: `sink lag to rise ${rises} samples in a row`, limitMs, intervalMs }, async () => {
      const lag = await read();
      const previous = samples.at(-1);
      samples.push({ atMs: Date.now() - started, lag });
      streak = previous && lag > previous.lag ? streak + 1 : previous && lag === previous.lag ? streak : 0;
      return { done: streak >= rises, seen: `lag ${lag}, rising ${streak} samples in a row` };
    });
    return { rising: true, samples };
  } catch {
    return { rising: false, samples };
  }
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

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'runbook-harness.js');

/** Runs the CLI on the test's stack (its state dir), as an operator would; never throws on a non-zero exit. */
export async function runHarnessCli(stateDir: string, args: string[], limitMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return runProcess(process.execPath, [BIN, ...args], process.cwd(), limitMs, { RUNBOOK_HARNESS_STATE_DIR: stateDir });
}

/** Splits a shell command line into words (double quotes kept together, no expansion). */
export function shellWords(line: string): string[] {
  // A word is a run of unquoted characters and "quoted" parts (--dbname="$URL" is one word).
  return [...line.matchAll(/(?:"[^"]*"|[^\s"]+)+/g)].map((m) => m[0].replace(/"([^"]*)"/g, '$1'));
}

export interface ShellContext {
  /** The stack's state dir (the CLI finds the stack there). */
  stateDir: string;
  /** Working directory for files the commands write and read (dumps, saved configs). */
  cwd: string;
  /** `$NAME` variables of the commands (TARGET_URL, …). */
  variables: Record<string, string>;
  /** PostgreSQL client tools by name (pg_dump, pg_restore, psql). */
  tools: Record<string, string>;
  /** Rewrites one word after variables are expanded: placeholders, the runbook's topic and connector names → this pipeline's. */
  word: (word: string) => string;
}

export interface ShellResult {
  line: string;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one command line of a runbook's bash block: `runbook-harness …` through the CLI on the test's
 * stack, pg_dump/pg_restore/psql through the pgTools binaries; `> file` redirects stdout into cwd.
 * Returns what happened; the scenario decides what it means.
 */
export async function runShellLine(context: ShellContext, line: string, limitMs = 120_000): Promise<ShellResult> {
  const expanded = line.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => context.variables[name] ?? whole);
  let words = shellWords(expanded).map(context.word);
  let redirect: string | undefined;
  const gt = words.indexOf('>');
  if (gt >= 0) {
    redirect = words[gt + 1];
    words = words.slice(0, gt);
  }
  const [program, ...args] = words;
  let result: { code: number; stdout: string; stderr: string };
  if (program === 'runbook-harness') {
    result = await runHarnessCliIn(context.stateDir, args, context.cwd, limitMs);
  } else if (program && context.tools[program]) {
    result = await runToolIn(context.tools[program]!, args, context.cwd, limitMs);
  } else {
    throw new Error(`runbook command not supported by the scenario runner: ${line}`);
  }
  if (redirect) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.resolve(context.cwd, redirect), result.stdout);
  }
  return { line, ...result };
}

async function runHarnessCliIn(stateDir: string, args: string[], cwd: string, limitMs: number) {
  return runProcess(process.execPath, [BIN, ...args], cwd, limitMs, { RUNBOOK_HARNESS_STATE_DIR: stateDir });
}

async function runToolIn(tool: string, args: string[], cwd: string, limitMs: number) {
  return runProcess(tool, args, cwd, limitMs);
}

async function runProcess(file: string, args: string[], cwd: string, limitMs: number, env: Record<string, string> = {}) {
  const r = await runCommand(file, args, { cwd, env, limitMs, reject: false });
  return { code: r.exitCode ?? 1, stdout: r.stdout, stderr: stderrAndWhy(r) };
}

/** A statement inside a section's code block (a `# …` comment line, say) as a checkable claim, with its line. */
export function blockClaim(section: { runbook: string; file: string; id: string; title: string }, block: CodeBlock, text: string): Claim {
  const first = text.split(/\s+/).slice(0, 4).join(' ');
  const index = block.value.split('\n').findIndex((l) => l.replace(/^\s*#\s*/, '').replace(/\s+/g, ' ').includes(first));
  return { runbook: section.runbook, file: section.file, sectionId: section.id, sectionTitle: section.title, line: block.line + 1 + Math.max(index, 0), text };
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

/**
 * The runbook's `restart --include-tasks --only-failed` through the Connect client, which waits for RUNNING;
 * returns whether the sink ran again and its last status rather than throwing, so the scenario asserts.
 */
export async function restartFailedTasks(connect: ConnectClient, name: string): Promise<{ running: boolean; status: ConnectorStatus; error?: string }> {
  try {
    return { running: true, status: await connect.restartConnector(name, { includeTasks: true, onlyFailed: true }) };
  } catch (error) {
    return { running: false, status: await connect.getConnectorStatus(name), error: (error as Error).message };
  }
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

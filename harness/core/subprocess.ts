/**
 * The one way the harness runs another program. Three entries over the same options and error text:
 *   runCommand      run to completion, output captured (or streamed to a log file / the terminal)
 *   runCommandSync  the same, blocking (lint's `bash -n`, host tool probes, initdb, Kafka storage format)
 *   launchDetached  a supervised component that outlives this process (own process group, output to a log)
 * A failure names the program, the exit code or signal and the tail of stderr, with passwords masked.
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { HarnessError } from './errors.js';
import { redact } from './redaction.js';

export interface RunOptions {
  cwd?: string;
  /** Merged over process.env; an undefined value removes the variable. */
  env?: Record<string, string | undefined>;
  /** Replace process.env instead of merging over it (a test that hides a tool from PATH). */
  replaceEnv?: boolean;
  /** Written to the program's stdin. */
  input?: string;
  /** Killed with SIGKILL after this long (default 60 s). */
  limitMs?: number;
  uid?: number;
  gid?: number;
  /** 'capture' (default); 'inherit' shares this process's terminal; { logFile } appends both streams to a file. */
  output?: 'capture' | 'inherit' | { logFile: string };
  /** false: resolve with the result (exitCode, failure) instead of throwing SubprocessError. Default true. */
  reject?: boolean;
  /** Values to mask in error messages besides URL passwords and registered secrets. */
  secrets?: string[];
}

export interface RunResult {
  /** The program and its arguments as one line, passwords masked. */
  command: string;
  /** null when the process never started or was killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  seconds: number;
  /** Why it failed, in one line (undefined when it exited 0). */
  failure?: string;
}

/** stderr, followed by why the program ended when it did not exit by itself (could not start, killed, timed out). */
export function stderrAndWhy(r: RunResult): string {
  return r.exitCode === null && r.failure ? `${r.stderr}${r.stderr && !r.stderr.endsWith('\n') ? '\n' : ''}${r.failure}` : r.stderr;
}

/** A program that could not start, exited non-zero, was killed or ran past its limit. */
export class SubprocessError extends HarnessError {
  constructor(readonly result: RunResult) {
    super(result.failure ?? `${result.command} failed`);
    this.name = 'SubprocessError';
  }
}

const DEFAULT_LIMIT_MS = 60_000;
const MAX_CAPTURE = 32 * 1024 * 1024;
const TAIL_LINES = 5;
const TAIL_CHARS = 800;

function commandLine(program: string, args: string[], secrets: string[]): string {
  const line = [program, ...args].map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
  const masked = redact(line, secrets);
  return masked.length > 300 ? `${masked.slice(0, 297)}...` : masked;
}

/** The last few non-empty lines of stderr (or stdout when stderr is empty), joined on one line. */
export function outputTail(stderr: string, stdout = ''): string {
  const text = stderr.trim() ? stderr : stdout;
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-TAIL_LINES).join(' | ');
  return lines.length > TAIL_CHARS ? `...${lines.slice(-TAIL_CHARS)}` : lines;
}

function describe(r: Omit<RunResult, 'failure'>, startError: Error | undefined, limitMs: number, secrets: string[], logFile?: string): string | undefined {
  let what: string;
  if (startError) {
    const code = (startError as NodeJS.ErrnoException).code;
    what = code === 'ENOENT' ? 'could not be started: not found (check the path or PATH)' : `could not be started: ${startError.message}`;
  } else if (r.timedOut) what = `did not finish within ${Math.round(limitMs / 1000)} s and was killed`;
  else if (r.signal) what = `was killed by ${r.signal} after ${r.seconds.toFixed(1)} s`;
  else if (r.exitCode !== 0) what = `exited with code ${r.exitCode} after ${r.seconds.toFixed(1)} s`;
  else return undefined;
  const tail = redact(outputTail(r.stderr, r.stdout), secrets);
  return `'${r.command}' ${what}${tail ? `: ${tail}` : ''}${logFile ? ` (output in ${logFile})` : ''}`;
}

function spawnOptions(options: RunOptions): SpawnOptions {
  const env = options.replaceEnv ? { ...options.env } : { ...process.env, ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return { cwd: options.cwd, env, uid: options.uid, gid: options.gid };
}

/** Runs a program to completion. Throws SubprocessError on failure unless reject is false. */
export function runCommand(program: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const limitMs = options.limitMs ?? DEFAULT_LIMIT_MS;
  const secrets = options.secrets ?? [];
  const command = commandLine(program, args, secrets);
  const output = options.output ?? 'capture';
  const logFile = typeof output === 'object' ? output.logFile : undefined;
  const started = Date.now();
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(program, args, { ...spawnOptions(options), stdio: [options.input === undefined ? 'ignore' : 'pipe', output === 'inherit' ? 'inherit' : 'pipe', output === 'inherit' ? 'inherit' : 'pipe'] });
    const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    log?.on('error', (error) => {
      stderr += `\n(cannot write the log ${logFile}: ${error.message})`;
    });
    let stdout = '';
    let stderr = '';
    // With a log file only the tail of stderr is kept in memory, for the error message.
    child.stdout?.on('data', (chunk: Buffer) => {
      if (log) log.write(chunk);
      else if (stdout.length < MAX_CAPTURE) stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      log?.write(chunk);
      stderr = log ? (stderr + chunk.toString('utf8')).slice(-8192) : stderr.length < MAX_CAPTURE ? stderr + chunk.toString('utf8') : stderr;
    });
    if (options.input !== undefined) {
      child.stdin?.on('error', () => undefined); // a program that exits without reading its input
      child.stdin?.end(options.input);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    let startError: Error | undefined;
    let finished = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return; // a failed spawn may report both 'error' and 'close'
      finished = true;
      clearTimeout(timer);
      const seconds = (Date.now() - started) / 1000;
      // Built when settling: a log write error may arrive between the exit and the log's close, and is part of stderr.
      const settle = () => {
        const base = { command, exitCode, signal, stdout, stderr, timedOut, seconds };
        const result: RunResult = { ...base, failure: describe(base, startError, limitMs, secrets, logFile) };
        if (result.failure && options.reject !== false) reject(new SubprocessError(result));
        else resolve(result);
      };
      // The log is complete on disk before the caller reads it.
      if (!log || log.destroyed) return settle();
      log.once('close', settle);
      log.end();
    };
    child.on('error', (error) => {
      startError = error;
      if (child.pid === undefined) finish(null, null);
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** runCommand, blocking. Output is captured (or inherited); no log-file mode. */
export function runCommandSync(program: string, args: string[], options: Omit<RunOptions, 'output'> & { output?: 'capture' | 'inherit' } = {}): RunResult {
  const limitMs = options.limitMs ?? DEFAULT_LIMIT_MS;
  const secrets = options.secrets ?? [];
  const started = Date.now();
  const r = spawnSync(program, args, {
    ...spawnOptions(options),
    input: options.input,
    encoding: 'utf8',
    timeout: limitMs,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_CAPTURE,
    stdio: options.output === 'inherit' ? 'inherit' : 'pipe',
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const startError = r.error && !timedOut ? r.error : undefined;
  const base = { command: commandLine(program, args, secrets), exitCode: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut, seconds: (Date.now() - started) / 1000 };
  const result: RunResult = { ...base, failure: describe(base, startError, limitMs, secrets) };
  if (result.failure && options.reject !== false) throw new SubprocessError(result);
  return result;
}

export interface DetachedSpec {
  command: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
  uid?: number;
  gid?: number;
  logFile: string;
}

/**
 * Starts a long-running component in its own process group with both streams appended to its log file, and
 * lets it outlive this process. Returns its pid; a program that cannot start throws with the reason.
 */
export function launchDetached(spec: DetachedSpec): number {
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', out, out],
      uid: spec.uid,
      gid: spec.gid,
    });
    // spawn reports a missing program both as pid undefined and as a later 'error' event; the throw below says it.
    child.on('error', () => undefined);
    if (child.pid === undefined) throw new HarnessError(`'${commandLine(spec.command, spec.args, [])}' could not be started (check the path or PATH); its log is ${spec.logFile}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

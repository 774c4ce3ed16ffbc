/**
 * The state file of a running stack, so `down`, `status`, `reconcile`, … work from another shell
 * and test workers can attach to the stack the global setup started.
 * It holds passwords, so it is written 0600 and never copied into reports.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HarnessError } from '../core/errors.js';
import type { PostgresTools, StackEndpoints } from './stack.js';

export interface ProcessRecord {
  pid: number;
  /** How to start it again: used by component control and by orphan clean-up. */
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  uid?: number;
  gid?: number;
  logFile: string;
  /** host:port that answers once the component is up. */
  healthAddress: string;
}

export interface StackState {
  version: 1;
  /** Node process that owns the stack (the `up` command's or the test runner's). */
  ownerPid: number;
  startedAt: string;
  dataDir: string;
  endpoints: StackEndpoints;
  processes: Record<string, ProcessRecord>;
  startupSeconds?: number;
  /** pg_dump / pg_restore / psql able to talk to the stack's PostgreSQL servers. */
  tools?: PostgresTools;
}

/** Default: ./.runbook-harness (per checkout); RUNBOOK_HARNESS_STATE_DIR overrides (the test runner uses its own). */
export function stateDir(): string {
  return process.env.RUNBOOK_HARNESS_STATE_DIR ?? path.resolve('.runbook-harness');
}

export function stateFile(dir = stateDir()): string {
  return path.join(dir, 'stack.json');
}

export function readStackState(dir = stateDir()): StackState | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile(dir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as StackState;
  } catch {
    throw new HarnessError(`state file ${stateFile(dir)} is not valid JSON; run 'runbook-harness down' to clean up`);
  }
}

export function writeStackState(state: StackState, dir = stateDir()): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(stateFile(dir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
}

export function removeStackState(dir = stateDir()): void {
  rmSync(stateFile(dir), { force: true });
}

/** The running stack's endpoints, or a one-line error that says how to get one. */
export function requireRunningStack(dir = stateDir()): StackEndpoints {
  const state = readStackState(dir);
  if (!state) {
    throw new HarnessError(
      `no running stack (no state file at ${stateFile(dir)}); start one with 'runbook-harness up' or pass --source-url and --target-url`,
    );
  }
  return state.endpoints;
}

/**
 * Launches component processes detached (own process group, output to a log file) so they outlive
 * `runbook-harness up`, and controls them by pid from any process that has the state file.
 * Signals go to the whole process group: PostgreSQL's backends and a JVM's children go with it.
 */
import { readFileSync } from 'node:fs';
import { pollUntil } from '../../core/poll.js';
import { launchDetached } from '../../core/subprocess.js';
import type { ProcessRecord } from '../state.js';

export type LaunchSpec = Omit<ProcessRecord, 'pid'>;

export function launch(spec: LaunchSpec): ProcessRecord {
  return { ...spec, pid: launchDetached(spec) };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** True when pid is still the process we launched (pids get reused after a crash or reboot). */
export function isOurs(record: ProcessRecord): boolean {
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0');
    return cmdline[0] === record.command || cmdline.includes(record.args[record.args.length - 1] ?? '');
  } catch {
    return false;
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function awaitExit(record: ProcessRecord, name: string, limitMs: number): Promise<void> {
  await pollUntil({ what: `${name} (pid ${record.pid}) to exit`, limitMs, intervalMs: 100 }, async () => ({
    done: !isAlive(record.pid),
    seen: `pid ${record.pid} still running`,
  }));
}

/** SIGTERM, then SIGKILL if it has not exited within graceMs. Resumes a paused group first. */
export async function terminate(record: ProcessRecord, name: string, graceMs = 20_000): Promise<void> {
  if (!isAlive(record.pid)) return;
  signalGroup(record.pid, 'SIGCONT');
  signalGroup(record.pid, 'SIGTERM');
  try {
    await awaitExit(record, name, graceMs);
  } catch {
    signalGroup(record.pid, 'SIGKILL');
    await awaitExit(record, name, 10_000);
  }
}

/** The last lines of a component's log, for error messages. */
export function logTail(logFile: string, lines = 3): string {
  try {
    const text = readFileSync(logFile, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join(' | ').slice(0, 600);
  } catch {
    return '(no log yet)';
  }
}

/**
 * Teardown guarantees on the real local stack: Ctrl-C while `up` starts leaves nothing behind;
 * a runner killed with -9 leaves an orphan that the next start refuses to share while its owner
 * lives and cleans up once the owner is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { HarnessError } from '../../harness/core/errors.js';
import { pollUntil } from '../../harness/core/poll.js';
import { cleanUpOrphan } from '../../harness/env/local/local-stack.js';
import { portAnswers } from '../../harness/env/local/ports.js';
import { isAlive } from '../../harness/env/local/process-supervisor.js';
import { readStackState, type StackState } from '../../harness/env/state.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const START_LIMIT_MS = 240_000;

const stateDirs: string[] = [];
function freshStateDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rh-lifecycle-'));
  stateDirs.push(dir);
  return dir;
}
afterAll(() => stateDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function expectNothingLeft(state: StackState): Promise<void> {
  for (const [name, record] of Object.entries(state.processes)) {
    expect(isAlive(record.pid), `${name} (pid ${record.pid}) still running`).toBe(false);
    expect(await portAnswers(record.healthAddress), `${name} port ${record.healthAddress} still open`).toBe(false);
  }
  expect(existsSync(state.dataDir), `data folder ${state.dataDir} still there`).toBe(false);
}

describe('stack lifecycle', () => {
  test('Ctrl-C while `up` is starting stops what was launched and removes its data', async () => {
    const dir = freshStateDir();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/runbook-harness.js'), 'up', '--bare'], { cwd: ROOT, env: { ...process.env, RUNBOOK_HARNESS_STATE_DIR: dir }, stdio: 'ignore' });
    const exited = exitOf(child);
    const state = await pollUntil({ what: `up to launch Kafka (state in ${dir})`, limitMs: START_LIMIT_MS }, async () => {
      const s = readStackState(dir);
      return { done: Boolean(s?.processes.kafka), seen: `processes: ${Object.keys(s?.processes ?? {}).join(',') || 'none'}`, value: s };
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await expectNothingLeft(state!);
    expect(readStackState(dir)).toBeUndefined();
  }, START_LIMIT_MS + 60_000);

  test('an orphan of a runner killed with -9 is refused while its owner lives and cleaned up after', async () => {
    const dir = freshStateDir();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/env/support/session-stack-child.ts'), dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = exitOf(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    await pollUntil({ what: 'the child to report its stack ready', limitMs: START_LIMIT_MS, intervalMs: 500 }, async () => ({ done: output.includes('ready'), seen: output.slice(-200) || 'no output' }));
    const state = readStackState(dir)!;

    await expect(cleanUpOrphan(dir)).rejects.toThrow(HarnessError);
    await expect(cleanUpOrphan(dir)).rejects.toThrow(/already running/);

    child.kill('SIGKILL');
    await exited;
    const survivors = Object.values(state.processes).filter((r) => isAlive(r.pid));
    expect(survivors.length, 'kill -9 of the owner leaves the stack running (that is what makes it an orphan)').toBeGreaterThan(0);

    expect(await cleanUpOrphan(dir)).toBe('cleaned');
    await expectNothingLeft(state);
  }, START_LIMIT_MS + 60_000);
});

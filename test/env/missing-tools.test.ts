/** A machine without the JDK (or Maven, or Go) gets one line naming what is missing and how to get it, exit 2. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCommandSync } from '../../harness/core/subprocess.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('runtime prerequisites', () => {
  test('without java on PATH, up says so in one line and exits 2', () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'rh-missing-'));
    try {
      // A PATH with node and nothing else (node's own folder may also hold java, as /usr/bin does).
      const bin = path.join(state, 'bin');
      mkdirSync(bin);
      symlinkSync(process.execPath, path.join(bin, 'node'));
      const env = { PATH: bin, HOME: os.homedir(), RUNBOOK_HARNESS_STATE_DIR: state };
      const result = runCommandSync(path.join(bin, 'node'), [path.join(ROOT, 'bin/runbook-harness.js'), 'up', '--bare'], { cwd: ROOT, env, replaceEnv: true, reject: false });
      expect(result.exitCode).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^runbook-harness: java not found: install a JDK 17 or newer/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

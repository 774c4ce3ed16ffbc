import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verbNames } from '../../harness/cli/commands/migrate.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rh-verbs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('migrate verb discovery', () => {
  it('lists every verb file in the directory (a later cutover.ts appears without touching a list), not tests', () => {
    for (const f of ['init.ts', 'cutover.ts', 'rollback.ts', 'init.test.ts', 'notes.md']) writeFileSync(path.join(dir, f), '');
    expect(verbNames(dir)).toEqual(['cutover', 'init', 'rollback']);
  });

  it('the shipped verbs are all there', () => {
    expect(verbNames()).toEqual(expect.arrayContaining(['compare', 'cutover', 'halt', 'init', 'lag', 'report', 'restart', 'resync', 'rollback', 'snapshot', 'status', 'validate']));
  });
});

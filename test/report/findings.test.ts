import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { appendFinding, clearFindings, findingsLedgerPath, readFindings, summarizeFindings, type HarnessFinding } from '../../harness/report/findings-ledger.js';
import { recordFinding } from '../../harness/report/findings.js';
import { registerSecrets } from '../../harness/report/secrets.js';

const finding = (over: Partial<HarnessFinding>): HarnessFinding => ({
  kind: 'restart',
  what: 'sink stalled after resume',
  detail: 'marker 7 late',
  test: 'Scenario 7 > procedure (postgres)',
  at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('summarizeFindings', () => {
  test('says none when the harness did nothing on its own', () => {
    expect(summarizeFindings([])).toEqual(['harness-initiated retries, restarts and repairs: none']);
  });

  test('one line per kind and what, naming each test once and counting every time', () => {
    const lines = summarizeFindings([
      finding({ test: 'Scenario 7 > procedure (postgres)' }),
      finding({ test: 'Replication Stuck > postgres' }),
      finding({ test: 'Scenario 7 > procedure (postgres)' }),
      finding({ kind: 'retry', what: 'marker insert retried', test: 'Scenario 3 > postgres' }),
    ]);
    expect(lines).toEqual([
      'harness-initiated restart: sink stalled after resume in 2 tests (3 times): Scenario 7 > procedure (postgres); Replication Stuck > postgres',
      'harness-initiated retry: marker insert retried in 1 test (1 time): Scenario 3 > postgres',
    ]);
  });

  test('the same what under two kinds is two lines, not one', () => {
    const lines = summarizeFindings([finding({ kind: 'restart' }), finding({ kind: 'repair' })]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^harness-initiated restart: /);
    expect(lines[1]).toMatch(/^harness-initiated repair: /);
  });
});

describe('the findings ledger', () => {
  let dir: string;
  let file: string;
  const previous = process.env.RUNBOOK_HARNESS_FINDINGS;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rh-findings-'));
    file = path.join(dir, 'nested', 'ledger.jsonl');
    process.env.RUNBOOK_HARNESS_FINDINGS = file;
  });
  afterEach(() => {
    if (previous === undefined) delete process.env.RUNBOOK_HARNESS_FINDINGS;
    else process.env.RUNBOOK_HARNESS_FINDINGS = previous;
    rmSync(dir, { recursive: true, force: true });
  });

  test('RUNBOOK_HARNESS_FINDINGS moves it; a missing ledger reads as no findings; clear removes it', () => {
    expect(findingsLedgerPath()).toBe(file);
    expect(readFindings()).toEqual([]);
    appendFinding(finding({}));
    appendFinding(finding({ kind: 'retry' }));
    expect(readFindings().map((f) => f.kind)).toEqual(['restart', 'retry']);
    clearFindings();
    expect(readFindings()).toEqual([]);
  });

  test('recordFinding writes a line naming the current test, with passwords redacted in every field', async () => {
    registerSecrets('findings-s3cret');
    const recorded = await recordFinding(
      'restart',
      'sink stalled after resume (findings-s3cret)',
      'restarted postgresql-sink; target postgres://postgres:findings-s3cret@127.0.0.1:5432/warehouse, url postgres://u:other-pass@h/db',
    );
    const [line] = readFindings();
    expect(line).toEqual(recorded);
    expect(line!.test).toBe(expect.getState().currentTestName);
    expect(line!.test).toContain('recordFinding writes a line');
    const text = JSON.stringify(line);
    expect(text).not.toContain('findings-s3cret');
    expect(text).not.toContain('other-pass');
    expect(line!.detail).toContain('postgres://postgres:***@127.0.0.1:5432/warehouse');
    expect(line!.what).toBe('sink stalled after resume (***)');
    expect(Number.isNaN(Date.parse(line!.at))).toBe(false);
  });

  test('a line cut short by a killed worker does not hide the findings around it', () => {
    appendFinding(finding({ test: 'first' }));
    writeFileSync(file, '{"kind":"restart","what":"sink sta\n', { flag: 'a' });
    appendFinding(finding({ test: 'last' }));
    const findings = readFindings();
    expect(findings.map((f) => f.test)).toEqual(['first', '(unreadable ledger line)', 'last']);
    expect(summarizeFindings(findings).join('\n')).toContain('(unreadable ledger line)');
  });
});

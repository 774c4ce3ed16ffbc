import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { type ReconcileReport, writeReportFile } from '../../harness/verify/reconcile/index.js';

const report = (startedAt: string, match: boolean) => ({ startedAt, summary: { match }, tables: [{ table: 'customers' }, { table: 'orders' }] }) as unknown as ReconcileReport;

describe('writeReportFile', () => {
  test('two runs in the same second keep both reports (the second gets -2), a later second its own name', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rh-report-file-'));
    const first = writeReportFile(report('2026-12-02T01:00:00.100Z', false), dir);
    const second = writeReportFile(report('2026-12-02T01:00:00.900Z', true), dir);
    const later = writeReportFile(report('2026-12-02T01:00:01.000Z', true), dir);
    expect([first, second, later].map((f) => path.basename(f))).toEqual(['reconciliation_2-tables_20261202T010000Z.json', 'reconciliation_2-tables_20261202T010000Z-2.json', 'reconciliation_2-tables_20261202T010001Z.json']);
    expect(readdirSync(dir)).toHaveLength(3);
    expect((JSON.parse(readFileSync(first, 'utf8')) as ReconcileReport).summary.match, 'the first report is not overwritten').toBe(false);
    expect((JSON.parse(readFileSync(second, 'utf8')) as ReconcileReport).summary.match).toBe(true);
  });
});

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ReconcileReport, RowKey } from './reconcile-types.js';

const keyText = (key: RowKey) => Object.entries(key).map(([k, v]) => `${k}=${v === null ? 'NULL' : JSON.stringify(v)}`).join(', ');

/** Human-readable summary: one block per table, the first few diffs of each kind. */
export function renderReportText(report: ReconcileReport, shown = 10): string {
  const lines: string[] = [];
  for (const t of report.tables) {
    const state = t.error ? 'ERROR' : t.match ? 'MATCH' : 'MISMATCH';
    lines.push(`${state.padEnd(8)} ${t.table} -> ${t.targetTable}: source ${t.sourceRows} rows, target ${t.targetRows} rows (${t.mode}${t.hashMode ? `, ${t.hashMode} hash` : ''}, ${t.chunkStats.count} chunks, ${t.durationSeconds.toFixed(2)} s)`);
    if (t.error) lines.push(`  error: ${t.error}`);
    for (const w of t.warnings) lines.push(`  warning: ${w}`);
    const c = t.diffCounts;
    if (c.missingInTarget + c.extraInTarget + c.differing > 0) {
      lines.push(`  missing in target: ${c.missingInTarget}, extra in target: ${c.extraInTarget}, differing: ${c.differing}${t.truncated ? ' (lists truncated)' : ''}`);
      for (const k of t.missingInTarget.slice(0, shown)) lines.push(`    missing  ${keyText(k)}`);
      for (const k of t.extraInTarget.slice(0, shown)) lines.push(`    extra    ${keyText(k)}`);
      for (const d of t.differing.slice(0, shown)) {
        const cols = d.columns.map((col) => `${col}: ${JSON.stringify(d.source[col])} -> ${JSON.stringify(d.target[col])}`).join('; ');
        lines.push(`    differs  ${keyText(d.key)}: ${cols}`);
      }
    }
  }
  const s = report.summary;
  lines.push(`${s.match ? 'all tables match' : 'tables differ'}: ${s.matchedTables}/${s.tables} match, ${s.mismatchedTables} mismatched, ${s.erroredTables} errors, ${s.durationSeconds.toFixed(2)} s`);
  return lines.join('\n') + '\n';
}

/**
 * reports/reconciliation_<table>_<timestamp>.json, the name the runbooks `cat`. A second run of the same tables
 * within the same second gets `-2`, `-3`, … before `.json` instead of overwriting the first one's report.
 */
export function writeReportFile(report: ReconcileReport, outputDir: string): string {
  mkdirSync(outputDir, { recursive: true });
  const label = report.tables.length === 1 ? report.tables[0]!.table : `${report.tables.length}-tables`;
  const stamp = report.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = path.join(outputDir, `reconciliation_${label.replace(/[^A-Za-z0-9_.-]/g, '_')}_${stamp}`);
  const text = JSON.stringify(report, null, 2) + '\n';
  for (let n = 1; ; n++) {
    const file = n === 1 ? `${base}.json` : `${base}-${n}.json`;
    try {
      writeFileSync(file, text, { flag: 'wx' });
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Validation of migrated tables through harness/verify/reconcile (counts and in-database chunk checksums, bisected
 * to the differing keys). A sampled validation compares one contiguous key range of N rows starting at a random
 * offset: it says "sampled N of M rows" and is never counted toward the 100 % consistency SLO.
 */
import { randomInt } from 'node:crypto';
import { reconcile, type ReconcileReport, type RowKey, type TableReport } from '../verify/reconcile/index.js';
import { consistencyPercent, NAMED_SLOS, sloVerdict, type SloVerdict } from '../verify/slo.js';
import type { SqlSession } from '../verify/reconcile/index.js';
import { primaryKey, quoteIdent, rowCount, tableRef } from './table-catalog.js';

export interface SampleScope {
  rows: number;
  of: number;
  from: string[] | null;
  to: string[] | null;
  keyColumns: string[];
}

export interface TableValidation {
  table: string;
  match: boolean;
  sourceRows: number;
  targetRows: number;
  missingInTarget: number;
  extraInTarget: number;
  differing: number;
  /** Up to maxKeys keys of each kind, as reconcile reports them. */
  keys: { missingInTarget: RowKey[]; extraInTarget: RowKey[]; differing: { key: RowKey; columns: string[] }[] };
  sampled?: SampleScope;
  error?: string;
}

export interface ValidationResult {
  tables: TableValidation[];
  match: boolean;
  sampled: boolean;
  /** The consistency SLO verdict; only for a full (unsampled) validation. */
  consistency?: SloVerdict;
  durationSeconds: number;
}

/** Picks the key range of a sample of `size` rows out of `total`, at a random offset (pure given the offset). */
export function sampleOffset(total: number, size: number, pick: (maxExclusive: number) => number = randomInt): number {
  return total <= size ? 0 : pick(total - size + 1);
}

async function keyAt(source: SqlSession, table: string, key: string[], offset: number): Promise<string[] | null> {
  const cols = key.map(quoteIdent).join(', ');
  const rows = await source.query(`SELECT ${key.map((k, i) => `${quoteIdent(k)}::text AS k${i}`).join(', ')} FROM ${tableRef(table)} ORDER BY ${cols} OFFSET ${offset} LIMIT 1`);
  return rows[0] ? key.map((_, i) => rows[0]![`k${i}`] ?? '') : null;
}

function summarise(t: TableReport, sampled?: SampleScope): TableValidation {
  return {
    table: t.table,
    match: t.match,
    sourceRows: t.sourceRows,
    targetRows: t.targetRows,
    missingInTarget: t.diffCounts.missingInTarget,
    extraInTarget: t.diffCounts.extraInTarget,
    differing: t.diffCounts.differing,
    keys: { missingInTarget: t.missingInTarget, extraInTarget: t.extraInTarget, differing: t.differing.map((d) => ({ key: d.key, columns: d.columns })) },
    ...(sampled ? { sampled } : {}),
    ...(t.error ? { error: t.error } : {}),
  };
}

export async function validateTables(request: { sourceUrl: string; targetUrl: string; source: SqlSession; tables: string[]; sampleSize?: number; maxKeys?: number }): Promise<ValidationResult> {
  const started = Date.now();
  const maxDiffRows = request.maxKeys ?? 100;
  const results: TableValidation[] = [];
  const full: TableReport[] = [];
  for (const table of request.tables) {
    let sample: SampleScope | undefined;
    let keyRange: { from?: string[]; to?: string[] } | undefined;
    if (request.sampleSize !== undefined) {
      const total = (await rowCount(request.source, table)) ?? 0;
      const key = await primaryKey(request.source, table);
      if (total > request.sampleSize && key.length) {
        const offset = sampleOffset(total, request.sampleSize);
        const from = await keyAt(request.source, table, key, offset);
        const to = await keyAt(request.source, table, key, offset + request.sampleSize);
        sample = { rows: request.sampleSize, of: total, from, to, keyColumns: key };
        keyRange = { ...(from ? { from } : {}), ...(to ? { to } : {}) };
      }
    }
    const report: ReconcileReport = await reconcile({
      sourceUrl: request.sourceUrl,
      targetUrl: request.targetUrl,
      tables: [{ table, ...(keyRange ? { keyRange } : {}) }],
      options: { mode: 'checksum', maxDiffRows },
    });
    const t = report.tables[0]!;
    results.push(summarise(t, sample));
    if (!sample) full.push(t);
  }
  const sampled = results.some((r) => r.sampled);
  return {
    tables: results,
    match: results.every((r) => r.match),
    sampled,
    consistency: sampled ? undefined : sloVerdict(NAMED_SLOS.dataConsistency, consistencyPercent({ tables: full }), `row counts and checksums of ${full.length} table(s), every row`),
    durationSeconds: (Date.now() - started) / 1000,
  };
}

export function keyText(key: RowKey): string {
  return Object.entries(key).map(([k, v]) => `${k}=${v}`).join(',');
}

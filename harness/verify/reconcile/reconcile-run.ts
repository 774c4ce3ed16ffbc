/** Entry point: open both databases, reconcile each table, summarise. Mismatches are data, never exceptions. */
import { performance } from 'node:perf_hooks';
import { openSession } from './session-open.js';
import { reconcileTable } from './table-reconcile.js';
import { DEFAULT_RECONCILE_OPTIONS, type ReconcileOptions, type ReconcileReport, type TableReport, type TableSpec } from './reconcile-types.js';
import type { SqlSession } from './sql-session.js';

export interface ReconcileRequest {
  sourceUrl: string;
  targetUrl: string;
  tables: TableSpec[];
  options?: Partial<ReconcileOptions>;
}

/**
 * Compares tables between two databases. Throws HarnessError only when a database cannot be reached or a statement
 * fails; a missing table is reported in that table's `error`, a difference in its diff lists.
 */
export async function reconcile(request: ReconcileRequest): Promise<ReconcileReport> {
  const options = { ...DEFAULT_RECONCILE_OPTIONS, ...request.options };
  const connections = Math.max(1, options.parallelism) + 1;
  const source = await openSession(request.sourceUrl, 'source', { connections });
  let target: SqlSession | undefined;
  try {
    target = await openSession(request.targetUrl, 'target', { connections });
    return await reconcileSessions(source, target, request.tables, options);
  } finally {
    await Promise.all([source.close().catch(() => {}), target?.close().catch(() => {})]);
  }
}

/** Same as reconcile() on sessions the caller owns (scenarios keep theirs open across checks). */
export async function reconcileSessions(source: SqlSession, target: SqlSession, tables: TableSpec[], partial: Partial<ReconcileOptions> = {}): Promise<ReconcileReport> {
  const options = { ...DEFAULT_RECONCILE_OPTIONS, ...partial };
  const startedAt = new Date();
  const t0 = performance.now();
  const reports: TableReport[] = [];
  for (const spec of tables) reports.push(await reconcileTable(source, target, spec, options));
  const sum = (f: (t: TableReport) => number) => reports.reduce((n, t) => n + f(t), 0);
  return {
    reportVersion: 1,
    tool: 'runbook-harness reconcile',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    source: { dialect: source.dialect, endpoint: source.endpoint },
    target: { dialect: target.dialect, endpoint: target.endpoint },
    options,
    summary: {
      match: reports.every((t) => t.match),
      tables: reports.length,
      matchedTables: reports.filter((t) => t.match).length,
      mismatchedTables: reports.filter((t) => !t.match && !t.error).length,
      erroredTables: reports.filter((t) => t.error).length,
      sourceRows: sum((t) => t.sourceRows),
      targetRows: sum((t) => t.targetRows),
      missingInTarget: sum((t) => t.diffCounts.missingInTarget),
      extraInTarget: sum((t) => t.diffCounts.extraInTarget),
      differing: sum((t) => t.diffCounts.differing),
      durationSeconds: (performance.now() - t0) / 1000,
    },
    tables: reports,
  };
}

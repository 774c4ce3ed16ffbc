export { reconcile, reconcileSessions, type ReconcileRequest } from './reconcile-run.js';
export { openSession } from './session-open.js';
export { renderReportText, writeReportFile } from './report-render.js';
export * from './reconcile-types.js';
export type { SqlSession } from './sql-session.js';

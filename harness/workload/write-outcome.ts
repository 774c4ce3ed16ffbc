/**
 * What a write's error proves. A write is `failed` only when the database said the statement did not apply
 * (its SQLSTATE, or SQL Server's error number, names a rejection); anything else — the connection dropped, a
 * client-side timeout fired while the statement went on in the server, an error without a code — leaves the
 * write `indeterminate`: it may have committed, and the checker must accept it present or absent.
 */

/** SQLSTATE classes whose every code is a rejection of the statement (data exception, constraint, syntax/access). */
const REJECTING_CLASSES = new Set(['22', '23', '42']);
/**
 * Single SQLSTATEs that prove the statement was rolled back: serialization failure, deadlock, integrity at commit,
 * lock not available (lock_timeout), statement canceled in the server (statement_timeout, pg_cancel_backend),
 * read-only transaction.
 */
const REJECTING_CODES = new Set(['40001', '40P01', '40002', '55P03', '57014', '25006']);
/**
 * SQL Server error numbers (autocommit statements are atomic, so each means nothing was written): duplicate key
 * 2627/2601, constraint 547, NULL into NOT NULL 515, truncation 8152/2628, conversion 245/8114/241, invalid
 * column/object 207/208, deadlock victim 1205, lock request timeout 1222.
 */
const SQLSERVER_REJECTIONS = new Set([2627, 2601, 547, 515, 8152, 2628, 245, 8114, 241, 207, 208, 1205, 1222]);

export interface WriteErrorClass {
  outcome: 'failed' | 'indeterminate';
  /** The SQLSTATE (PostgreSQL) or error number (SQL Server) found, if any. */
  code?: string;
}

/** The driver error: sessions wrap it (HarnessError with `cause`), so look through the causes. */
function driverCode(error: unknown): { sqlstate?: string; number?: number } {
  for (let e = error as { code?: unknown; number?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return { sqlstate: e.code };
    if (typeof e.number === 'number' && e.number > 0) return { number: e.number };
  }
  return {};
}

export function classifyWriteError(error: unknown): WriteErrorClass {
  const { sqlstate, number } = driverCode(error);
  if (sqlstate) return { outcome: REJECTING_CLASSES.has(sqlstate.slice(0, 2)) || REJECTING_CODES.has(sqlstate) ? 'failed' : 'indeterminate', code: sqlstate };
  if (number !== undefined) return { outcome: SQLSERVER_REJECTIONS.has(number) ? 'failed' : 'indeterminate', code: String(number) };
  return { outcome: 'indeterminate' };
}

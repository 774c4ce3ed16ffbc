/**
 * The Pre-Change Checklist's backup, as the runbook writes it: its `pg_dump` command line run through bash with
 * $TARGET_URL set and the stack's PostgreSQL 17 client first on PATH; the dump restored with pg_restore into a
 * scratch database on the target server; and a check of the restored table against the workload's history.
 * These return observations; only scenarios assert.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type PostgresTools } from '../env/stack.js';
import { openSession, type ReconcileReport, reconcileSessions, type RowKey, type SqlSession } from '../verify/reconcile/index.js';
import { type WorkloadHistory } from '../workload/writer.js';
import { type CommandRun, runRunbookCommand } from './runbook-commands.js';

export interface BackupFile {
  dir: string;
  file: string;
  bytes: number;
}

/** A fresh directory for the runbook's relative --file path; the files in it after a command ran. */
export function backupDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'rh-backup-'));
}

export function filesIn(dir: string): BackupFile[] {
  return readdirSync(dir).map((name) => ({ dir, file: path.join(dir, name), bytes: statSync(path.join(dir, name)).size }));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** postgres://…/db with the database swapped. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface ScratchRestore {
  database: string;
  url: string;
  session: SqlSession;
  restore: CommandRun;
  drop(): Promise<void>;
}

/** Creates `database` on the target server and pg_restores `table` from `dumpFile` into it. */
export async function restoreIntoScratch(target: SqlSession, targetUrl: string, tools: PostgresTools, dumpFile: string, table: string, database: string): Promise<ScratchRestore> {
  await target.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await target.query(`CREATE DATABASE ${database}`);
  const url = withDatabase(targetUrl, database);
  // The runbook's restore form (Point-in-Time Recovery): pg_restore --dbname=… --table=<table> <file>; a fresh database needs no --clean.
  const restore = await runRunbookCommand(`pg_restore --dbname="$SCRATCH_URL" --table=${table} --no-owner "${dumpFile}"`, tools, { SCRATCH_URL: url }, path.dirname(dumpFile));
  const session = await openSession(url, 'restored backup', { connections: 1 });
  return {
    database,
    url,
    session,
    restore,
    async drop() {
      await session.close().catch(() => undefined);
      await target.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}

export interface BackupVerdict {
  /** The backup matches the target row by row, except keys the workload wrote after the drain mark. */
  pass: boolean;
  restoredRows: number;
  targetRows: number;
  /** Keys that differ between backup and final target and that the workload wrote after the mark: expected. */
  changedAfterBackup: number;
  /** Keys that differ although no write touched them after the mark: the backup is wrong. */
  unexplained: RowKey[];
  markerInBackup: boolean;
  report: ReconcileReport;
}

/**
 * Compares the restored table with the (converged) target. The target had applied every write up to the
 * marker when the dump started, so a key no write touched after the marker must be identical in both.
 */
export async function checkBackup(restored: SqlSession, target: SqlSession, table: string, history: WorkloadHistory, markerKey: number, writesBeforeMark: number): Promise<BackupVerdict> {
  const report = await reconcileSessions(restored, target, [{ table }], { maxDiffRows: 1_000_000 });
  const t = report.tables[0]!;
  const touchedAfter = new Set(history.writes.slice(writesBeforeMark).map((w) => String(w.key)));
  const key = history.keyColumn;
  const differing = [...t.missingInTarget, ...t.extraInTarget, ...t.differing.map((d) => d.key)];
  const unexplained = differing.filter((k) => !touchedAfter.has(String(k[key])));
  const marker = await restored.query(`SELECT 1 AS present FROM ${table} WHERE ${key} = $1`, [String(markerKey)]);
  return {
    pass: !t.error && !t.truncated && unexplained.length === 0 && marker.length === 1,
    restoredRows: t.sourceRows,
    targetRows: t.targetRows,
    changedAfterBackup: differing.length - unexplained.length,
    unexplained,
    markerInBackup: marker.length === 1,
    report,
  };
}

/** The reconcile command end to end: exit codes 0/1/2, the JSON report on stdout and on disk, one-line errors. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../harness/core/subprocess.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';

let source: PostgresInstance;
let target: PostgresInstance;
let outputDir: string;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgresInstance(), startPostgresInstance()]);
  outputDir = mkdtempSync(path.join(os.tmpdir(), 'rh-reports-'));
  const ddl = 'CREATE TABLE customers (id int PRIMARY KEY, email text, __deleted text); CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2))';
  const rows = "INSERT INTO customers SELECT g, 'c' || g || '@x', 'false' FROM generate_series(1, 300) g; INSERT INTO orders SELECT g, g FROM generate_series(1, 50) g";
  await source.sql(`${ddl}; ${rows}`);
  await target.sql(`${ddl}; ${rows}; UPDATE customers SET __deleted = 'true' WHERE id = 5; UPDATE orders SET total = 0 WHERE id = 7; DELETE FROM orders WHERE id = 8`);
});
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (outputDir) rmSync(outputDir, { recursive: true, force: true });
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliIn(outputDir, ...args);
}
function cliIn(stateDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(process.execPath, ['bin/runbook-harness.js', 'reconcile', ...args], { env: { RUNBOOK_HARNESS_STATE_DIR: stateDir }, reject: false }).then((r) => ({ code: r.exitCode ?? 2, stdout: r.stdout, stderr: r.stderr }));
}
const urls = () => ['--source-url', source.url, '--target-url', target.url, '--output-dir', outputDir];

describe('runbook-harness reconcile', () => {
  it('exits 0 when tables match (ignoring __deleted) and prints the JSON report', async () => {
    const r = await cli('--table', 'customers', '--checksum', '--ignore', '__deleted', '--report-format', 'json', ...urls());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toMatchObject({ match: true, sourceRows: 300, targetRows: 300 });
    expect(report.tables[0]).toMatchObject({ table: 'customers', match: true, sourceRows: 300, targetRows: 300, missingInTarget: [], extraInTarget: [], differing: [] });
    expect(r.stdout).not.toContain(source.password);
    expect(readdirSync(outputDir).some((f) => /^reconciliation_customers_.*\.json$/.test(f))).toBe(true);
  });

  it('exits 1 on a mismatch and names the differing and missing keys', async () => {
    const r = await cli('--tables', 'customers,orders', '--chunk-size', '10', '--report-format', 'json', ...urls());
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    const [customers, orders] = report.tables;
    expect(customers.differing).toEqual([{ key: { id: 5 }, columns: ['__deleted'], source: { __deleted: 'false' }, target: { __deleted: 'true' } }]);
    expect(orders.differing.map((d: { key: unknown }) => d.key)).toEqual([{ id: 7 }]);
    expect(orders.missingInTarget).toEqual([{ id: 8 }]);
    expect(report.summary).toMatchObject({ match: false, mismatchedTables: 2, differing: 2, missingInTarget: 1 });
    const file = readdirSync(outputDir).find((f) => f.startsWith('reconciliation_2-tables_'))!;
    expect(JSON.parse(readFileSync(path.join(outputDir, file), 'utf8')).summary.match).toBe(false);
  });

  it('compares row counts only, in text', async () => {
    const r = await cli('--table', 'orders', '--row-count-only', ...urls());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/MISMATCH orders -> public\.orders: source 50 rows, target 49 rows/);
  });

  it('exits 2 with one line for a table missing on one side', async () => {
    await source.sql('CREATE TABLE IF NOT EXISTS only_here (id int PRIMARY KEY)');
    const r = await cli('--table', 'only_here', ...urls());
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/table only_here not found in the target \(postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/harness\)/);
  });

  it('exits 2 with one line naming the endpoint for wrong credentials, password redacted', async () => {
    const wrong = target.url.replace(target.password, 'hunter2hunter2');
    const r = await cli('--table', 'orders', '--source-url', source.url, '--target-url', wrong);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^runbook-harness: cannot connect to target database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/harness: password authentication failed/);
    expect(r.stderr).not.toContain('hunter2hunter2');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('uses the running stack when no URLs are given', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rh-stack-'));
    try {
      const endpoint = (db: PostgresInstance) => ({ dialect: 'postgres', host: '127.0.0.1', port: db.port, database: 'harness', user: 'postgres', password: db.password, url: db.url });
      writeFileSync(path.join(stateDir, 'stack.json'), JSON.stringify({ version: 1, ownerPid: process.pid, startedAt: new Date().toISOString(), dataDir: stateDir, processes: {}, endpoints: { env: 'local', source: endpoint(source), target: endpoint(target), kafka: { bootstrap: '127.0.0.1:1' } } }));
      const r = await cliIn(stateDir, '--table', 'orders', '--row-count-only', '--output-dir', outputDir);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/source 50 rows, target 49 rows/);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('exits 2 on bad flags and without a running stack', async () => {
    expect((await cli('--table', 'orders', '--chunk-size', 'lots', ...urls())).stderr).toMatch(/--chunk-size must be a positive number, got 'lots'/);
    const noStack = await cli('--table', 'orders');
    expect(noStack.code).toBe(2);
    expect(noStack.stderr).toMatch(/no running stack .*pass --source-url and --target-url/);
    expect((await cli('--table', 'a', '--tables', 'b', ...urls())).code).toBe(2);
  });
});

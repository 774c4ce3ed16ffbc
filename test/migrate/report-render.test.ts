import { describe, expect, it } from 'vitest';
import type { Migration, MigrationEvent } from '../../harness/migrate/control-store.js';
import { escapeHtml, renderReportHtml } from '../../harness/migrate/report-html.js';
import { buildReportModel } from '../../harness/migrate/report-model.js';
import type { SloThreshold } from '../../harness/verify/slo.js';

const migration: Migration = {
  id: 'm-20251110',
  state: 'replicating',
  source: { host: '10.0.0.1', port: 5432, database: 'production', user: 'postgres', systemIdentifier: '1' },
  target: { host: '10.0.0.2', port: 5432, database: 'production_new', user: 'postgres', systemIdentifier: '2' },
  tables: ['public.customers', 'public.orders'],
  pipeline: { sourceConnector: 'postgres-source', sinkConnector: 'postgresql-sink', topicPrefix: 'warehouse', slotName: 'debezium_warehouse', publicationName: 'dbz_warehouse', signalTable: 'public.runbook_harness_signal', heartbeatTable: 'public.runbook_harness_heartbeat', schemas: ['public'] },
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:10:00.000Z',
};
const slos: SloThreshold[] = [
  { metric: 'Data replication lag', comparator: '<', value: 5, unit: 'seconds' },
  { metric: 'Cutover time', comparator: '<', value: 300, unit: 'seconds' },
  { metric: 'Data consistency validation', comparator: '>=', value: 100, unit: 'percent' },
];
const ev = (at: string, verb: string, step: string, detail: Record<string, unknown>, outcome: MigrationEvent['outcome'] = 'ok'): MigrationEvent => ({ migrationId: migration.id, at, actor: 'dba@host pid 1', verb, step, outcome, detail });
const table = (name: string, match: boolean, extra: Record<string, unknown> = {}) => ({ table: name, match, sourceRows: 10, targetRows: 10, missingInTarget: 0, extraInTarget: 0, differing: match ? 0 : 1, keys: { missingInTarget: [], extraInTarget: [], differing: [] }, ...extra });

describe('migrate report model and page', () => {
  it('SLOs with no measurement are NOT MEASURED, never PASS', () => {
    const model = buildReportModel(migration, [], slos, 'now');
    expect(model.slos.map((s) => s.verdict)).toEqual([null, null, null]);
    const html = renderReportHtml(model);
    expect(html.match(/NOT MEASURED/g)).toHaveLength(3);
    expect(html).not.toContain('<b>PASS</b>');
    expect(html).toContain('No lag samples recorded');
  });

  it('lag samples give the lag verdict (p95) and a chart; one slow sample fails it', () => {
    const lag = (at: string, s: number) => ev(at, 'lag', 'sample', { heartbeatSeconds: s, timedOut: false, consumerLag: 3, slot: { unconfirmedBytes: 100 } });
    const ok = buildReportModel(migration, [lag('2026-01-01T00:01:00Z', 1.2), lag('2026-01-01T00:02:00Z', 0.8)], slos);
    expect(ok.slos[0]!.verdict?.pass).toBe(true);
    expect(ok.lag).toHaveLength(2);
    const html = renderReportHtml(ok);
    expect(html).toContain('<polyline');
    expect(html).toContain('<b>PASS</b>');
    const slow = buildReportModel(migration, [lag('2026-01-01T00:01:00Z', 1.2), lag('2026-01-01T00:02:00Z', 9)], slos);
    expect(slow.slos[0]!.verdict?.pass).toBe(false);
    expect(renderReportHtml(slow)).toContain('<b>FAIL</b>');
  });

  it('consistency is measured only by a full validation of every table; a sampled one never claims 100 %', () => {
    const full = ev('2026-01-01T00:03:00Z', 'validate', 'result', { tables: [table('public.customers', true), table('public.orders', true)], match: true, sampled: false });
    expect(buildReportModel(migration, [full], slos).slos[2]!.verdict?.pass).toBe(true);
    const sampled = ev('2026-01-01T00:04:00Z', 'validate', 'result', { tables: [table('public.orders', true, { sampled: { rows: 5, of: 10, from: ['1'], to: ['6'], keyColumns: ['order_id'] } })], match: true, sampled: true });
    const model = buildReportModel(migration, [full, sampled], slos);
    expect(model.slos[2]!.verdict).toBeNull();
    expect(model.slos[2]!.note).toMatch(/sampled/);
    expect(renderReportHtml(model)).toContain('sampled 5 of 10 rows');
    const mismatch = ev('2026-01-01T00:05:00Z', 'validate', 'result', { tables: [table('public.customers', false), table('public.orders', true)], match: false, sampled: false });
    const bad = buildReportModel(migration, [mismatch], slos);
    expect(bad.slos[2]!.verdict?.pass).toBe(false);
    expect(renderReportHtml(bad)).toContain('MISMATCH');
  });

  it('a verdict another verb recorded (cutover) fills its SLO row', () => {
    const cut = ev('2026-01-01T00:06:00Z', 'cutover', 'done', { verdict: { slo: 'Cutover time', threshold: '< 300', thresholdValue: 300, comparator: '<', measured: 42, unit: 'seconds', pass: true } });
    const model = buildReportModel(migration, [cut], slos);
    expect(model.slos[1]!.verdict?.measured).toBe(42);
    expect(model.slos[1]!.note).toMatch(/migrate cutover/);
  });

  it('escapes everything and masks passwords; the page is self-contained', () => {
    expect(escapeHtml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
    const evil = ev('2026-01-01T00:07:00Z', 'init', 'checks', { note: '<script>alert(1)</script>', url: 'postgres://u:hunter22@h/db' });
    const html = renderReportHtml(buildReportModel(migration, [evil], slos));
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('hunter22');
    expect(html).not.toMatch(/<(script|link|img)\b|src=|href=/);
  });
});

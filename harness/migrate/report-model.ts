/**
 * What `migrate report` shows, built from the migration and its event log alone (pure, unit-tested):
 *   SLO verdicts  one per row of the runbook's SLO table; "not measured" when the log holds no measurement
 *   lag samples   every `migrate lag` run (heartbeat seconds, consumer records, slot bytes)
 *   validations   the latest `migrate validate` result per table (sampled ones say so)
 *   events        the whole log
 */
import { lagSloVerdict, timelineOf, type HeartbeatSample } from '../verify/lag.js';
import { sloVerdict, type SloThreshold, type SloVerdict } from '../verify/slo.js';
import type { Migration, MigrationEvent } from './control-store.js';
import type { TableValidation, ValidationResult } from './table-validation.js';

export interface LagPoint {
  at: string;
  heartbeatSeconds: number;
  timedOut: boolean;
  consumerLag: number | null;
  slotUnconfirmedBytes: number | null;
}

export interface TableResult extends TableValidation {
  at: string;
}

export interface SloRow {
  metric: string;
  threshold: string;
  /** null: nothing in the log measures it (yet). */
  verdict: SloVerdict | null;
  note: string;
}

export interface ReportModel {
  migration: Migration;
  generatedAt: string;
  slos: SloRow[];
  lag: LagPoint[];
  tables: TableResult[];
  events: MigrationEvent[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function lagPoints(events: MigrationEvent[]): LagPoint[] {
  return events
    .filter((e) => e.verb === 'lag' && e.step === 'sample' && typeof e.detail.heartbeatSeconds === 'number')
    .map((e) => {
      const slot = e.detail.slot as { unconfirmedBytes?: number } | null | undefined;
      return { at: e.at ?? '', heartbeatSeconds: e.detail.heartbeatSeconds as number, timedOut: e.detail.timedOut === true, consumerLag: num(e.detail.consumerLag), slotUnconfirmedBytes: num(slot?.unconfirmedBytes) };
    });
}

/** The newest validate result per table (a later sampled run replaces an earlier full one: the table shows what was last seen). */
export function latestTableResults(events: MigrationEvent[]): TableResult[] {
  const latest = new Map<string, TableResult>();
  for (const e of events) {
    if (e.verb !== 'validate' || e.step !== 'result') continue;
    const result = e.detail as unknown as ValidationResult;
    for (const t of result.tables ?? []) latest.set(t.table, { ...t, at: e.at ?? '' });
  }
  return [...latest.values()].sort((a, b) => a.table.localeCompare(b.table));
}

/** Verdicts other verbs recorded (detail.verdict / detail.verdicts), newest per SLO name; lag samples are aggregated instead. */
function recordedVerdicts(events: MigrationEvent[]): Map<string, { verdict: SloVerdict; at: string; verb: string }> {
  const out = new Map<string, { verdict: SloVerdict; at: string; verb: string }>();
  for (const e of events) {
    if (e.verb === 'lag' || e.verb === 'validate') continue;
    const list = [e.detail.verdict, ...(Array.isArray(e.detail.verdicts) ? e.detail.verdicts : [])].filter((v): v is SloVerdict => typeof v === 'object' && v !== null && typeof (v as SloVerdict).slo === 'string');
    for (const v of list) out.set(v.slo.toLowerCase(), { verdict: v, at: e.at ?? '', verb: e.verb });
  }
  return out;
}

export function buildReportModel(migration: Migration, events: MigrationEvent[], slos: SloThreshold[], generatedAt = new Date().toISOString()): ReportModel {
  const lag = lagPoints(events);
  const tables = latestTableResults(events);
  const recorded = recordedVerdicts(events);
  const rows: SloRow[] = slos.map((slo) => {
    const threshold = `${slo.comparator} ${slo.value} ${slo.unit}`;
    const name = slo.metric.toLowerCase();
    if (name === 'data replication lag') {
      if (!lag.length) return { metric: slo.metric, threshold, verdict: null, note: "no lag samples recorded: run 'migrate lag'" };
      const samples: HeartbeatSample[] = lag.map((p) => ({ marker: '', writtenAt: p.at, lagSeconds: p.heartbeatSeconds, timedOut: p.timedOut, lastSeen: null, resolutionSeconds: 0.05 }));
      const verdict = lagSloVerdict(timelineOf(samples), slo, lag.length > 1 ? 'p95' : 'max');
      return { metric: slo.metric, threshold, verdict, note: `over ${lag.length} recorded 'migrate lag' sample(s)` };
    }
    if (name === 'data consistency validation') {
      const covered = migration.tables.every((t) => tables.some((r) => r.table === t));
      const sampled = tables.filter((t) => t.sampled);
      if (!tables.length || !covered) return { metric: slo.metric, threshold, verdict: null, note: `not every table validated yet (${tables.length} of ${migration.tables.length})` };
      if (sampled.length) return { metric: slo.metric, threshold, verdict: null, note: `the latest validation of ${sampled.map((t) => t.table).join(', ')} was sampled; a sample never establishes 100 % (run 'migrate validate' without --sample-size)` };
      const percent = (100 * tables.filter((t) => t.match).length) / tables.length;
      return { metric: slo.metric, threshold, verdict: sloVerdict(slo, percent, `latest full validation of each of ${tables.length} table(s)`), note: 'row counts and checksums, every row' };
    }
    const found = recorded.get(name);
    return found ? { metric: slo.metric, threshold, verdict: found.verdict, note: `recorded by 'migrate ${found.verb}' at ${found.at}` } : { metric: slo.metric, threshold, verdict: null, note: 'nothing in the event log measures it yet' };
  });
  return { migration, generatedAt, slos: rows, lag, tables, events };
}

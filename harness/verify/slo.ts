/**
 * SLO verdicts: `{ slo, threshold, measured, unit, pass }`. Thresholds come from the runbook's SLO table
 * (harness/runbook/slo.ts parses it into targets of this shape) or from a named constant below.
 * A verdict is data: scenarios assert on `pass`, nothing here throws.
 */
export type SloComparator = '<' | '<=' | '=' | '>=' | '>';

export interface SloThreshold {
  /** The SLO's name as the runbook writes it, e.g. "Data replication lag". */
  metric: string;
  comparator: SloComparator;
  value: number;
  /** 'seconds' | 'percent' | 'bytes' | 'rows' ... */
  unit: string;
}

export interface SloVerdict {
  slo: string;
  /** e.g. "< 5" */
  threshold: string;
  thresholdValue: number;
  comparator: SloComparator;
  measured: number;
  unit: string;
  pass: boolean;
  /** What was measured, e.g. "heartbeat p95 over 30 samples". */
  detail?: string;
}

/** Thresholds the harness uses when no runbook states one; each says where it comes from. */
export const NAMED_SLOS = {
  /** database-migration runbook, SLO table: "Data replication lag < 5 seconds". */
  replicationLag: { metric: 'Data replication lag', comparator: '<', value: 5, unit: 'seconds' },
  /** database-migration runbook, SLO table: "Data consistency validation 100%". */
  dataConsistency: { metric: 'Data consistency validation', comparator: '>=', value: 100, unit: 'percent' },
  /** database-migration runbook, alerts table: P1 at "Replication lag > 60 seconds". */
  replicationLagP1: { metric: 'Replication lag (P1 alert)', comparator: '<=', value: 60, unit: 'seconds' },
} as const satisfies Record<string, SloThreshold>;

function meets(comparator: SloComparator, measured: number, value: number): boolean {
  switch (comparator) {
    case '<':
      return measured < value;
    case '<=':
      return measured <= value;
    case '=':
      return measured === value;
    case '>=':
      return measured >= value;
    case '>':
      return measured > value;
  }
}

/** A NaN or infinite measurement (nothing observed) never passes. */
export function sloVerdict(threshold: SloThreshold, measured: number, detail?: string): SloVerdict {
  return {
    slo: threshold.metric,
    threshold: `${threshold.comparator} ${threshold.value}`,
    thresholdValue: threshold.value,
    comparator: threshold.comparator,
    measured,
    unit: threshold.unit,
    pass: Number.isFinite(measured) && meets(threshold.comparator, measured, threshold.value),
    ...(detail ? { detail } : {}),
  };
}

/** Percentage of compared tables that matched, as the "Data consistency validation" SLO measures it. */
export function consistencyPercent(report: { tables: { match: boolean }[] }): number {
  return report.tables.length === 0 ? Number.NaN : (100 * report.tables.filter((t) => t.match).length) / report.tables.length;
}

export function describeVerdict(v: SloVerdict): string {
  return `${v.pass ? 'PASS' : 'FAIL'} ${v.slo}: measured ${Number.isFinite(v.measured) ? +v.measured.toFixed(3) : v.measured} ${v.unit}, threshold ${v.threshold} ${v.unit}${v.detail ? ` (${v.detail})` : ''}`;
}

/**
 * The SLO table (Metric | Target | Measurement) as typed thresholds, and verdicts against observed values.
 * Targets read like `< 5 seconds`, `0 seconds (zero-downtime)`, `< 2 minutes`, `99%`, `100%`.
 */
import { RunbookError } from './errors.js';
import { loadRunbook } from './parse.js';
import { assertClaim, checkClaim, type Claim, type ClaimVerdict } from './claims.js';

export type Comparator = '<' | '<=' | '=' | '>=' | '>';
export type SloUnit = 'seconds' | 'percent';

export interface SloTarget {
  metric: string;
  comparator: Comparator;
  /** In `unit`: seconds for durations (minutes are converted), percent for ratios. */
  value: number;
  unit: SloUnit;
  raw: string;
  measurement: string;
  claim: Claim;
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, millisecond: 0.001, second: 1, s: 1, sec: 1, minute: 60, min: 60, hour: 3600, h: 3600 };

function parseTarget(raw: string, file: string, line: number): { comparator: Comparator; value: number; unit: SloUnit } {
  const m = /^\s*(<=|>=|<|>|=|≤|≥)?\s*(\d+(?:\.\d+)?)\s*(%|[a-z]+)?/i.exec(raw);
  if (!m) throw new RunbookError(file, line, `SLO target '${raw}' is not a number with a unit`);
  const op = ({ '≤': '<=', '≥': '>=' } as Record<string, Comparator>)[m[1] ?? ''] ?? (m[1] as Comparator | undefined);
  const value = Number(m[2]);
  const unitWord = (m[3] ?? '').toLowerCase();
  if (unitWord === '%') return { comparator: op ?? '>=', value, unit: 'percent' };
  const factor = UNIT_SECONDS[unitWord.replace(/s$/, '')] ?? UNIT_SECONDS[unitWord];
  if (factor === undefined) throw new RunbookError(file, line, `SLO target '${raw}': unknown unit '${m[3] ?? ''}'`);
  // A bare duration ("0 seconds") is a ceiling.
  return { comparator: op ?? '<=', value: value * factor, unit: 'seconds' };
}

export function sloTable(runbookName: string): SloTarget[] {
  const runbook = loadRunbook(runbookName);
  for (const section of runbook.sections) {
    const table = section.tables.find((t) => t.header.map((h) => h.toLowerCase()).join('|').startsWith('metric|target'));
    if (!table) continue;
    const measurementCol = table.header.findIndex((h) => h.toLowerCase() === 'measurement');
    return table.rows.map((cells, r) => {
      const line = table.rowLines[r];
      const metric = cells[0].replace(/\*/g, '').trim();
      return {
        metric,
        ...parseTarget(cells[1], runbook.file, line),
        raw: cells[1],
        measurement: measurementCol >= 0 ? cells[measurementCol] : '',
        claim: { runbook: runbook.name, file: runbook.file, sectionId: section.id, sectionTitle: section.title, line, text: `${metric}: ${cells[1]}` },
      };
    });
  }
  throw new RunbookError(runbook.file, 0, "no SLO table (a table with columns 'Metric | Target')");
}

/** One SLO by metric name (case-insensitive), e.g. `Data replication lag`. */
export function sloTarget(runbookName: string, metric: string): SloTarget {
  const all = sloTable(runbookName);
  const found = all.find((t) => t.metric.toLowerCase() === metric.toLowerCase());
  if (!found) throw new Error(`runbook '${runbookName}' SLO table has no metric '${metric}'; it has: ${all.map((t) => t.metric).join(', ')}`);
  return found;
}

function meets(target: SloTarget, observed: number): boolean {
  switch (target.comparator) {
    case '<': return observed < target.value;
    case '<=': return observed <= target.value;
    case '=': return observed === target.value;
    case '>=': return observed >= target.value;
    case '>': return observed > target.value;
  }
}

/** Observed value in the target's unit (seconds or percent). */
export function sloVerdict(target: SloTarget, observed: number, context = ''): ClaimVerdict {
  const unit = target.unit === 'seconds' ? 's' : '%';
  return checkClaim(target.claim, meets(target, observed), `${observed}${unit}${context ? ` (${context})` : ''}`);
}

export function assertSlo(target: SloTarget, observed: number, context = ''): ClaimVerdict {
  const unit = target.unit === 'seconds' ? 's' : '%';
  return assertClaim(target.claim, meets(target, observed), `${observed}${unit}${context ? ` (${context})` : ''}`);
}

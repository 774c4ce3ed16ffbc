/**
 * Differences planted in the replica behind the pipeline's back, by key (rows deleted, a value changed, a row the
 * source never had), what a reconciliation report says about those keys, and the repair that sends the named keys
 * through the pipeline again. These return observations; only scenarios assert.
 */
import { runSql } from './runbook-blocks.js';
import { type SqlSession, type TableReport } from '../verify/reconcile/index.js';

export interface PlantedDifferences {
  table: string;
  keyColumn: string;
  /** Keys deleted from the target. */
  missing: number[];
  /** Keys whose `column` is changed in the target. */
  differing: number[];
  /** The column changed on the differing keys (a text column). */
  column: string;
  /** Keys inserted into the target only; `extraRow` gives the other NOT NULL values. */
  extra: number[];
  extraRow?: Record<string, string>;
}

/** The keys a report lists for one table, by kind, the ones `counts` (a key filter) keeps, ascending. */
export interface FoundDifferences {
  missing: number[];
  differing: number[];
  extra: number[];
  /** The differing columns of each differing key. */
  columns: Record<number, string[]>;
}

const sorted = (keys: number[]) => [...keys].sort((a, b) => a - b);

/** Plants the differences in the target, each statement attached. */
export async function plantDifferences(target: SqlSession, plan: PlantedDifferences): Promise<void> {
  const { table, keyColumn: key } = plan;
  if (plan.missing.length) await runSql(target, `DELETE FROM ${table} WHERE ${key} IN (${plan.missing.join(', ')})`, `planted: rows missing in the target ${table}`);
  if (plan.differing.length) await runSql(target, `UPDATE ${table} SET ${plan.column} = 'changed in the target' WHERE ${key} IN (${plan.differing.join(', ')})`, `planted: a differing ${plan.column} in ${table}`);
  for (const k of plan.extra) {
    const row = { [key]: String(k), ...plan.extraRow };
    const columns = Object.keys(row);
    await runSql(target, `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `'${row[c]!.replace(/'/g, "''")}'`).join(', ')})`, `planted: a row only the target ${table} has`);
  }
}

/** What the report names for `table`, keys kept by `keep` (e.g. leaving out a workload's keys in flight). */
export function foundDifferences(table: TableReport, keyColumn: string, keep: (key: number) => boolean = () => true): FoundDifferences {
  const key = (k: Record<string, unknown>) => Number(k[keyColumn]);
  const differing = table.differing.filter((d) => keep(key(d.key)));
  return {
    missing: sorted(table.missingInTarget.map(key).filter(keep)),
    differing: sorted(differing.map((d) => key(d.key))),
    extra: sorted(table.extraInTarget.map(key).filter(keep)),
    columns: Object.fromEntries(differing.map((d) => [key(d.key), d.columns])),
  };
}

/** The plan as FoundDifferences would name it, for comparing. */
export function expectedDifferences(plan: PlantedDifferences): FoundDifferences {
  return { missing: sorted(plan.missing), differing: sorted(plan.differing), extra: sorted(plan.extra), columns: Object.fromEntries(plan.differing.map((k) => [k, [plan.column]])) };
}

/**
 * Sends the planted keys through the pipeline again from the source: a no-op UPDATE of each missing or differing key
 * (the sink upserts the whole row back), and an insert and delete of each extra key (the sink applies the delete).
 * Nothing is written into the target directly.
 */
export async function resendKeys(source: SqlSession, plan: PlantedDifferences, extraRow: Record<string, string>): Promise<void> {
  const { table, keyColumn: key } = plan;
  const touched = [...plan.missing, ...plan.differing];
  if (touched.length) await runSql(source, `UPDATE ${table} SET ${key} = ${key} WHERE ${key} IN (${touched.join(', ')})`, `repair: re-send ${table} ${touched.join(', ')} from the source`);
  for (const k of plan.extra) {
    const row = { [key]: String(k), ...extraRow };
    const columns = Object.keys(row);
    await runSql(source, `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `'${row[c]!.replace(/'/g, "''")}'`).join(', ')}); DELETE FROM ${table} WHERE ${key} = ${k}`, `repair: a delete of ${table} ${k} through the pipeline`);
  }
}

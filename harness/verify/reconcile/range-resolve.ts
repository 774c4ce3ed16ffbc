/**
 * Bisection: a mismatching range is split until it is small, then its rows are fetched from both sides and compared,
 * giving rows missing in the target, extra in the target, and differing rows with the columns that differ.
 */
import { checksumRange, rowKeyFrom, run, type CompareContext, type RangeChecksum, type Side } from './compare-context.js';
import { DENSE_KEYS } from './chunk-planner.js';
import type { KeyRange, KeyTuple } from './reconcile-types.js';
import type { SqlRow } from './sql-session.js';

export async function resolveRange(ctx: CompareContext, range: KeyRange, source: RangeChecksum, target: RangeChecksum): Promise<void> {
  if (source.rows === 0 || target.rows === 0) return oneSided(ctx, range, source.rows === 0 ? 'target' : 'source', Math.max(source.rows, target.rows));
  if (Math.max(source.rows, target.rows) <= ctx.options.rowFetchThreshold) return compareRows(ctx, range);
  const parts = await splitRange(ctx, range, source.rows >= target.rows ? ctx.source : ctx.target, Math.max(source.rows, target.rows));
  if (parts.length < 2) return compareRows(ctx, range); // cannot split further (should not happen with unique keys)
  for (const part of parts) {
    const [s, t] = await Promise.all([checksumRange(ctx.source, part), checksumRange(ctx.target, part)]);
    if (s.rows !== t.rows || s.sum !== t.sum) await resolveRange(ctx, part, s, t);
  }
}

/** A range with rows on one side only: list as many as the report keeps, count the rest without fetching them. */
async function oneSided(ctx: CompareContext, range: KeyRange, present: 'source' | 'target', rows: number): Promise<void> {
  const list = present === 'source' ? 'missingInTarget' : 'extraInTarget';
  const room = ctx.diffs.room(list);
  const side = ctx[present];
  const fetched = room > 0 ? await run(side, side.dialect.fetchRows(side.plan, range, room)) : [];
  for (const row of fetched) {
    const key = rowKeyFrom(side, row, side.plan.keyIndexes, 'k', true);
    if (present === 'source') ctx.diffs.addMissing(key);
    else ctx.diffs.addExtra(key);
  }
  ctx.diffs.countOnly(list, rows - fetched.length);
}

async function splitRange(ctx: CompareContext, range: KeyRange, denser: Side, rows: number): Promise<KeyRange[]> {
  const fanout = Math.max(2, ctx.options.splitFanout);
  let points: KeyTuple[];
  const lo = ctx.integerKey && range.lower ? BigInt(range.lower[0]!) : undefined;
  const hi = ctx.integerKey && range.upper ? BigInt(range.upper[0]!) : undefined;
  // Equal widths only where the keys are dense; sparse keys (a cluster in a wide range) split at keys that exist.
  if (lo !== undefined && hi !== undefined && rows / Number(hi - lo) >= DENSE_KEYS) {
    const step = (hi - lo + BigInt(fanout) - 1n) / BigInt(fanout);
    points = [];
    for (let p = lo + step; step > 0n && p < hi; p += step) points.push([p.toString()]);
  } else {
    const found = await run(denser, denser.dialect.splitPoints(denser.plan, range, Math.ceil(rows / fanout)));
    points = found.map((row) => denser.plan.keyIndexes.map((_, i) => row[`k${i}`]!));
  }
  const bounds = [range.lower, ...points, range.upper];
  return bounds.slice(0, -1).map((lower, i) => ({ lower, upper: bounds[i + 1] }));
}

/** Rows grouped by key text; a key that is not unique on a side (no PK in the target, or a --key that is not unique) keeps every row. */
function byKey(rows: SqlRow[]): Map<string, SqlRow[]> {
  const map = new Map<string, SqlRow[]>();
  for (const row of rows) {
    const list = map.get(row.keytext!);
    if (list) list.push(row);
    else map.set(row.keytext!, [row]);
  }
  return map;
}

async function compareRows(ctx: CompareContext, range: KeyRange): Promise<void> {
  const [sourceRows, targetRows] = await Promise.all([
    run(ctx.source, ctx.source.dialect.fetchRows(ctx.source.plan, range)),
    run(ctx.target, ctx.target.dialect.fetchRows(ctx.target.plan, range)),
  ]);
  const keyIndexes = ctx.source.plan.keyIndexes;
  const targetByKey = byKey(targetRows);
  for (const [keytext, sourceGroup] of byKey(sourceRows)) {
    const targetGroup = targetByKey.get(keytext) ?? [];
    targetByKey.delete(keytext);
    // Identical rows pair off first; what is left pairs as differing, then as missing (source) or extra (target).
    const unmatchedSource = sourceGroup.filter((row) => {
      const twin = targetGroup.findIndex((t) => t.h === row.h);
      if (twin < 0) return true;
      targetGroup.splice(twin, 1);
      return false;
    });
    unmatchedSource.forEach((sourceRow, i) => {
      const targetRow = targetGroup[i];
      if (!targetRow) return ctx.diffs.addMissing(rowKeyFrom(ctx.source, sourceRow, keyIndexes, 'k', true));
      const columns = ctx.source.plan.columns.map((pc, c) => ({ pc, c })).filter(({ c }) => sourceRow[`c${c}`] !== targetRow[`c${c}`]);
      ctx.diffs.addDiffering({
        key: rowKeyFrom(ctx.source, sourceRow, keyIndexes, 'k', true),
        columns: columns.map(({ pc }) => pc.reportName),
        source: Object.fromEntries(columns.map(({ pc, c }) => [pc.reportName, sourceRow[`d${c}`] ?? null])),
        target: Object.fromEntries(columns.map(({ pc, c }) => [pc.reportName, targetRow[`d${c}`] ?? null])),
      });
    });
    for (const extra of targetGroup.slice(unmatchedSource.length)) ctx.diffs.addExtra(rowKeyFrom(ctx.target, extra, keyIndexes, 'k', true));
  }
  for (const group of targetByKey.values()) for (const row of group) ctx.diffs.addExtra(rowKeyFrom(ctx.target, row, keyIndexes, 'k', true));
}

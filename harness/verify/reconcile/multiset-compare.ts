/**
 * Tables without a key: compared as multisets of whole rows. One checksum per side decides; on a mismatch, rows
 * are grouped by row hash on each side and the surplus copies are reported (each key = all compared columns).
 */
import { checksumRange, rowKeyFrom, run, type CompareContext, type RangeChecksum } from './compare-context.js';
import type { RowKey } from './reconcile-types.js';

export async function compareMultiset(ctx: CompareContext): Promise<{ source: RangeChecksum; target: RangeChecksum }> {
  const [source, target] = await Promise.all([checksumRange(ctx.source, {}), checksumRange(ctx.target, {})]);
  if (source.rows === target.rows && source.sum === target.sum) return { source, target };

  const [sourceCounts, targetCounts] = await Promise.all([
    run(ctx.source, ctx.source.dialect.hashCounts(ctx.source.plan)),
    run(ctx.target, ctx.target.dialect.hashCounts(ctx.target.plan)),
  ]);
  const surplus = new Map<string, number>(); // row hash -> source copies minus target copies
  for (const row of sourceCounts) surplus.set(row.h!, Number(row.n));
  for (const row of targetCounts) surplus.set(row.h!, (surplus.get(row.h!) ?? 0) - Number(row.n));
  const differing = [...surplus].filter(([, delta]) => delta !== 0);

  const cap = ctx.options.maxDiffRows;
  const wanted = (sign: 1 | -1) => differing.filter(([, d]) => Math.sign(d) === sign).slice(0, cap).map(([h]) => h);
  const [sourceRows, targetRows] = await Promise.all([
    wanted(1).length ? run(ctx.source, ctx.source.dialect.rowsWithHashes(ctx.source.plan, wanted(1))) : [],
    wanted(-1).length ? run(ctx.target, ctx.target.dialect.rowsWithHashes(ctx.target.plan, wanted(-1))) : [],
  ]);
  const allColumns = ctx.source.plan.columns.map((_, i) => i);
  const sample = new Map<string, RowKey>();
  for (const row of sourceRows) sample.set(row.h!, rowKeyFrom(ctx.source, row, allColumns, 'd', false));
  for (const row of targetRows) sample.set(row.h!, rowKeyFrom(ctx.target, row, allColumns, 'd', false));

  for (const [hash, delta] of differing) {
    const row = sample.get(hash);
    for (let i = 0; i < Math.abs(delta); i++) {
      if (delta > 0) {
        if (row) ctx.diffs.addMissing(row);
        else ctx.diffs.countOnly('missingInTarget', 1);
      } else if (row) ctx.diffs.addExtra(row);
      else ctx.diffs.countOnly('extraInTarget', 1);
    }
  }
  return { source, target };
}

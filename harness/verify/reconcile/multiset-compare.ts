/**
 * Tables without a key: compared as multisets of whole rows. One scan per side gives a checksum per bucket (row hash
 * modulo BUCKETS); only mismatching buckets are then grouped by row hash, so memory follows the damage, not the
 * table. Surplus copies are reported (each key = all compared columns).
 */
import { normalizeDecimal, rowKeyFrom, run, type CompareContext, type RangeChecksum, type Side } from './compare-context.js';
import type { RowKey } from './reconcile-types.js';

const BUCKETS = 1024;

async function buckets(side: Side): Promise<Map<string, RangeChecksum>> {
  const rows = await run(side, side.dialect.bucketChecksums(side.plan, BUCKETS));
  return new Map(rows.map((r) => [r.b!, { rows: Number(r.cnt), sum: normalizeDecimal(r.hsum ?? '0') }]));
}

function total(map: Map<string, RangeChecksum>): RangeChecksum {
  let rows = 0;
  let sum = 0n;
  for (const c of map.values()) {
    rows += c.rows;
    sum += BigInt(c.sum);
  }
  return { rows, sum: sum.toString() };
}

export async function compareMultiset(ctx: CompareContext): Promise<{ source: RangeChecksum; target: RangeChecksum }> {
  const [sourceBuckets, targetBuckets] = await Promise.all([buckets(ctx.source), buckets(ctx.target)]);
  const totals = { source: total(sourceBuckets), target: total(targetBuckets) };
  const mismatched = [...new Set([...sourceBuckets.keys(), ...targetBuckets.keys()])]
    .filter((b) => sourceBuckets.get(b)?.rows !== targetBuckets.get(b)?.rows || sourceBuckets.get(b)?.sum !== targetBuckets.get(b)?.sum)
    .map(Number);
  if (mismatched.length === 0) return totals;

  const [sourceCounts, targetCounts] = await Promise.all([
    run(ctx.source, ctx.source.dialect.hashCounts(ctx.source.plan, BUCKETS, mismatched)),
    run(ctx.target, ctx.target.dialect.hashCounts(ctx.target.plan, BUCKETS, mismatched)),
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
  return totals;
}

/** One table: introspect both sides, plan, then row counts, multiset, or chunked checksums with bisection. */
import { performance } from 'node:perf_hooks';
import { buildComparePlan } from './compare-plan.js';
import { checksumRange, run, type CompareContext, type Side } from './compare-context.js';
import { ChunkBudget, IntegerKeyPlanner, KeyWalkPlanner, type ChunkPlanner } from './chunk-planner.js';
import { DiffCollector } from './diff-collector.js';
import { compareMultiset } from './multiset-compare.js';
import { resolveRange } from './range-resolve.js';
import { postgresDialect } from './postgres-dialect.js';
import { sqlServerDialect } from './sqlserver-dialect.js';
import type { ChunkResult, KeyRange, KeyTuple, ReconcileOptions, TableName, TableReport, TableSpec } from './reconcile-types.js';
import type { SqlDialect } from './sql-dialect.js';
import type { SqlSession } from './sql-session.js';

/** Chunks listed in a report; mismatching chunks are always listed. */
const MAX_LISTED_CHUNKS = 1_000;

export function dialectFor(session: SqlSession): SqlDialect {
  return session.dialect === 'postgres' ? postgresDialect : sqlServerDialect;
}

/** `schema.table` or `table` (default schema of the dialect); quotes are not needed and not parsed. */
export function parseTableName(text: string, defaultSchema: string): TableName {
  const dot = text.indexOf('.');
  return dot < 0 ? { schema: defaultSchema, name: text } : { schema: text.slice(0, dot), name: text.slice(dot + 1) };
}

/** PostgreSQL folds unquoted names to lower case: `--table Customers` means customers unless Customers exists. */
async function introspectFolded(dialect: SqlDialect, session: SqlSession, name: TableName) {
  const exact = await dialect.introspect(session, name);
  if (exact || session.dialect !== 'postgres') return exact;
  const folded = { schema: name.schema.toLowerCase(), name: name.name.toLowerCase() };
  return folded.schema === name.schema && folded.name === name.name ? undefined : dialect.introspect(session, folded);
}

function emptyReport(spec: TableSpec, targetTable: string, options: ReconcileOptions): TableReport {
  return {
    table: spec.table,
    targetTable,
    match: false,
    mode: options.mode,
    keyColumns: [],
    keyless: false,
    comparedColumns: [],
    columnsMissingInTarget: [],
    columnsOnlyInTarget: [],
    sourceRows: 0,
    targetRows: 0,
    missingInTarget: [],
    extraInTarget: [],
    differing: [],
    diffCounts: { missingInTarget: 0, extraInTarget: 0, differing: 0 },
    truncated: false,
    chunks: [],
    chunkStats: { count: 0, mismatched: 0, listed: 0, targetSeconds: options.chunkTimeSeconds, meanSeconds: 0, maxSeconds: 0 },
    warnings: [],
    durationSeconds: 0,
  };
}

export async function reconcileTable(sourceSession: SqlSession, targetSession: SqlSession, spec: TableSpec, options: ReconcileOptions): Promise<TableReport> {
  const started = performance.now();
  const sourceDialect = dialectFor(sourceSession);
  const targetDialect = dialectFor(targetSession);
  const sourceName = parseTableName(spec.table, sourceDialect.defaultSchema);
  const targetName = parseTableName(spec.targetTable ?? sourceName.name, targetDialect.defaultSchema);
  const report = emptyReport(spec, `${targetName.schema}.${targetName.name}`, options);
  const finish = () => ({ ...report, durationSeconds: (performance.now() - started) / 1000 });

  const [sourceInfo, targetInfo] = await Promise.all([introspectFolded(sourceDialect, sourceSession, sourceName), introspectFolded(targetDialect, targetSession, targetName)]);
  if (!sourceInfo || !targetInfo) {
    const missing = [!sourceInfo && `source (${sourceSession.endpoint})`, !targetInfo && `target (${targetSession.endpoint})`].filter(Boolean).join(' and ');
    report.error = `table ${spec.table} not found in the ${missing}; check the name (schema.table) or pass --target-table`;
    return finish();
  }
  const planned = buildComparePlan(spec, { dialect: sourceSession.dialect, info: sourceInfo }, { dialect: targetSession.dialect, info: targetInfo }, options.hashMode);
  if ('error' in planned) {
    report.error = planned.error;
    return finish();
  }
  const plan = planned.plan;
  Object.assign(report, {
    keyColumns: plan.keyColumns,
    keyless: plan.keyColumns.length === 0,
    comparedColumns: plan.comparedColumns,
    columnsMissingInTarget: plan.columnsMissingInTarget,
    columnsOnlyInTarget: plan.columnsOnlyInTarget,
    hashMode: plan.source.hashMode,
  });
  report.warnings.push(...plan.warnings);
  for (const [flag, tuple] of [['--from-key', spec.keyRange?.from], ['--to-key', spec.keyRange?.to]] as const) {
    if (tuple && plan.keyColumns.length && tuple.length !== plan.keyColumns.length) {
      report.error = `${flag} has ${tuple.length} value(s) but the key (${plan.keyColumns.join(', ')}) has ${plan.keyColumns.length} column(s); give one value per key column`;
      return finish();
    }
  }
  const source: Side = { session: sourceSession, dialect: sourceDialect, plan: plan.source };
  const target: Side = { session: targetSession, dialect: targetDialect, plan: plan.target };
  const keyRange: KeyRange = { lower: spec.keyRange?.from, upper: spec.keyRange?.to };
  if (report.keyless && (keyRange.lower || keyRange.upper)) report.warnings.push('a key range was given but the table has no key: the whole table is compared');

  if (options.mode === 'row-count') {
    const range = report.keyless ? {} : keyRange;
    const [s, t] = await Promise.all([run(source, sourceDialect.count(plan.source, range)), run(target, targetDialect.count(plan.target, range))]);
    report.sourceRows = Number(s[0]?.cnt ?? 0);
    report.targetRows = Number(t[0]?.cnt ?? 0);
    report.match = report.sourceRows === report.targetRows && plan.columnsMissingInTarget.length === 0;
    return finish();
  }

  // Rows whose key has a NULL fall outside every key range: count them so they cannot hide (unless the caller asked
  // for a key range, which excludes them anyway).
  let unkeyedRows = 0;
  const nullableKey = plan.source.keyIndexes.some((i) => plan.source.columns[i]!.column.nullable || plan.target.columns[i]!.column.nullable);
  if (!report.keyless && nullableKey && !keyRange.lower && !keyRange.upper) {
    const [s, t] = await Promise.all([run(source, sourceDialect.nullKeyCount(plan.source)), run(target, targetDialect.nullKeyCount(plan.target))]);
    const [sn, tn] = [Number(s[0]?.cnt ?? 0), Number(t[0]?.cnt ?? 0)];
    unkeyedRows = sn + tn;
    if (unkeyedRows > 0) report.warnings.push(`${sn} source and ${tn} target rows have a NULL in the key (${plan.keyColumns.join(', ')}) and were not compared; the table cannot match until a non-null key is used (--key)`);
  }

  const diffs = new DiffCollector(options.maxDiffRows);
  const keyColumn = plan.source.columns[plan.source.keyIndexes[0]!];
  const ctx: CompareContext = {
    source,
    target,
    plan,
    options,
    diffs,
    integerKey: plan.source.keyIndexes.length === 1 && keyColumn?.kind === 'integer' && plan.target.columns[plan.target.keyIndexes[0]!]?.kind === 'integer',
  };

  if (report.keyless) {
    const totals = await compareMultiset(ctx);
    report.sourceRows = totals.source.rows;
    report.targetRows = totals.target.rows;
  } else {
    const chunks = await runChunks(ctx, await makePlanner(ctx, keyRange));
    report.sourceRows = chunks.reduce((n, c) => n + c.sourceRows, 0);
    report.targetRows = chunks.reduce((n, c) => n + c.targetRows, 0);
    const seconds = chunks.map((c) => c.seconds);
    const mismatched = chunks.filter((c) => !c.match);
    report.chunks = [...mismatched, ...chunks.filter((c) => c.match)].slice(0, Math.max(MAX_LISTED_CHUNKS, mismatched.length)).sort((a, b) => a.index - b.index);
    report.chunkStats = {
      count: chunks.length,
      mismatched: mismatched.length,
      listed: report.chunks.length,
      targetSeconds: options.chunkTimeSeconds,
      meanSeconds: seconds.length ? seconds.reduce((a, b) => a + b, 0) / seconds.length : 0,
      maxSeconds: seconds.reduce((a, b) => Math.max(a, b), 0), // not Math.max(...seconds): a spread overflows the stack on a long list
    };
  }
  Object.assign(report, {
    missingInTarget: diffs.missingInTarget,
    extraInTarget: diffs.extraInTarget,
    differing: diffs.differing,
    diffCounts: { ...diffs.counts },
    truncated: diffs.truncated,
  });
  report.match = diffs.empty && report.sourceRows === report.targetRows && plan.columnsMissingInTarget.length === 0 && unkeyedRows === 0;
  return finish();
}

async function makePlanner(ctx: CompareContext, keyRange: KeyRange): Promise<ChunkPlanner> {
  const budget = new ChunkBudget(ctx.options.chunkSize, ctx.options.chunkTimeSeconds);
  const bounds = { from: keyRange.lower, to: keyRange.upper };
  if (ctx.integerKey) {
    const [s, t] = await Promise.all([
      run(ctx.source, ctx.source.dialect.keyBounds(ctx.source.plan, keyRange)),
      run(ctx.target, ctx.target.dialect.keyBounds(ctx.target.plan, keyRange)),
    ]);
    const values = [s[0]?.lo, s[0]?.hi, t[0]?.lo, t[0]?.hi].filter((v): v is string => v !== null && v !== undefined).map((v) => BigInt(v));
    const keyAtOffset = async (lower: KeyTuple | undefined, offset: number) => {
      const found = await Promise.all([ctx.source, ctx.target].map(async (side) => {
        const rows = await run(side, side.dialect.keyAtOffset(side.plan, { lower, upper: keyRange.upper }, offset));
        return rows[0]?.k0 === undefined || rows[0].k0 === null ? undefined : BigInt(rows[0].k0);
      }));
      const keys = found.filter((k): k is bigint => k !== undefined);
      return keys.length ? keys.reduce((a, b) => (b < a ? b : a)) : undefined;
    };
    if (values.length === 0) return new IntegerKeyPlanner(0n, -1n, budget, bounds, keyAtOffset); // both empty: one open chunk
    const min = values.reduce((a, b) => (b < a ? b : a));
    const max = values.reduce((a, b) => (b > a ? b : a));
    return new IntegerKeyPlanner(min, max, budget, bounds, keyAtOffset);
  }
  const src = ctx.source;
  return new KeyWalkPlanner(budget, bounds, async (lower, offset) => {
    const rows = await run(src, src.dialect.keyAtOffset(src.plan, { lower, upper: keyRange.upper }, offset));
    return rows[0] ? (src.plan.keyIndexes.map((_, i) => rows[0]![`k${i}`]!) as KeyTuple) : undefined;
  });
}

/** Workers pull ranges from the planner; each checksums both sides at once and bisects a mismatch right away. */
async function runChunks(ctx: CompareContext, planner: ChunkPlanner): Promise<ChunkResult[]> {
  const results: ChunkResult[] = [];
  let index = 0;
  const worker = async () => {
    for (let range = await planner.next(); range; range = await planner.next()) {
      const chunkIndex = index++;
      const t0 = performance.now();
      const [s, t] = await Promise.all([checksumRange(ctx.source, range), checksumRange(ctx.target, range)]);
      const seconds = (performance.now() - t0) / 1000;
      planner.observe(Math.max(s.rows, t.rows), seconds, range);
      const match = s.rows === t.rows && s.sum === t.sum;
      results.push({ index: chunkIndex, lower: range.lower ?? null, upper: range.upper ?? null, sourceRows: s.rows, targetRows: t.rows, match, seconds });
      if (!match) await resolveRange(ctx, range, s, t);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, ctx.options.parallelism) }, worker));
  return results.sort((a, b) => a.index - b.index);
}

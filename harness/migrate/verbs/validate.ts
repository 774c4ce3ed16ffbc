/**
 * migrate validate: row counts and checksums of every migrated table (or --table T), source vs target. With
 * --sample-size N each table is compared on one key range of N rows: the output says "sampled N of M rows" and
 * never claims 100 %. Exit 0 every compared row matches, 1 a difference (or a table missing in the target).
 */
import { parseCommandArgs } from '../../cli/command.js';
import { describeVerdict } from '../../verify/slo.js';
import { positiveInteger } from '../migrate-args.js';
import { keyText, validateTables, type TableValidation } from '../table-validation.js';
import { migrationTable } from '../migration-tables.js';
import type { MigrateVerb } from '../verb.js';

const USAGE = '[--table T] [--sample-size N] [--check-row-counts] [--check-checksums]';

export function describeTable(t: TableValidation): string {
  const scope = t.sampled ? `sampled ${t.sampled.rows} of ${t.sampled.of} rows (key range ${t.sampled.from ? `[${t.sampled.from.join(',')}` : '(start'} .. ${t.sampled.to ? `${t.sampled.to.join(',')})` : 'end)'})` : `all ${t.sourceRows} rows`;
  if (t.error) return `  ${t.table}: NOT COMPARED: ${t.error}`;
  if (t.match) return `  ${t.table}: match, ${scope}${t.sampled ? '' : ` (target ${t.targetRows})`}`;
  const first = [...t.keys.missingInTarget.map((k) => `missing ${keyText(k)}`), ...t.keys.extraInTarget.map((k) => `extra ${keyText(k)}`), ...t.keys.differing.map((d) => `differs ${keyText(d.key)} (${d.columns.join(',')})`)].slice(0, 5);
  return `  ${t.table}: MISMATCH, ${scope}: ${t.missingInTarget} missing in target, ${t.extraInTarget} extra, ${t.differing} differing${first.length ? `; e.g. ${first.join('; ')}` : ''}`;
}

export const verb: MigrateVerb = {
  summary: 'row counts and checksums source vs target per table (--sample-size N: a sample, never a 100 % claim)',
  exclusive: false,
  usage: USAGE,
  async run(ctx, args) {
    // --check-row-counts and --check-checksums are the original's flags; both are always done.
    const parsed = parseCommandArgs('migrate validate', args, { table: { type: 'string' }, 'sample-size': { type: 'string' }, 'check-row-counts': { type: 'boolean' }, 'check-checksums': { type: 'boolean' } }, USAGE);
    if (!parsed) return 0;
    const sampleSize = positiveInteger('validate', 'sample-size', parsed.values['sample-size']);
    const migration = await ctx.migration();
    const tables = parsed.values.table ? [migrationTable(migration, parsed.values.table, 'validate')] : migration.tables;
    const result = await validateTables({ sourceUrl: ctx.endpoints.source.url, targetUrl: ctx.endpoints.target.url, source: await ctx.source(), tables, sampleSize });
    await ctx.record({ step: 'result', outcome: result.match ? 'ok' : 'failed', detail: { ...result } });
    const headline = result.match
      ? result.sampled
        ? `no difference in the sampled rows (sampled: this is not a 100 % claim; run without --sample-size for that)`
        : `100 % match: every row of ${result.tables.length} table(s)`
      : `MISMATCH in ${result.tables.filter((t) => !t.match).length} of ${result.tables.length} table(s)`;
    ctx.print(
      { migrationId: migration.id, ...result },
      [`migrate validate ${migration.id}: ${headline}`, ...result.tables.map(describeTable), ...(result.consistency ? [`  ${describeVerdict(result.consistency)}`] : [])].join('\n'),
    );
    return result.match ? 0 : 1;
  },
};

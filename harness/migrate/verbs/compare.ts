/**
 * migrate compare --table T: every row of one table, source vs target, down to the differing keys (missing in the
 * target, extra in the target, differing with the columns). Exit 0 identical, 1 differences.
 */
import { parseCommandArgs } from '../../cli/command.js';
import { UsageError } from '../../cli/errors.js';
import { positiveInteger } from '../migrate-args.js';
import { migrationTable } from '../migration-tables.js';
import { keyText, validateTables } from '../table-validation.js';
import type { MigrateVerb } from '../verb.js';

const USAGE = '--table T [--max-keys N] [--verbose] [--detailed]';

export const verb: MigrateVerb = {
  summary: 'one table row by row: the keys that are missing, extra or differing in the target',
  exclusive: false,
  usage: USAGE,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate compare', args, { table: { type: 'string' }, 'max-keys': { type: 'string' }, verbose: { type: 'boolean' }, detailed: { type: 'boolean' } }, USAGE);
    if (!parsed) return 0;
    if (!parsed.values.table) throw new UsageError(`migrate compare: --table T is required; usage: runbook-harness migrate compare --migration-id ID ${USAGE}`);
    const migration = await ctx.migration();
    const table = migrationTable(migration, parsed.values.table, 'compare');
    const maxKeys = positiveInteger('compare', 'max-keys', parsed.values['max-keys']) ?? 100;
    const result = await validateTables({ sourceUrl: ctx.endpoints.source.url, targetUrl: ctx.endpoints.target.url, source: await ctx.source(), tables: [table], maxKeys });
    const t = result.tables[0]!;
    await ctx.record({ step: 'result', outcome: t.match ? 'ok' : 'failed', detail: { table, match: t.match, missingInTarget: t.missingInTarget, extraInTarget: t.extraInTarget, differing: t.differing, keys: t.keys } });
    const lines = [
      `migrate compare ${migration.id} ${table}: ${t.error ? `NOT COMPARED: ${t.error}` : t.match ? `identical (${t.sourceRows} rows)` : `${t.missingInTarget} missing in target, ${t.extraInTarget} extra in target, ${t.differing} differing (source ${t.sourceRows} rows, target ${t.targetRows})`}`,
      ...t.keys.missingInTarget.map((k) => `  missing in target: ${keyText(k)}`),
      ...t.keys.extraInTarget.map((k) => `  extra in target:   ${keyText(k)}`),
      ...t.keys.differing.map((d) => `  differs:           ${keyText(d.key)} (columns ${d.columns.join(', ')})`),
    ];
    const listed = t.keys.missingInTarget.length + t.keys.extraInTarget.length + t.keys.differing.length;
    if (listed < t.missingInTarget + t.extraInTarget + t.differing) lines.push(`  (${listed} keys listed; raise --max-keys for more)`);
    ctx.print({ migrationId: migration.id, ...t }, lines.join('\n'));
    return t.match ? 0 : 1;
  },
};

/**
 * migrate report --output FILE.html: a self-contained page for a change board: the runbook's SLO verdicts (from what
 * the event log measured; "not measured" otherwise), the lag samples `migrate lag` recorded, the latest validation
 * of each table, and the event log. Exit 0 when every measured SLO passes and every table matched, else 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCommandArgs } from '../../cli/command.js';
import { UsageError } from '../../cli/errors.js';
import { sloTable } from '../../runbook/slo.js';
import { renderReportHtml } from '../report-html.js';
import { buildReportModel } from '../report-model.js';
import type { MigrateVerb } from '../verb.js';

const USAGE = '--output FILE.html';
const RUNBOOK = 'database-migration';

export const verb: MigrateVerb = {
  summary: 'write a self-contained HTML page: SLO verdicts, lag samples, per-table validation, the event log',
  exclusive: false,
  readOnly: true,
  usage: USAGE,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate report', args, { output: { type: 'string' } }, USAGE);
    if (!parsed) return 0;
    const output = parsed.values.output;
    if (!output) throw new UsageError(`migrate report: --output FILE.html is required`);
    const migration = await ctx.store.get(ctx.migrationId);
    const events = await ctx.store.events(migration.id);
    const slos = sloTable(RUNBOOK).map((t) => ({ metric: t.metric, comparator: t.comparator, value: t.value, unit: t.unit }));
    const model = buildReportModel(migration, events, slos);
    const lagSlo = slos.find((s) => s.metric.toLowerCase() === 'data replication lag');
    const html = renderReportHtml(model, lagSlo?.value ?? 5);
    mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
    writeFileSync(output, html);
    const failed = model.slos.filter((s) => s.verdict && !s.verdict.pass);
    const mismatched = model.tables.filter((t) => !t.match);
    const summary = { migrationId: migration.id, output: path.resolve(output), slos: model.slos, tables: model.tables.map((t) => ({ table: t.table, match: t.match, sampled: Boolean(t.sampled) })), lagSamples: model.lag.length, events: events.length };
    ctx.print(summary, [`migrate report ${migration.id}: ${path.resolve(output)}`, ...model.slos.map((s) => `  ${s.verdict === null ? 'NOT MEASURED' : s.verdict.pass ? 'PASS' : 'FAIL'} ${s.metric} (${s.threshold}): ${s.note}`), `  ${model.tables.length} table(s) validated, ${mismatched.length} mismatched; ${model.lag.length} lag sample(s); ${events.length} event(s)`].join('\n'));
    return failed.length || mismatched.length ? 1 : 0;
  },
};

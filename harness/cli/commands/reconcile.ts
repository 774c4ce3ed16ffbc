/**
 * runbook-harness reconcile: the runbooks' reconciliation tool. Exit 0 all match, 1 a mismatch, 2 an error.
 * The JSON report is always written to --output-dir; --report-format json also prints it on stdout.
 * As in pt-table-checksum, --chunk-size is the first chunk's rows and --chunk-time (default 0.5 s) resizes the rest;
 * --chunk-time 0 keeps every chunk at --chunk-size.
 */
import type { CliCommand } from '../command.js';
import { parseCommandArgs } from '../command.js';
import { HarnessError, UsageError } from '../errors.js';
import { requireRunningStack } from '../../env/state.js';
import { reconcile, renderReportText, writeReportFile, type ReconcileOptions, type TableSpec } from '../../verify/reconcile/index.js';
import { redactSecrets } from '../../core/redaction.js';

const USAGE =
  '--table T | --tables a,b [--row-count-only] [--checksum] [--chunk-size N] [--chunk-time SECONDS] [--parallel N] ' +
  '[--key col[,col]] [--ignore col[,col]] [--map src=dst[,src=dst]] [--target-table T] [--from-key v[,v]] [--to-key v[,v]] ' +
  '[--max-diffs N] [--report-format json|text] [--output-dir DIR] [--verbose] [--source-url URL --target-url URL]';

const list = (text: string | undefined) => (text ? text.split(',').map((s) => s.trim()).filter(Boolean) : undefined);

function positive(name: string, text: string | undefined, fallback: number, allowZero = false): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new UsageError(`reconcile: --${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got '${text}'`);
  return value;
}

export const command: CliCommand = {
  summary: 'compare tables source vs target: row counts or chunk checksums down to the differing rows',
  async run(args) {
    const parsed = parseCommandArgs('reconcile', args, {
      table: { type: 'string' },
      tables: { type: 'string' },
      'row-count-only': { type: 'boolean' },
      checksum: { type: 'boolean' },
      'chunk-size': { type: 'string' },
      'chunk-time': { type: 'string' },
      parallel: { type: 'string' },
      key: { type: 'string' },
      ignore: { type: 'string' },
      map: { type: 'string' },
      'target-table': { type: 'string' },
      'from-key': { type: 'string' },
      'to-key': { type: 'string' },
      'max-diffs': { type: 'string' },
      'report-format': { type: 'string' },
      'output-dir': { type: 'string' },
      verbose: { type: 'boolean' },
      'source-url': { type: 'string' },
      'target-url': { type: 'string' },
    }, USAGE);
    if (!parsed) return 0;
    const v = parsed.values;
    const names = v.table ? [v.table] : list(v.tables);
    if (!names?.length || (v.table && v.tables)) throw new UsageError(`reconcile: give exactly one of --table T or --tables a,b; usage: runbook-harness reconcile ${USAGE}`);
    if (v['row-count-only'] && v.checksum) throw new UsageError('reconcile: --row-count-only and --checksum exclude each other; pick one');
    const format = v['report-format'] ?? 'text';
    if (format !== 'json' && format !== 'text') throw new UsageError(`reconcile: --report-format must be json or text, got '${format}'`);
    if (v['target-table'] && names.length > 1) throw new UsageError('reconcile: --target-table works with a single --table only');
    if (Boolean(v['source-url']) !== Boolean(v['target-url'])) throw new UsageError('reconcile: pass both --source-url and --target-url, or neither (then the running stack is used)');

    const columnMap: Record<string, string> = {};
    for (const pair of list(v.map) ?? []) {
      const [from, to, extra] = pair.split('=');
      if (!from || !to || extra !== undefined) throw new UsageError(`reconcile: --map entries are source=target, got '${pair}'`);
      columnMap[from] = to;
    }
    const key = list(v.key);
    const from = list(v['from-key']);
    const to = list(v['to-key']);
    for (const [flag, values] of [['from-key', from], ['to-key', to]] as const) {
      if (values && key && values.length !== key.length) throw new UsageError(`reconcile: --${flag} needs one value per --key column (${key.length})`);
    }
    const specs: TableSpec[] = names.map((table) => ({
      table,
      targetTable: v['target-table'],
      key,
      ignoreColumns: list(v.ignore),
      columnMap,
      keyRange: from || to ? { from, to } : undefined,
    }));
    const options: Partial<ReconcileOptions> = {
      mode: v['row-count-only'] ? 'row-count' : 'checksum',
      chunkSize: positive('chunk-size', v['chunk-size'], 10_000),
      chunkTimeSeconds: positive('chunk-time', v['chunk-time'], 0.5, true),
      parallelism: positive('parallel', v.parallel, 2),
      maxDiffRows: positive('max-diffs', v['max-diffs'], 100, true),
    };

    let sourceUrl = v['source-url'];
    let targetUrl = v['target-url'];
    if (!sourceUrl || !targetUrl) {
      const stack = requireRunningStack();
      sourceUrl = stack.source.url;
      targetUrl = stack.target.url;
    }
    const report = await reconcile({ sourceUrl, targetUrl, tables: specs, options });
    const file = writeReportFile(report, v['output-dir'] ?? 'reports');
    if (format === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      process.stdout.write(renderReportText(report));
      if (v.verbose) for (const t of report.tables) for (const c of t.chunks) process.stdout.write(`  chunk ${c.index} [${c.lower ?? '-∞'} .. ${c.upper ?? '+∞'}) source ${c.sourceRows} target ${c.targetRows} ${c.match ? 'ok' : 'DIFFERS'} ${c.seconds.toFixed(3)} s\n`);
      process.stdout.write(`report: ${file}\n`);
    }
    const errored = report.tables.filter((t) => t.error);
    if (errored.length) throw new HarnessError(redactSecrets(errored.map((t) => t.error).join('; '), []) + ` (report: ${file})`);
    return report.summary.match ? 0 : 1;
  },
};

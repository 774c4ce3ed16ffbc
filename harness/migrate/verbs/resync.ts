/**
 * migrate resync --table T: a re-copy of one table while replication runs, as a Debezium incremental snapshot
 * started through the signal table `init` created (the source connector's signal.data.collection). Waits, within
 * --timeout, until the table matches (reconcile: counts and checksums), then says so. Exit 1 if it does not match
 * in time. The snapshot's completion itself is not observed (Connect's REST API does not show it): a table that
 * already matched returns at once while the snapshot may still be re-sending rows (upserts of the same values).
 */
import { randomUUID } from 'node:crypto';
import { HarnessError } from '../../core/errors.js';
import { pollUntil, WaitTimeoutError } from '../../core/poll.js';
import { parseCommandArgs } from '../../cli/command.js';
import { UsageError } from '../../cli/errors.js';
import { connectorViews } from '../migration-connector-states.js';
import { migrationTable } from '../migration-tables.js';
import { tableRef } from '../table-catalog.js';
import { validateTables, type TableValidation } from '../table-validation.js';
import type { MigrateVerb } from '../verb.js';

const USAGE = '--table T [--interval SECONDS]';

export const verb: MigrateVerb = {
  summary: 'incremental snapshot of one table through the signal table, then wait until it matches',
  exclusive: true,
  usage: USAGE,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate resync', args, { table: { type: 'string' }, interval: { type: 'string' } }, USAGE);
    if (!parsed) return 0;
    if (!parsed.values.table) throw new UsageError(`migrate resync: --table T is required; usage: runbook-harness migrate resync --migration-id ID ${USAGE}`);
    const migration = await ctx.migration();
    const table = migrationTable(migration, parsed.values.table, 'resync');
    const sourceConnector = (await connectorViews(ctx.connect, migration)).find((c) => c.role === 'source')!;
    if (sourceConnector.state !== 'RUNNING') throw new HarnessError(`migrate resync: source connector ${sourceConnector.name} is ${sourceConnector.state}; an incremental snapshot needs it RUNNING ('migrate restart --migration-id ${migration.id}')`);
    const config = await ctx.connect.getConnectorConfig(sourceConnector.name);
    if (config['signal.data.collection'] !== migration.pipeline.signalTable) throw new HarnessError(`migrate resync: ${sourceConnector.name} has signal.data.collection=${config['signal.data.collection'] ?? '(unset)'}, not ${migration.pipeline.signalTable}; redeploy it with 'migrate snapshot'`);
    const source = await ctx.source();
    const signalId = randomUUID();
    const data = JSON.stringify({ 'data-collections': [table], type: 'incremental' });
    await source.query(`INSERT INTO ${tableRef(migration.pipeline.signalTable)} (id, type, data) VALUES ($1, 'execute-snapshot', $2)`, [signalId, data]);
    await ctx.record({ step: 'signal', outcome: 'ok', detail: { signalId, table, signalTable: migration.pipeline.signalTable, data } });
    ctx.progress(`migrate resync: incremental snapshot of ${table} signalled (${signalId}); waiting up to ${ctx.timeoutMs / 1000} s for it to match`);
    const started = Date.now();
    let last: TableValidation | undefined;
    try {
      last = await pollUntil({ what: `${table} to match after the incremental snapshot`, limitMs: ctx.timeoutMs, intervalMs: Math.max(500, Number(parsed.values.interval ?? 2) * 1000) }, async () => {
        const result = await validateTables({ sourceUrl: ctx.endpoints.source.url, targetUrl: ctx.endpoints.target.url, source, tables: [table], maxKeys: 5 });
        const t = result.tables[0]!;
        return { done: t.match, seen: `${t.missingInTarget} missing, ${t.extraInTarget} extra, ${t.differing} differing`, value: t };
      });
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      await ctx.record({ step: 'converged', outcome: 'failed', detail: { table, error: error.message } });
      ctx.print({ migrationId: migration.id, table, match: false, error: error.message }, `migrate resync ${migration.id} ${table}: ${error.message}`);
      return 1;
    }
    const seconds = (Date.now() - started) / 1000;
    await ctx.record({ step: 'converged', outcome: 'ok', detail: { table, seconds, rows: last!.sourceRows } });
    ctx.print({ migrationId: migration.id, table, match: true, seconds, rows: last!.sourceRows }, `migrate resync ${migration.id} ${table}: matches after ${seconds.toFixed(1)} s (${last!.sourceRows} rows; the incremental snapshot was signalled, and the table matched then: its completion is not observed, it may still be re-sending rows)`);
    return 0;
  },
};

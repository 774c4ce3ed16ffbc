/**
 * migrate snapshot: deploys the migration's Debezium PostgreSQL source and JDBC sink (the fixtures/connectors
 * templates), then shows each table's snapshot progress on stderr (target rows / source rows) and waits, within
 * --timeout, until every table's row count in the target has reached the source's. Counts converging is progress,
 * not proof of equality: `migrate validate` compares checksums.
 */
import { HarnessError } from '../../core/errors.js';
import { pollUntil } from '../../core/poll.js';
import { parseCommandArgs } from '../../cli/command.js';
import { UsageError } from '../../cli/errors.js';
import { summariseState } from '../../pipeline/connect-client.js';
import { canTransition } from '../state-machine.js';
import { listFlag } from '../migrate-args.js';
import { migrationConnectors, MIGRATE_SCHEMA } from '../migration-connectors.js';
import { rowCount } from '../table-catalog.js';
import type { MigrateVerb } from '../verb.js';

const USAGE = '[--tables a,b,c] [--interval SECONDS]';

export interface TableProgress {
  table: string;
  sourceRows: number;
  /** null while the sink has not created or reached the table. */
  targetRows: number | null;
}

export function progressLine(progress: TableProgress[]): string {
  return `snapshot: ${progress.map((p) => `${p.table} ${p.targetRows ?? 0}/${p.sourceRows}${p.targetRows === p.sourceRows ? ' done' : ''}`).join(', ')}`;
}

export const verb: MigrateVerb = {
  summary: 'deploy the source and sink connectors, show per-table snapshot progress, wait until every count converges',
  exclusive: true,
  usage: USAGE,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate snapshot', args, { tables: { type: 'string' }, interval: { type: 'string' } }, USAGE);
    if (!parsed) return 0;
    const migration = await ctx.migration();
    const requested = listFlag(parsed.values.tables)?.map((t) => (t.includes('.') ? t : `${MIGRATE_SCHEMA}.${t}`));
    const outside = requested?.filter((t) => !migration.tables.includes(t)) ?? [];
    if (outside.length) throw new UsageError(`migrate snapshot: ${outside.join(', ')} not in migration ${migration.id} (its tables: ${migration.tables.join(', ')}); init a new migration to add tables`);
    const tables = requested ?? migration.tables;
    const intervalMs = Math.max(200, Number(parsed.values.interval ?? 1) * 1000);
    // A snapshot that ran out of time (still snapshotting) may simply be run again.
    if (migration.state !== 'snapshotting' && !canTransition(migration.state, 'snapshotting')) throw new HarnessError(`migrate snapshot: migration ${migration.id} is ${migration.state}; a snapshot can start from initialized, snapshotting, replicating, halted or failed`);

    const { source: sourceConnector, sink } = migrationConnectors(ctx.endpoints, migration.pipeline, tables);
    ctx.progress(`migrate snapshot: deploying ${sourceConnector.name} and ${sink.name} at ${ctx.endpoints.connectUrl}`);
    const sourceStatus = await ctx.connect.putConnectorConfig(sourceConnector.name, sourceConnector.config);
    const sinkStatus = await ctx.connect.putConnectorConfig(sink.name, sink.config);
    await ctx.store.setState(migration.id, 'snapshotting', 'snapshot', { tables, connectors: [sourceConnector.name, sink.name] });
    await ctx.record({ step: 'deploy', outcome: 'ok', detail: { source: { name: sourceConnector.name, state: summariseState(sourceStatus) }, sink: { name: sink.name, state: summariseState(sinkStatus) } } });

    const source = await ctx.source();
    const target = await ctx.target();
    const started = Date.now();
    let lastLine = '';
    let progress: TableProgress[] = [];
    try {
      progress = await pollUntil({ what: `every table's row count in the target to reach the source's (${tables.join(', ')})`, limitMs: ctx.timeoutMs, intervalMs }, async () => {
        const [sourceState, sinkState] = await Promise.all([ctx.connect.getConnectorStatus(sourceConnector.name), ctx.connect.getConnectorStatus(sink.name)]);
        const failed = [sourceState, sinkState].find((s) => summariseState(s) === 'FAILED');
        if (failed) {
          const trace = (failed.connector.trace ?? failed.tasks.find((t) => t.trace)?.trace ?? '').split('\n')[0];
          return { done: false, seen: `${failed.name} FAILED`, abort: new HarnessError(`connector ${failed.name} FAILED during the snapshot: ${trace}`) };
        }
        const now: TableProgress[] = [];
        for (const table of tables) now.push({ table, sourceRows: (await rowCount(source, table)) ?? 0, targetRows: await rowCount(target, table) });
        const line = progressLine(now);
        if (line !== lastLine) ctx.progress(line);
        lastLine = line;
        return { done: now.every((p) => p.targetRows === p.sourceRows), seen: line, value: now };
      });
    } catch (error) {
      if (error instanceof HarnessError && /FAILED during the snapshot/.test(error.message)) {
        await ctx.store.setState(migration.id, 'failed', 'snapshot', { reason: error.message });
        ctx.print({ migrationId: migration.id, ok: false, state: 'failed', error: error.message }, `migrate snapshot ${migration.id}: ${error.message}; state failed (fix the cause, then 'migrate restart')`);
        return 1;
      }
      throw error;
    }
    const seconds = (Date.now() - started) / 1000;
    const rows = progress.reduce((n, p) => n + p.sourceRows, 0);
    const updated = await ctx.store.setState(migration.id, 'replicating', 'snapshot', { seconds, rows });
    await ctx.record({ step: 'converged', outcome: 'ok', detail: { seconds, rows, tables: progress } });
    ctx.print(
      { migrationId: migration.id, ok: true, state: updated.state, seconds, tables: progress },
      [`migrate snapshot ${migration.id}: every count converged in ${seconds.toFixed(1)} s (${rows} rows); state ${updated.state}`, ...progress.map((p) => `  ${p.table}: ${p.targetRows}/${p.sourceRows}`), `next: runbook-harness migrate validate --migration-id ${migration.id}`].join('\n'),
    );
    return 0;
  },
};

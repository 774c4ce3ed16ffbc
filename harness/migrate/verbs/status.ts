/**
 * migrate status: the migration's state, its connectors as Kafka Connect reports them, who holds its lock, and the
 * last events of its log. Works from any shell that reaches the control database. Exit 0, or 1 when a connector
 * the state expects to run is FAILED or missing.
 */
import { parseCommandArgs } from '../../cli/command.js';
import { positiveInteger } from '../migrate-args.js';
import { connectorViews } from '../migration-connector-states.js';
import { PIPELINE_RUNNING_STATES } from '../state-machine.js';
import type { MigrateVerb } from '../verb.js';

const USAGE = '[--events N]';

export const verb: MigrateVerb = {
  summary: 'state, connectors, lock holder and the last events of a migration',
  exclusive: false,
  readOnly: true,
  usage: USAGE,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate status', args, { events: { type: 'string' } }, USAGE);
    if (!parsed) return 0;
    const last = positiveInteger('status', 'events', parsed.values.events) ?? 10;
    const migration = await ctx.store.get(ctx.migrationId);
    const [connectors, events, lock] = await Promise.all([connectorViews(ctx.connect, migration), ctx.store.events(migration.id, { last }), ctx.store.lockHolder(migration.id)]);
    const expectRunning = PIPELINE_RUNNING_STATES.includes(migration.state);
    const unhealthy = connectors.filter((c) => c.state === 'FAILED' || (expectRunning && c.state !== 'RUNNING'));
    const doc = { migration, connectors: connectors.map(({ status: _s, ...c }) => c), lock: lock ?? null, events, healthy: unhealthy.length === 0 };
    const text = [
      `migration ${migration.id}: ${migration.state} (created ${migration.createdAt}, updated ${migration.updatedAt})`,
      `  source ${migration.source.host}:${migration.source.port}/${migration.source.database} -> target ${migration.target.host}:${migration.target.port}/${migration.target.database}`,
      `  tables: ${migration.tables.join(', ')}`,
      ...connectors.map((c) => `  ${c.role.padEnd(6)} ${c.name}: ${c.state}${c.tasks.length ? ` (tasks ${c.tasks.join(',')})` : ''}${c.trace ? `: ${c.trace}` : ''}`),
      `  lock: ${lock ? `held by '${lock.applicationName}' (backend pid ${lock.pid})` : 'free'}`,
      `  last ${events.length} event(s):`,
      ...events.map((e) => `    ${e.at} ${e.actor} ${e.verb}/${e.step} ${e.outcome}${Object.keys(e.detail).length ? ` ${JSON.stringify(e.detail).slice(0, 160)}` : ''}`),
    ].join('\n');
    ctx.print(doc, text);
    return unhealthy.length ? 1 : 0;
  },
};

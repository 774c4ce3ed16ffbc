/**
 * migrate halt: stops the pipeline without losing its place. Pauses both connectors (--stop: stops them, tasks shut
 * down, config kept); the replication slot is kept, so WAL is retained until `migrate restart` resumes.
 */
import { parseCommandArgs } from '../../cli/command.js';
import { connectorViews } from '../migration-connector-states.js';
import type { MigrateVerb } from '../verb.js';

const USAGE = '[--stop] [--reason TEXT]';

export const verb: MigrateVerb = {
  summary: 'pause (or --stop) both connectors; the replication slot is kept',
  exclusive: true,
  usage: USAGE,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate halt', args, { stop: { type: 'boolean' }, reason: { type: 'string' } }, USAGE);
    if (!parsed) return 0;
    const migration = await ctx.migration();
    const results: { name: string; before: string; after: string }[] = [];
    for (const c of await connectorViews(ctx.connect, migration)) {
      if (c.state === 'MISSING') {
        results.push({ name: c.name, before: 'MISSING', after: 'MISSING' });
        continue;
      }
      const after = parsed.values.stop ? await ctx.connect.stopConnector(c.name) : await ctx.connect.pauseConnector(c.name, { waitForTasks: false });
      results.push({ name: c.name, before: c.state, after: after.connector.state });
      await ctx.record({ step: parsed.values.stop ? 'stop-connector' : 'pause-connector', outcome: 'ok', detail: { connector: c.name, before: c.state, after: after.connector.state } });
    }
    const updated = await ctx.store.setState(migration.id, 'halted', 'halt', { reason: parsed.values.reason ?? null, connectors: results });
    ctx.print(
      { migrationId: migration.id, state: updated.state, connectors: results, slotKept: migration.pipeline.slotName },
      [`migrate halt ${migration.id}: state ${updated.state}; slot ${migration.pipeline.slotName} kept`, ...results.map((r) => `  ${r.name}: ${r.before} -> ${r.after}`), `resume with: runbook-harness migrate restart --migration-id ${migration.id}`].join('\n'),
    );
    return 0;
  },
};

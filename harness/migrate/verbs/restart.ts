/**
 * migrate restart: Kafka Connect never restarts a FAILED task by itself. This restarts the failed tasks of both
 * connectors (restart?includeTasks=true&onlyFailed=true) and resumes a paused or stopped one; every action is an
 * event in the log. A halted or failed migration is replicating again once both run.
 */
import { parseCommandArgs } from '../../cli/command.js';
import { HarnessError } from '../../core/errors.js';
import { connectorViews } from '../migration-connector-states.js';
import type { MigrateVerb } from '../verb.js';

export const verb: MigrateVerb = {
  summary: 'restart failed connector tasks and resume paused/stopped connectors (each action recorded)',
  exclusive: true,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate restart', args, {}, '');
    if (!parsed) return 0;
    const migration = await ctx.migration();
    const actions: { name: string; before: string; action: string; after: string }[] = [];
    for (const c of await connectorViews(ctx.connect, migration)) {
      if (c.state === 'MISSING') throw new HarnessError(`migrate restart: connector ${c.name} is not deployed at ${ctx.endpoints.connectUrl}; run 'migrate snapshot --migration-id ${migration.id}' to deploy it`);
      let action = 'none (RUNNING)';
      let after = c.state;
      if (c.state === 'FAILED') {
        action = 'restart failed tasks';
        after = (await ctx.connect.restartConnector(c.name, { includeTasks: true, onlyFailed: true })).connector.state;
      } else if (c.state === 'PAUSED' || c.state === 'STOPPED') {
        action = 'resume';
        after = (await ctx.connect.resumeConnector(c.name)).connector.state;
      } else if (c.state !== 'RUNNING') {
        action = `wait (was ${c.state})`;
        after = (await ctx.connect.awaitConnectorState(c.name, 'RUNNING')).connector.state;
      }
      actions.push({ name: c.name, before: c.state, action, after });
      if (action !== 'none (RUNNING)') await ctx.record({ step: 'connector', outcome: 'ok', detail: { connector: c.name, before: c.state, action, after } });
    }
    const next = migration.state === 'halted' || migration.state === 'failed' ? (await ctx.store.setState(migration.id, 'replicating', 'restart', { actions })).state : migration.state;
    ctx.print({ migrationId: migration.id, state: next, actions }, [`migrate restart ${migration.id}: state ${next}`, ...actions.map((a) => `  ${a.name}: ${a.before} -> ${a.action} -> ${a.after}`)].join('\n'));
    return 0;
  },
};

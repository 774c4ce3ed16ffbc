import { deployDefaultConnectors, createSampleTables } from '../../env/sample-pipeline.js';
import { startStack } from '../../env/select.js';
import { readStackState, stateDir } from '../../env/state.js';
import type { StackEndpoints } from '../../env/stack.js';
import { parseCommandArgs, type CliCommand } from '../command.js';

const USAGE = '[--json] [--bare] [--env local|containers]';

export function endpointSummary(endpoints: StackEndpoints, startupSeconds?: number) {
  return {
    env: endpoints.env,
    source: { dialect: endpoints.source.dialect, url: endpoints.source.url },
    target: { dialect: endpoints.target.dialect, url: endpoints.target.url },
    kafka: { bootstrap: endpoints.kafka.bootstrap },
    connect: { url: endpoints.connect.url },
    toxiproxy: { url: endpoints.toxiproxy.url, proxies: endpoints.toxiproxy.proxies },
    /** The application endpoint (PgBouncer) `migrate cutover` switches; point the application at `url`. */
    pooler: endpoints.pooler ? { url: endpoints.pooler.url, adminUrl: endpoints.pooler.adminUrl } : null,
    startupSeconds,
  };
}

export const command: CliCommand = {
  summary: 'start the stack detached, wait until healthy, print the endpoints',
  async run(args) {
    const parsed = parseCommandArgs('up', args, { json: { type: 'boolean' }, bare: { type: 'boolean' }, env: { type: 'string' } }, USAGE);
    if (!parsed) return 0;
    const started = Date.now();
    const stack = await startStack({ env: parsed.values.env, detached: true });
    const endpoints = stack.endpoints;
    if (!parsed.values.bare) {
      process.stderr.write('runbook-harness: creating the sample tables and deploying the default connectors\n');
      try {
        await createSampleTables(endpoints);
        await deployDefaultConnectors(endpoints);
      } catch (error) {
        await stack.stop();
        throw error;
      }
    }
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const summary = { ...endpointSummary(endpoints, seconds), postgresTools: stack.postgresTools };
    if (parsed.values.json) {
      process.stdout.write(JSON.stringify(summary) + '\n');
    } else {
      const state = readStackState();
      process.stdout.write(
        [
          `stack up in ${seconds}s (${endpoints.env}; state ${stateDir()}, data ${state?.dataDir})`,
          `  source     ${summary.source.url}`,
          `  target     ${summary.target.url}`,
          `  kafka      ${summary.kafka.bootstrap}`,
          `  connect    ${summary.connect.url}`,
          `  toxiproxy  ${summary.toxiproxy.url}`,
          ...(summary.pooler ? [`  pooler     ${summary.pooler.url} (the application endpoint; admin ${summary.pooler.adminUrl})`] : []),
          `  pg_dump    ${summary.postgresTools.pgDump} (psql, pg_restore beside it)`,
          parsed.values.bare ? '  (bare: no sample tables, no connectors)' : '  connectors postgres-source -> postgresql-sink RUNNING; tables customers, orders, products',
          "stop it with 'runbook-harness down'",
          '',
        ].join('\n'),
      );
    }
    return 0;
  },
};

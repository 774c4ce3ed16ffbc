/**
 * runbook-harness connector <verb> <name>: the Kafka Connect REST verbs on the running stack, each
 * waiting until the worker reports the state asked for (the runbooks' pause-resume.sh, curl calls).
 */
import { connectorVariables } from '../../env/connector-variables.js';
import { ConnectError, summariseState } from '../../pipeline/connect-client.js';
import { loadConnectorFile, loadConnectorTemplate } from '../../pipeline/connector-config.js';
import { redact, registerSecrets } from '../../report/secrets.js';
import { parseCommandArgs, type CliCommand } from '../command.js';
import { HarnessError, UsageError } from '../errors.js';
import { runningStack } from '../stack-context.js';

const VERBS = ['status', 'config', 'pause', 'resume', 'stop', 'restart', 'deploy', 'delete', 'offsets', 'list'] as const;
type Verb = (typeof VERBS)[number];
const USAGE = `<${VERBS.join('|')}> [NAME] [--file CONFIG.json] [--include-tasks] [--only-failed]`;

export const command: CliCommand = {
  summary: 'Kafka Connect verbs on a connector: status, config, pause, resume, stop, restart, deploy, delete, offsets',
  async run(args) {
    const parsed = parseCommandArgs('connector', args, { file: { type: 'string' }, 'include-tasks': { type: 'boolean' }, 'only-failed': { type: 'boolean' } }, USAGE, true);
    if (!parsed) return 0;
    const [verb, name] = parsed.positionals as [Verb | undefined, string | undefined];
    if (!verb || !VERBS.includes(verb)) throw new UsageError(`connector: expected one of ${VERBS.join(', ')}; usage: runbook-harness connector ${USAGE}`);
    if (verb !== 'list' && !name) throw new UsageError(`connector ${verb}: name the connector, e.g. 'runbook-harness connector ${verb} postgresql-sink'`);
    const { endpoints, connect } = runningStack();
    registerSecrets(endpoints.source.password, endpoints.target.password);
    const print = (value: unknown) => process.stdout.write(redact(JSON.stringify(value, null, 2)) + '\n');
    const n = name as string;
    try {
      switch (verb) {
        case 'list':
          print(await connect.getConnectors());
          return 0;
        case 'status': {
          const status = await connect.getConnectorStatus(n);
          print(status);
          return summariseState(status) === 'RUNNING' ? 0 : 1;
        }
        case 'config':
          print(await connect.getConnectorConfig(n));
          return 0;
        case 'offsets':
          print(await connect.getOffsets(n));
          return 0;
        case 'pause':
          print(await connect.pauseConnector(n));
          return 0;
        case 'resume':
          print(await connect.resumeConnector(n));
          return 0;
        case 'stop':
          print(await connect.stopConnector(n));
          return 0;
        case 'restart':
          print(await connect.restartConnector(n, { includeTasks: parsed.values['include-tasks'], onlyFailed: parsed.values['only-failed'] }));
          return 0;
        case 'delete':
          await connect.deleteConnector(n);
          process.stdout.write(`connector ${n} deleted\n`);
          return 0;
        case 'deploy': {
          const variables = connectorVariables(endpoints);
          const definition = parsed.values.file ? loadConnectorFile(parsed.values.file, variables) : loadConnectorTemplate(n, variables);
          if (definition.name !== n) throw new UsageError(`connector deploy ${n}: ${parsed.values.file} defines connector '${definition.name}'`);
          print(await connect.putConnectorConfig(n, definition.config));
          return 0;
        }
      }
    } catch (error) {
      if (error instanceof ConnectError) throw new HarnessError(redact(error.message.split('\n')[0]!));
      throw error;
    }
  },
};

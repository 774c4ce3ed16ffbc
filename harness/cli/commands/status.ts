import { attachStack } from '../../env/select.js';
import { stateDir } from '../../env/state.js';
import { COMPONENTS } from '../../env/stack.js';
import { ConnectClient, summariseState } from '../../pipeline/connect-client.js';
import { parseCommandArgs, type CliCommand } from '../command.js';

export const command: CliCommand = {
  summary: "show each component's health and each connector's state",
  async run(args) {
    const parsed = parseCommandArgs('status', args, { json: { type: 'boolean' } }, '[--json]');
    if (!parsed) return 0;
    const stack = await attachStack();
    if (!stack) {
      if (parsed.values.json) process.stdout.write(JSON.stringify({ running: false }) + '\n');
      else process.stdout.write(`no stack running (no state file in ${stateDir()}); start one with 'runbook-harness up'\n`);
      return 1;
    }
    const components: Record<string, 'running' | 'down'> = {};
    for (const name of COMPONENTS) components[name] = (await stack.component(name).isRunning()) ? 'running' : 'down';
    const connect = new ConnectClient(stack.endpoints.connect.url, { requestLimitMs: 5000 });
    const connectors: Record<string, string> = {};
    try {
      for (const name of await connect.getConnectors()) connectors[name] = summariseState(await connect.getConnectorStatus(name));
    } catch (error) {
      connectors['(connect unreachable)'] = (error as Error).message.split('\n')[0];
    }
    const healthy = Object.values(components).every((s) => s === 'running') && Object.values(connectors).every((s) => s === 'RUNNING');
    if (parsed.values.json) {
      process.stdout.write(JSON.stringify({ running: true, healthy, env: stack.endpoints.env, components, connectors }) + '\n');
    } else {
      const lines = [`stack (${stack.endpoints.env}): ${healthy ? 'healthy' : 'NOT healthy'}`];
      for (const [name, s] of Object.entries(components)) lines.push(`  ${name.padEnd(10)} ${s}`);
      for (const [name, s] of Object.entries(connectors)) lines.push(`  connector ${name}: ${s}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
    return healthy ? 0 : 1;
  },
};

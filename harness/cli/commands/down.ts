import { attachStack } from '../../env/select.js';
import { stateDir } from '../../env/state.js';
import { parseCommandArgs, type CliCommand } from '../command.js';

export const command: CliCommand = {
  summary: 'stop everything `up` started and remove its data',
  async run(args) {
    if (!parseCommandArgs('down', args, {}, '')) return 0;
    const stack = await attachStack();
    if (!stack) {
      process.stdout.write(`no stack running (no state file in ${stateDir()})\n`);
      return 0;
    }
    const started = Date.now();
    await stack.stop();
    process.stdout.write(`stack stopped and its data removed in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    return 0;
  },
};

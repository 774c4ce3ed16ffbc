import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

export interface CliCommand {
  summary: string;
  /** Resolves to the process exit code; throws HarnessError for a one-line error (exit 2). */
  run(args: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with errors turned into one-line usage errors that name the command.
 * Returns undefined when --help was asked for (the usage text is already printed).
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  args: string[],
  options: O,
  usage: string,
  allowPositionals = false,
) {
  try {
    const parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
    if ((parsed.values as Record<string, unknown>).help) {
      process.stdout.write(`usage: runbook-harness ${command} ${usage}\n`);
      return undefined;
    }
    return parsed;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`${command}: ${reason}; usage: runbook-harness ${command} ${usage}`);
  }
}

/**
 * runbook-harness <command> [...args]
 *
 * Each command lives in harness/cli/commands/<name>.ts and exports `command: CliCommand`,
 * so adding one never touches a shared list.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { HarnessError, UsageError } from './errors.js';
import type { CliCommand } from './command.js';

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadCommand(name: string): Promise<CliCommand> {
  const mod = (await import(pathToFileURL(path.join(commandsDir, `${name}.ts`)).href)) as { command: CliCommand };
  return mod.command;
}

async function printHelp(): Promise<void> {
  const lines = ['usage: runbook-harness <command> [options]', '', 'commands:'];
  for (const name of commandNames()) lines.push(`  ${name.padEnd(12)} ${(await loadCommand(name)).summary}`);
  lines.push('', "run 'runbook-harness <command> --help' for a command's options");
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await printHelp();
    return name ? 0 : 2;
  }
  if (!commandNames().includes(name)) {
    throw new UsageError(`unknown command '${name}'; run 'runbook-harness --help' to list the commands`);
  }
  return (await loadCommand(name)).run(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const debug = process.env.RUNBOOK_HARNESS_DEBUG === '1';
  if (error instanceof HarnessError) {
    process.stderr.write(`runbook-harness: ${error.message}\n`);
    if (debug) process.stderr.write(`${error.stack}\n`);
    process.exitCode = error.exitCode;
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`runbook-harness: unexpected error: ${message.split('\n')[0]} (RUNBOOK_HARNESS_DEBUG=1 shows the stack)\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 2;
  }
}

/**
 * runbook-harness migrate <verb> --migration-id ID [...]: the migration orchestrator the database-migration runbook
 * is written around. One file per verb in harness/migrate/verbs/ (discovered, so adding a verb touches no list).
 * Exit 0 ok, 1 a verdict failed, 2 bad input or an unreachable component (one line naming it and the remedy).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CliCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { runVerb } from '../../migrate/context.js';
import { COMMON_USAGE, splitCommonArgs } from '../../migrate/migrate-args.js';
import type { MigrateVerb } from '../../migrate/verb.js';

const VERBS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrate', 'verbs');

export function verbNames(dir = VERBS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadVerb(name: string): Promise<MigrateVerb> {
  const mod = (await import(pathToFileURL(path.join(VERBS_DIR, `${name}.ts`)).href)) as { verb?: MigrateVerb };
  if (!mod.verb) throw new UsageError(`harness/migrate/verbs/${name}.ts exports no 'verb'`);
  return mod.verb;
}

async function helpText(): Promise<string> {
  const lines = ['usage: runbook-harness migrate <verb> ' + COMMON_USAGE + ' [verb options]', '', 'verbs:'];
  for (const name of verbNames()) {
    const verb = await loadVerb(name);
    lines.push(`  ${name.padEnd(10)} ${verb.summary}${verb.exclusive ? ' (exclusive: one at a time per migration)' : ''}`);
  }
  lines.push(
    '',
    'URLs: each flag, else SOURCE_URL, TARGET_URL, CONNECT_URL, KAFKA_BOOTSTRAP, MIGRATE_CONTROL_URL, else the stack',
    "'runbook-harness up' started. The control schema runbook_harness_migrate lives in the target database unless",
    "--control-url names another. Run 'runbook-harness migrate <verb> --help' for a verb's options.",
  );
  return lines.join('\n') + '\n';
}

export const command: CliCommand = {
  summary: 'the migration orchestrator: init, snapshot, status, lag, validate, compare, halt, restart, resync, cutover, rollback, report, …',
  async run(args) {
    const [name, ...rest] = args;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(await helpText());
      return name ? 0 : 2;
    }
    const names = verbNames();
    if (!names.includes(name)) throw new UsageError(`migrate: unknown verb '${name}'; verbs: ${names.join(', ')} ('runbook-harness migrate --help')`);
    const verb = await loadVerb(name);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`usage: runbook-harness migrate ${name} ${COMMON_USAGE}${verb.usage ? ` ${verb.usage}` : ''}\n  ${verb.summary}\n`);
      return 0;
    }
    return runVerb(name, verb, splitCommonArgs(name, rest));
  },
};

/**
 * The `runbook-harness` command line a runbook may use: sub-commands, actions and options. A runbook that
 * names anything else would fail when run, so lint reports it. The table is the contract for commands still being
 * written (connector, kafka); test/runbook/harness-commands.test.ts checks it against every command that exists.
 */
import { COMMON_BOOLEAN_FLAGS, COMMON_STRING_FLAGS } from '../../migrate/migrate-args.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CommandSpec {
  options: string[];
  /** Options that take a value (the next token). */
  valued?: string[];
  actions?: Record<string, { options: string[]; valued?: string[]; required?: string[][]; positional?: number }>;
  required?: string[][];
  /** Number of positional arguments (after the action, if any); -1 = any number, at least one. */
  positional?: number;
}

/** `migrate <verb>`: the flags every verb shares, then each verb's own (valued ones take a value). */
const MIGRATE_COMMON = [...COMMON_STRING_FLAGS, ...COMMON_BOOLEAN_FLAGS].map((f) => `--${f}`);
const MIGRATE_VERBS: Record<string, { flags?: string[]; switches?: string[]; required?: string[][] }> = {
  init: { flags: ['--tables', '--pg-dump', '--psql', '--source-connector', '--sink-connector', '--topic-prefix', '--slot', '--publication'], switches: ['--skip-schema-copy'] },
  snapshot: { flags: ['--tables', '--interval'] },
  status: { flags: ['--events'] },
  lag: {},
  validate: { flags: ['--table', '--sample-size'], switches: ['--check-row-counts', '--check-checksums'] },
  compare: { flags: ['--table', '--max-keys'], switches: ['--verbose', '--detailed'], required: [['--table']] },
  halt: { flags: ['--reason'], switches: ['--stop'] },
  restart: {},
  resync: { flags: ['--table', '--interval'], required: [['--table']] },
  report: { flags: ['--output'], required: [['--output']] },
  cutover: {},
  rollback: { flags: ['--reason'] },
};
export const MIGRATE_VERB_NAMES = Object.keys(MIGRATE_VERBS);

const CONNECTOR_ACTION = { options: ['--file', '--include-tasks', '--only-failed'], valued: ['--file'], positional: 1 };

export const HARNESS_COMMANDS: Record<string, CommandSpec> = {
  up: { options: ['--json', '--bare', '--env'], valued: ['--env'] },
  down: { options: [] },
  status: { options: ['--json'] },
  connector: {
    options: [],
    actions: {
      ...Object.fromEntries(['status', 'config', 'pause', 'resume', 'stop', 'restart', 'deploy', 'delete', 'offsets'].map((a) => [a, CONNECTOR_ACTION])),
      list: { options: [] },
    },
  },
  kafka: {
    options: [],
    actions: {
      topics: { options: [] },
      consume: { options: ['--topic', '--from-beginning', '--max-messages', '--timeout-ms', '--headers'], valued: ['--topic', '--max-messages', '--timeout-ms'], required: [['--topic']] },
      groups: { options: ['--group'], valued: ['--group'], required: [['--group']] },
      'reset-offsets': { options: ['--group', '--topic', '--to-earliest', '--to-latest', '--to-offset'], valued: ['--group', '--topic', '--to-offset'], required: [['--group'], ['--topic'], ['--to-earliest', '--to-latest', '--to-offset']] },
    },
  },
  reconcile: {
    options: [
      '--table', '--tables', '--row-count-only', '--checksum', '--chunk-size', '--chunk-time', '--parallel', '--key', '--ignore', '--map',
      '--target-table', '--from-key', '--to-key', '--max-diffs', '--report-format', '--output-dir', '--verbose', '--source-url', '--target-url',
    ],
    valued: [
      '--table', '--tables', '--chunk-size', '--chunk-time', '--parallel', '--key', '--ignore', '--map', '--target-table', '--from-key', '--to-key',
      '--max-diffs', '--report-format', '--output-dir', '--source-url', '--target-url',
    ],
    required: [['--table', '--tables']],
  },
  lag: {
    options: ['--json', '--watch', '--interval', '--count', '--connector', '--slot', '--heartbeat-table', '--no-heartbeat', '--timeout', '--source-url', '--target-url', '--bootstrap'],
    valued: ['--interval', '--count', '--connector', '--slot', '--heartbeat-table', '--timeout', '--source-url', '--target-url', '--bootstrap'],
  },
  migrate: {
    options: [],
    actions: Object.fromEntries(
      Object.entries(MIGRATE_VERBS).map(([verb, v]) => [
        verb,
        {
          options: [...MIGRATE_COMMON, ...(v.flags ?? []), ...(v.switches ?? [])],
          valued: [...COMMON_STRING_FLAGS.map((f) => `--${f}`), ...(v.flags ?? [])],
          required: [['--migration-id'], ...(v.required ?? [])],
        },
      ]),
    ),
  },
  lint: { options: ['--json', '--errors-only', '--no-connect'], positional: -1 },
  coverage: { options: ['--json'] },
  rehearse: { options: [] },
};

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../cli/commands');

/** Commands that exist as files but are not in the table yet: accepted, their options unchecked. */
function implementedCommand(name: string): boolean {
  return /^[a-z][a-z-]*$/.test(name) && existsSync(path.join(commandsDir, `${name}.ts`));
}

/** Shell words of one command, stopping at a pipe, redirection or list operator. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let has = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has || current) words.push(current);
      current = '';
      has = false;
    } else if ('|;&<>)'.includes(c) || (c === '2' && command[i + 1] === '>')) {
      break;
    } else current += c;
  }
  if (has || current) words.push(current);
  return words;
}

/** Problems with one `runbook-harness …` invocation (its words after the program name). */
export function checkHarnessCommand(args: string[]): string[] {
  const [name, ...rest] = args;
  if (!name) return ['runbook-harness without a command'];
  const spec = HARNESS_COMMANDS[name];
  if (!spec && implementedCommand(name)) return [];
  if (!spec) return [`'runbook-harness ${name}' is not a harness command (commands: ${Object.keys(HARNESS_COMMANDS).join(', ')})`];
  let options = spec.options;
  let valued = spec.valued ?? [];
  let required = spec.required ?? [];
  let positional = spec.positional ?? 0;
  let words = rest;
  let label = name;
  if (spec.actions) {
    const [action, ...after] = rest;
    const actionSpec = action ? spec.actions[action] : undefined;
    if (!actionSpec) return [`'runbook-harness ${name}' needs one of: ${Object.keys(spec.actions).join(', ')}${action ? ` (got '${action}')` : ''}`];
    ({ options, valued = [], required = [], positional = 0 } = actionSpec);
    words = after;
    label = `${name} ${action}`;
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  let positionals = 0;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word.startsWith('--')) {
      const flag = word.split('=')[0];
      if (!options.includes(flag)) problems.push(`'runbook-harness ${label}' has no option ${flag}`);
      seen.add(flag);
      if (valued.includes(flag) && !word.includes('=')) i++;
    } else positionals++;
  }
  if (positional >= 0 && positionals !== positional) {
    problems.push(`'runbook-harness ${label}' takes ${positional === 0 ? 'no arguments' : `${positional} argument`} besides options (got ${positionals})`);
  }
  if (positional === -1 && positionals === 0) problems.push(`'runbook-harness ${label}' needs at least one file`);
  for (const group of required) {
    if (!group.some((o) => seen.has(o))) problems.push(`'runbook-harness ${label}' needs ${group.join(' or ')}`);
  }
  return problems;
}

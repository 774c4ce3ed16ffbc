/**
 * `runbook-harness migrate` as a DBA runs it, one process per verb: a migration with names unique to the test (so
 * tests on one Connect cluster never share a connector, slot or topic), its verbs bound to it, and how a run's output
 * is read (the --json document) and shown in an assertion's message.
 */
import { randomBytes } from 'node:crypto';
import { defaultPipeline } from '../migrate/migration-connectors.js';
import { runCli, type CliResult } from './runbook-commands.js';

/** The run's --json document; a run that printed none fails with what it printed instead. */
export function cliJson<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`'${r.command}' printed no JSON document: ${showRun(r)}`);
  }
}

/** Exit code, stdout and stderr of a run, for an assertion's message. */
export const showRun = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(0, 2000)}\n--- stderr ---\n${r.stderr.slice(0, 2000)}`;

/**
 * A migration id and pipeline names unique to this test; `migrate(verb, ...)` runs the verb for it with `flags`
 * (e.g. --source-url) on every call; `initArgs` are init's arguments that record those names.
 */
export function cliMigration(stateDir: string, prefix: string, options: { tables: string[]; timeoutSeconds: number; flags?: string[] }) {
  const id = `${prefix}-${randomBytes(3).toString('hex')}`;
  const flat = id.replace(/-/g, '_');
  const names = { sourceConnector: `${id}-source`, sinkConnector: `${id}-sink`, topicPrefix: `rh_${flat}`, slotName: `rh_slot_${flat}`, publicationName: `rh_pub_${flat}` };
  const flags = options.flags ?? [];
  const migrate = (verb: string, ...args: string[]) => runCli(stateDir, ['migrate', verb, '--migration-id', id, ...flags, ...args]);
  const initArgs = ['--tables', options.tables.join(','), '--source-connector', names.sourceConnector, '--sink-connector', names.sinkConnector, '--topic-prefix', names.topicPrefix, '--slot', names.slotName, '--publication', names.publicationName, '--timeout', String(options.timeoutSeconds)];
  return { id, names, pipeline: defaultPipeline(names), migrate, initArgs };
}

/**
 * What every `migrate` verb is: a file harness/migrate/verbs/<verb>.ts exporting `verb: MigrateVerb`. The CLI
 * (harness/cli/commands/migrate.ts) discovers the files, parses the flags all verbs share, opens the control store,
 * takes the migration's lock for exclusive verbs, and hands the verb its own arguments.
 */
import type { ConnectClient } from '../pipeline/connect-client.js';
import type { SqlSession } from '../verify/reconcile/index.js';
import type { ControlStore, EventOutcome, Migration } from './control-store.js';
import type { MigrateEndpoints } from './endpoints.js';

export interface MigrateEventInput {
  step: string;
  outcome: EventOutcome;
  detail?: Record<string, unknown>;
}

export interface MigrateContext {
  migrationId: string;
  verb: string;
  endpoints: MigrateEndpoints;
  store: ControlStore;
  connect: ConnectClient;
  json: boolean;
  /** The verb's wait limit (--timeout, seconds → ms); every wait states it. */
  timeoutMs: number;
  /** True when --timeout was given (a verb with a shorter natural limit keeps its own otherwise). */
  timeoutGiven: boolean;
  /** Appends an event (this verb, this actor) to the migration's log. */
  record(event: MigrateEventInput): Promise<void>;
  /** The recorded migration; refuses one whose recorded source/target are not the databases given now. */
  migration(): Promise<Migration>;
  /** Sessions on the source and target (direct addresses), closed when the verb ends. */
  source(): Promise<SqlSession>;
  target(): Promise<SqlSession>;
  /** A progress line on stderr (never on stdout, so --json output stays one document). */
  progress(line: string): void;
  /** The verb's result: the JSON document with --json, else the text. */
  print(json: unknown, text: string): void;
}

export interface MigrateVerb {
  summary: string;
  /** Exclusive verbs hold the migration's advisory lock while they run; a second one is refused. */
  exclusive: boolean;
  /** The verb's own options, for `migrate <verb> --help`. */
  usage?: string;
  /** Verbs that only read (status, report) add no completion event to the log. */
  readOnly?: boolean;
  /** Resolves to the exit code: 0 ok, 1 verdict failed; throws HarnessError for bad input or an unreachable component (2). */
  run(ctx: MigrateContext, args: string[]): Promise<number>;
}

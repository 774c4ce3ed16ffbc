/**
 * The flags every `migrate` verb takes, split off before the verb parses its own. Pure (unit-tested).
 */
import { UsageError } from '../cli/errors.js';
import type { EndpointFlags } from './endpoints.js';

export const COMMON_STRING_FLAGS = [
  'migration-id',
  'timeout',
  'source-url',
  'target-url',
  'connect-url',
  'kafka-bootstrap',
  'control-url',
  'connect-source',
  'connect-target',
  'connect-kafka',
  'pooler-url',
  'pooler-admin-url',
  'pooler-databases-file',
] as const;
export const COMMON_BOOLEAN_FLAGS = ['json'] as const;

export const COMMON_USAGE =
  '--migration-id ID [--json] [--timeout SECONDS] [--source-url URL] [--target-url URL] [--connect-url URL] [--kafka-bootstrap HOST:PORT] ' +
  '[--control-url URL] [--connect-source HOST:PORT] [--connect-target HOST:PORT] [--connect-kafka HOST:PORT] ' +
  '[--pooler-url URL] [--pooler-admin-url URL] [--pooler-databases-file FILE]';

export interface CommonArgs {
  migrationId: string;
  json: boolean;
  /** undefined: the verb's default. */
  timeoutSeconds?: number;
  endpoints: EndpointFlags;
  /** Everything else, in order, for the verb. */
  rest: string[];
}

/** Letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters. */
export const MIGRATION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function splitCommonArgs(verb: string, args: string[]): CommonArgs {
  const values: Record<string, string> = {};
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    if (name && (COMMON_BOOLEAN_FLAGS as readonly string[]).includes(name)) {
      if (m[2] !== undefined) throw new UsageError(`migrate ${verb}: --${name} takes no value`);
      json = true;
    } else if (name && (COMMON_STRING_FLAGS as readonly string[]).includes(name)) {
      const value = m[2] ?? args[++i];
      if (value === undefined || (m[2] === undefined && value.startsWith('--'))) throw new UsageError(`migrate ${verb}: --${name} needs a value; usage: runbook-harness migrate ${verb} ${COMMON_USAGE}`);
      if (values[name] !== undefined) throw new UsageError(`migrate ${verb}: --${name} given twice`);
      values[name] = value;
    } else rest.push(arg);
  }
  const migrationId = values['migration-id'];
  if (!migrationId) throw new UsageError(`migrate ${verb}: --migration-id ID is required; usage: runbook-harness migrate ${verb} ${COMMON_USAGE}`);
  if (!MIGRATION_ID.test(migrationId)) throw new UsageError(`migrate ${verb}: --migration-id '${migrationId}' must be letters, digits, '.', '_' or '-' (at most 63, starting with a letter or digit)`);
  let timeoutSeconds: number | undefined;
  if (values.timeout !== undefined) {
    timeoutSeconds = Number(values.timeout);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError(`migrate ${verb}: --timeout must be a positive number of seconds, got '${values.timeout}'`);
  }
  const endpoints: EndpointFlags = {};
  for (const key of ['source-url', 'target-url', 'connect-url', 'kafka-bootstrap', 'control-url', 'connect-source', 'connect-target', 'connect-kafka', 'pooler-url', 'pooler-admin-url', 'pooler-databases-file'] as const) {
    if (values[key] !== undefined) endpoints[key] = values[key];
  }
  return { migrationId, json, timeoutSeconds, endpoints, rest };
}

/** A verb's positive integer flag (e.g. --sample-size), or a one-line usage error naming it. */
export function positiveInteger(verb: string, flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`migrate ${verb}: --${flag} must be a positive whole number, got '${text}'`);
  return n;
}

/** a,b,c → [a, b, c] (empty entries dropped). */
export function listFlag(text: string | undefined): string[] | undefined {
  return text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter(Boolean);
}

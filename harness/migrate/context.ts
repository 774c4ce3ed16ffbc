/**
 * Builds the MigrateContext a verb runs in, and runs the verb: lock for exclusive verbs, a completion event, and
 * every connection closed whatever happens.
 */
import { HarnessError } from '../core/errors.js';
import { WaitTimeoutError } from '../core/poll.js';
import { redactUrl } from '../core/redaction.js';
import { readStackState } from '../env/state.js';
import { ConnectClient } from '../pipeline/connect-client.js';
import { openSession, type SqlSession } from '../verify/reconcile/index.js';
import { ControlStore, type Migration } from './control-store.js';
import { resolveEndpoints, type MigrateEndpoints } from './endpoints.js';
import { databaseIdentity, sameDatabase } from './database-identity.js';
import type { CommonArgs } from './migrate-args.js';
import type { MigrateContext, MigrateVerb } from './verb.js';

/** A verb's wait limit when --timeout is not given. */
export const DEFAULT_TIMEOUT_SECONDS = 300;

function connectUnreachable(error: unknown, url: string): HarnessError | undefined {
  if (error instanceof TypeError && /fetch failed/.test(error.message)) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return new HarnessError(`Kafka Connect at ${url} is unreachable (${cause?.code ?? cause?.message ?? 'fetch failed'}); check --connect-url / CONNECT_URL, or that the worker runs ('runbook-harness status')`);
  }
  if (error instanceof DOMException && error.name === 'TimeoutError') return new HarnessError(`Kafka Connect at ${url} did not answer in time; check that the worker runs ('runbook-harness status')`);
  return undefined;
}

export async function runVerb(verbName: string, verb: MigrateVerb, common: CommonArgs): Promise<number> {
  let stack: ReturnType<typeof readStackState>;
  try {
    stack = readStackState();
  } catch {
    stack = undefined;
  }
  const endpoints: MigrateEndpoints = resolveEndpoints(common.endpoints, process.env, stack ? { endpoints: stack.endpoints, tools: stack.tools } : undefined);
  const store = await ControlStore.open(endpoints.controlUrl, redactUrl(endpoints.controlUrl), verbName);
  const sessions: SqlSession[] = [];
  let cached: { source?: Promise<SqlSession>; target?: Promise<SqlSession> } = {};
  const open = (role: 'source' | 'target') => {
    cached[role] ??= openSession(endpoints[role].url, role, { connections: 2 }).then((s) => {
      sessions.push(s);
      return s;
    });
    return cached[role]!;
  };
  const ctx: MigrateContext = {
    migrationId: common.migrationId,
    verb: verbName,
    endpoints,
    store,
    connect: new ConnectClient(endpoints.connectUrl, { stateLimitMs: Math.min((common.timeoutSeconds ?? 60) * 1000, 300_000) }),
    json: common.json,
    timeoutMs: (common.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    timeoutGiven: common.timeoutSeconds !== undefined,
    record: (event) => store.record({ migrationId: common.migrationId, actor: store.actor, verb: verbName, step: event.step, outcome: event.outcome, detail: event.detail ?? {} }),
    async migration(): Promise<Migration> {
      const migration = await store.get(common.migrationId);
      for (const role of ['source', 'target'] as const) {
        const now = await databaseIdentity(await open(role));
        if (!sameDatabase(migration[role], now)) {
          throw new HarnessError(
            `migration ${migration.id} was initialized for ${role} ${migration[role].host}:${migration[role].port}/${migration[role].database} (system ${migration[role].systemIdentifier ?? '?'}), but the ${role} URL now points at ${now.host}:${now.port}/${now.database} (system ${now.systemIdentifier ?? '?'}); pass the ${role} URL the migration was initialized with`,
          );
        }
      }
      return migration;
    },
    source: () => open('source'),
    target: () => open('target'),
    progress: (line) => process.stderr.write(`${line}\n`),
    print: (json, text) => process.stdout.write(common.json ? `${JSON.stringify(json, null, 2)}\n` : text.endsWith('\n') ? text : `${text}\n`),
  };
  let locked = false;
  try {
    if (verb.exclusive) {
      await store.lockExclusive(common.migrationId, verbName);
      locked = true;
    }
    let code: number;
    try {
      code = await verb.run(ctx, common.rest);
    } catch (error) {
      const reachable = connectUnreachable(error, endpoints.connectUrl);
      const failure = reachable ?? error;
      if (!verb.readOnly && (await store.find(common.migrationId).catch(() => undefined))) {
        await ctx.record({ step: 'done', outcome: 'failed', detail: { error: (failure as Error).message.split('\n')[0] } }).catch(() => undefined);
      }
      if (failure instanceof WaitTimeoutError) {
        // A wait that ran out is a verdict (the thing waited for did not happen), not bad input.
        process.stderr.write(`runbook-harness: migrate ${verbName}: ${failure.message}\n`);
        return 1;
      }
      throw failure;
    }
    if (!verb.readOnly && (await store.find(common.migrationId))) await ctx.record({ step: 'done', outcome: code === 0 ? 'ok' : 'failed', detail: { exitCode: code } });
    return code;
  } finally {
    if (locked) await store.unlockExclusive(common.migrationId);
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
    cached = {};
    await store.close();
  }
}

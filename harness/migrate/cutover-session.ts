/**
 * What `migrate cutover` and `migrate rollback` share: the library's inputs built from a MigrateContext (both
 * sides as the pooler reaches them, the pooler's admin, the endpoints the reverse pipeline's connector configs use),
 * what an interrupted run already did (read back from the migration's event log), and the reverse pipeline the
 * cutover started (rebuilt from its recorded names). Pure where it can be, so the resume rules are unit-tested.
 */
import { HarnessError } from '../core/errors.js';
import type { StackEndpoints } from '../env/stack.js';
import type { MigrationEvent } from './control-store.js';
import type { MigrationSides } from './sides.js';
import type { PipelineFixes } from './fixes.js';
import { MARKER_TABLE } from './drain.js';
import { requirePoolerEndpoint, type MigrateEndpoints } from './endpoints.js';
import { PoolerAdmin } from './pooler-admin.js';
import { reversePipeline, type ReversePipeline } from './reverse-pipeline.js';
import type { MigrationState } from './state-machine.js';
import type { StepWrapper } from './steps.js';
import type { MigrateContext } from './verb.js';

/** The tables as the library takes them: unqualified (the connector templates add the schema). */
export function bareTables(tables: readonly string[]): string[] {
  return tables.map((t) => t.slice(t.indexOf('.') + 1));
}

/** The endpoints as the reverse pipeline's templates read them (databases and how Connect reaches them). */
export function templateEndpoints(endpoints: MigrateEndpoints): StackEndpoints {
  return { source: endpoints.source, target: endpoints.target, connectView: endpoints.connectView } as unknown as StackEndpoints;
}

export interface AttemptEvents {
  /** Steps (of `steps`) recorded ok since the attempt began, in order; not those skipped as "not in this procedure". */
  completed: string[];
  /** When the attempt's first pause-pooler started (ms), if it did. */
  pausedAt?: number;
}

/**
 * The current attempt of `verb`: its events after the last state change into `state` from another state (a resumed
 * run records `state → state`, which does not start a new attempt).
 */
export function attemptEvents(events: readonly MigrationEvent[], verb: string, state: MigrationState, steps: readonly string[]): AttemptEvents {
  let start = -1;
  events.forEach((e, i) => {
    if (e.step === 'state' && e.detail.to === state && e.detail.from !== state) start = i;
  });
  if (start < 0) return { completed: [] };
  const done = new Set<string>();
  let pausedAt: number | undefined;
  for (const e of events.slice(start + 1)) {
    if (e.verb !== verb || !steps.includes(e.step)) continue;
    if (e.step === 'pause-pooler' && e.outcome === 'started' && pausedAt === undefined && e.at) pausedAt = Date.parse(e.at);
    if (e.outcome === 'ok' && e.detail.skipped !== 'not in this procedure') done.add(e.step);
  }
  return { completed: steps.filter((s) => done.has(s)), pausedAt };
}

/** The reverse pipeline the last cutover started, from its `start-reverse-pipeline` event (slot rh_rev_slot_<id>). */
export function recordedReverse(events: readonly MigrationEvent[], endpoints: StackEndpoints, tables: string[], fixes?: PipelineFixes): ReversePipeline | undefined {
  const started = [...events].reverse().find((e) => e.verb === 'cutover' && e.step === 'start-reverse-pipeline' && e.outcome === 'ok' && typeof e.detail.slot === 'string');
  const id = started ? /^rh_rev_slot_([0-9a-f]+)$/.exec(started.detail.slot as string)?.[1] : undefined;
  return id ? reversePipeline(endpoints, [...tables, MARKER_TABLE], id, fixes) : undefined;
}

/** Everything the cutover and the rollback act on but Connect (the verbs open their own client). */
export interface CutoverSession extends Omit<MigrationSides, 'connect'> {
  endpoints: StackEndpoints;
}

/** Sessions, pooler and endpoints for the library; a missing pooler or Kafka bootstrap is a one-line error. */
export async function cutoverSession(ctx: MigrateContext, verb: string): Promise<CutoverSession> {
  const pooler = requirePoolerEndpoint(ctx.endpoints);
  if (!ctx.endpoints.kafkaBootstrap) throw new HarnessError(`migrate ${verb}: no Kafka bootstrap (the drain reads the sink's consumer lag): pass --kafka-bootstrap HOST:PORT, set KAFKA_BOOTSTRAP, or start a stack with 'runbook-harness up'`);
  const { source, target } = ctx.endpoints;
  return {
    // The pooler reaches each database at the address this machine does.
    source: { session: await ctx.source(), server: { host: source.host, port: source.port, database: source.database } },
    target: { session: await ctx.target(), server: { host: target.host, port: target.port, database: target.database } },
    pooler: new PoolerAdmin(pooler),
    appRole: pooler.appRole,
    endpoints: templateEndpoints(ctx.endpoints),
    kafkaBootstrap: ctx.endpoints.kafkaBootstrap,
  };
}

/** A progress line on stderr per step: `cutover 3/9 drain ...` then `ok (1.2 s)` or `FAILED`. */
export function progressSteps(ctx: MigrateContext, verb: string, steps: readonly string[]): StepWrapper {
  return async (step, body) => {
    const n = steps.indexOf(step) + 1;
    ctx.progress(`migrate ${verb}: ${n}/${steps.length} ${step} …`);
    const started = Date.now();
    try {
      const detail = await body();
      ctx.progress(`migrate ${verb}: ${n}/${steps.length} ${step} ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return detail;
    } catch (error) {
      ctx.progress(`migrate ${verb}: ${n}/${steps.length} ${step} FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s: ${(error as Error).message.split('\n')[0]}`);
      throw error;
    }
  };
}

/**
 * The rollback after a cutover, as ordered, resumable steps, each recorded and each within its limit:
 *
 *   pause-pooler              the pooler holds every new query; transactions in flight on the target finish
 *   fence-target              the application role goes read-only on the target; its open sessions are ended
 *   drain-reverse             a marker written on the target reaches the source; the reverse sink has nothing left
 *   carry-sequences-back      the target's sequence positions set on the source (they moved on after the cutover)
 *   stop-reverse-sink         the reverse sink paused: nothing overwrites the source once the application is back
 *   unfence-source            the application role may write on the source again
 *   switch-pooler             the pooler's database entry back to the source, RELOAD, observed
 *   resume-pooler             the held queries go to the source
 *
 * RTO: from the pause to the resume. The original runbook's rollback ("switch connection strings back to source,
 * restart the application, stop the connector") is ORIGINAL_ROLLBACK_SKIPS: it never brings the target's writes back.
 */
import { awaitDrained } from './drain.js';
import { fenceRole, unfenceRole } from './fence.js';
import type { MigrationSides } from './sides.js';
import type { ReversePipeline } from './reverse-pipeline.js';
import { carrySequences } from './sequences.js';
import { runSteps, type Recorder, type Step, type StepsOutcome, type StepWrapper } from './steps.js';

export const ROLLBACK_STEPS = ['pause-pooler', 'fence-target', 'drain-reverse', 'carry-sequences-back', 'stop-reverse-sink', 'unfence-source', 'switch-pooler', 'resume-pooler'] as const;
export type RollbackStep = (typeof ROLLBACK_STEPS)[number];

/** What the original runbook's rollback leaves out. */
export const ORIGINAL_ROLLBACK_SKIPS: RollbackStep[] = ['fence-target', 'drain-reverse', 'carry-sequences-back', 'stop-reverse-sink'];

export const DEFAULT_ROLLBACK_LIMITS_MS: Record<RollbackStep, number> = {
  'pause-pooler': 30_000,
  'fence-target': 15_000,
  'drain-reverse': 60_000,
  'carry-sequences-back': 15_000,
  'stop-reverse-sink': 30_000,
  'unfence-source': 15_000,
  'switch-pooler': 15_000,
  'resume-pooler': 15_000,
};

export interface RollbackInputs extends MigrationSides {
  /** The reverse pipeline the cutover started (needed unless drain-reverse and stop-reverse-sink are skipped). */
  reverse?: ReversePipeline;
  skip?: RollbackStep[];
  completed?: RollbackStep[];
  limits?: Partial<Record<RollbackStep, number>>;
  record: Recorder;
  /** Each step's body runs inside this (e.g. a scenario's runbookStep). */
  around?: StepWrapper;
}

export interface RollbackResult extends StepsOutcome {
  /** Pause start to resume observed (the RTO), when the rollback completed. */
  rtoSeconds?: number;
}

export async function rollback(inputs: RollbackInputs): Promise<RollbackResult> {
  const limit = (step: RollbackStep) => inputs.limits?.[step] ?? DEFAULT_ROLLBACK_LIMITS_MS[step];
  const { source, target, pooler } = inputs;
  const reverse = () => {
    if (!inputs.reverse) throw new Error('no reverse pipeline: the cutover did not start one, so the target\'s writes cannot be brought back');
    return inputs.reverse;
  };
  let pausedAt = 0;
  const bodies: Record<RollbackStep, () => Promise<Record<string, unknown> | void>> = {
    'pause-pooler': async () => {
      pausedAt = Date.now();
      const paused = await pooler.pause(limit('pause-pooler'));
      return { seconds: paused.seconds };
    },
    'fence-target': async () => ({ ...(await fenceRole(target.session, inputs.appRole, target.server.database, limit('fence-target'))) }),
    'drain-reverse': async () => {
      const watch = { connect: inputs.connect, connectors: [reverse().sourceName, reverse().sinkName] };
      return { ...(await awaitDrained({ origin: target.session, destination: source.session, kafkaBootstrap: inputs.kafkaBootstrap, sinkConnector: reverse().sinkName, limitMs: limit('drain-reverse'), watch })) };
    },
    'carry-sequences-back': async () => ({ sequences: await carrySequences(target.session, source.session) }),
    'stop-reverse-sink': async () => {
      const state = (await inputs.connect.pauseConnector(reverse().sinkName, { waitForTasks: true })).connector.state;
      // Nothing writes into the source behind the application any more: its own settings back (identity ALWAYS).
      const sql = inputs.fixes?.rollbackSourceSql ?? [];
      for (const statement of sql) await source.session.query(statement);
      return { state, ...(sql.length ? { fixesSql: sql } : {}) };
    },
    'unfence-source': async () => ({ ...(await unfenceRole(source.session, inputs.appRole, source.server.database)) }),
    'switch-pooler': async () => ({ ...(await pooler.pointAt(source.server, limit('switch-pooler'))) }),
    'resume-pooler': async () => ({ ...(await pooler.resume(limit('resume-pooler'))) }),
  };
  const steps: Step[] = ROLLBACK_STEPS.map((name) => ({ name, limitMs: limit(name), run: bodies[name] }));
  const outcome = await runSteps(steps, { record: inputs.record, completed: inputs.completed, skip: inputs.skip, around: inputs.around });
  return { ...outcome, rtoSeconds: outcome.ok && pausedAt ? (Date.now() - pausedAt) / 1000 : undefined };
}

/**
 * The cutover, as ordered, resumable steps, each recorded and each within its limit:
 *
 *   pause-pooler            the pooler lets transactions in flight finish and holds every new query
 *   fence-source            the application role goes read-only on the source; its open sessions are ended
 *   drain                   a marker written after the fence reaches the target; the sink has nothing left to read
 *   validate                counts and checksums of every table (harness/verify/reconcile) match
 *   carry-sequences         each source sequence's position set on the target (CDC does not carry them)
 *   stop-forward-sink       the forward sink paused: nothing overwrites the target once the application writes there
 *   start-reverse-pipeline  target → source (Debezium source on the target, JDBC sink into the source)
 *   switch-pooler           the pooler's database entry rewritten to the target, RELOAD, observed
 *   resume-pooler           the held queries go to the target
 *
 * A failure before the switch undoes what ran (reverse pipeline removed, forward sink resumed, source unfenced,
 * pooler resumed on the source) and says so; after the switch, the way back is the rollback.
 * Cutover time: from the pause (writes stop) to the resume (the application writes to the target).
 */
import type { StackEndpoints } from '../env/stack.js';
import { reconcileSessions } from '../verify/reconcile/index.js';
import { awaitDrained, MARKER_TABLE } from './drain.js';
import { fenceRole, unfenceRole } from './fence.js';
import { removeReversePipeline, reversePipeline, startReversePipeline, type ReversePipeline } from './reverse-pipeline.js';
import { carrySequences } from './sequences.js';
import type { MigrationSides } from './sides.js';
import { runSteps, type Recorder, type Step, type StepsOutcome, type StepWrapper } from './steps.js';

export const CUTOVER_STEPS = ['pause-pooler', 'fence-source', 'drain', 'validate', 'carry-sequences', 'stop-forward-sink', 'start-reverse-pipeline', 'switch-pooler', 'resume-pooler'] as const;
export type CutoverStep = (typeof CUTOVER_STEPS)[number];

export const DEFAULT_CUTOVER_LIMITS_MS: Record<CutoverStep, number> = {
  'pause-pooler': 30_000,
  'fence-source': 15_000,
  drain: 60_000,
  validate: 60_000,
  'carry-sequences': 15_000,
  'stop-forward-sink': 30_000,
  'start-reverse-pipeline': 60_000,
  'switch-pooler': 15_000,
  'resume-pooler': 15_000,
};

export interface CutoverInputs extends MigrationSides {
  /** The forward pipeline's sink connector (drained, then paused). */
  forwardSink: string;
  /** The forward pipeline's source connector: the drain stops at once if it (or the sink) FAILED. */
  forwardSource?: string;
  /** Tables validated and, with the marker table, carried by the reverse pipeline. */
  tables: string[];
  /** For the reverse pipeline's connector configs (how Connect reaches both databases). */
  endpoints: StackEndpoints;
  /** Steps left out of this procedure (a control run, or the original runbook's procedure). */
  skip?: CutoverStep[];
  /** Steps an earlier, interrupted run completed (from the event log): not repeated. */
  completed?: CutoverStep[];
  /** The reverse pipeline an earlier, interrupted run started (its names from the event log); else new names. */
  reverse?: ReversePipeline;
  limits?: Partial<Record<CutoverStep, number>>;
  record: Recorder;
  /** Each step's body runs inside this (e.g. a scenario's runbookStep). */
  around?: StepWrapper;
}

export interface CutoverResult extends StepsOutcome {
  /** Pause start to resume observed, when the cutover completed. */
  cutoverSeconds?: number;
  switched: boolean;
  /** Set when a failure before the switch was undone. */
  undone?: StepsOutcome;
  reverse?: ReversePipeline;
  /** The validation report (step validate). */
  validation?: Awaited<ReturnType<typeof reconcileSessions>>;
}

export async function cutover(inputs: CutoverInputs): Promise<CutoverResult> {
  const limit = (step: CutoverStep) => inputs.limits?.[step] ?? DEFAULT_CUTOVER_LIMITS_MS[step];
  const { source, target, pooler } = inputs;
  // A resumed run whose earlier part already switched the pooler must never undo back to the source.
  const result: CutoverResult = { ok: false, steps: [], switched: inputs.completed?.includes('switch-pooler') ?? false };
  const wants = (step: CutoverStep) => !inputs.skip?.includes(step);
  if (wants('start-reverse-pipeline')) result.reverse = inputs.reverse ?? reversePipeline(inputs.endpoints, [...inputs.tables, MARKER_TABLE], undefined, inputs.fixes);
  let pausedAt = 0;
  const bodies: Record<CutoverStep, () => Promise<Record<string, unknown> | void>> = {
    'pause-pooler': async () => {
      pausedAt = Date.now();
      const paused = await pooler.pause(limit('pause-pooler'));
      return { seconds: paused.seconds, pools: paused.pools };
    },
    'fence-source': async () => ({ ...(await fenceRole(source.session, inputs.appRole, source.server.database, limit('fence-source'))) }),
    drain: async () => {
      const watch = { connect: inputs.connect, connectors: [...(inputs.forwardSource ? [inputs.forwardSource] : []), inputs.forwardSink] };
      return { ...(await awaitDrained({ origin: source.session, destination: target.session, kafkaBootstrap: inputs.kafkaBootstrap, sinkConnector: inputs.forwardSink, limitMs: limit('drain'), watch })) };
    },
    validate: async () => {
      const report = await reconcileSessions(source.session, target.session, inputs.tables.map((table) => ({ table })));
      result.validation = report;
      const summary = report.tables.map((t) => ({ table: t.table, match: t.match, sourceRows: t.sourceRows, targetRows: t.targetRows, ...t.diffCounts, error: t.error }));
      if (!report.summary.match) throw new Error(`validation found differences: ${JSON.stringify(summary.filter((t) => !t.match))}`);
      return { tables: summary };
    },
    'carry-sequences': async () => ({ sequences: await carrySequences(source.session, target.session) }),
    'stop-forward-sink': async () => ({ state: (await inputs.connect.pauseConnector(inputs.forwardSink, { waitForTasks: true })).connector.state }),
    'start-reverse-pipeline': async () => {
      // The schema fixes' switch: the target's own settings back (identity ALWAYS), the source open to the reverse sink.
      const sql = { target: inputs.fixes?.cutoverTargetSql ?? [], source: inputs.fixes?.reverseSourceSql ?? [] };
      for (const statement of sql.target) await target.session.query(statement);
      for (const statement of sql.source) await source.session.query(statement);
      const started = await startReversePipeline(result.reverse!, inputs.connect, target.session, limit('start-reverse-pipeline'));
      return { ...started, source: result.reverse!.sourceName, sink: result.reverse!.sinkName, ...(sql.target.length + sql.source.length ? { fixesSql: sql } : {}) };
    },
    'switch-pooler': async () => {
      const switched = await pooler.pointAt(target.server, limit('switch-pooler'));
      result.switched = true;
      return { ...switched };
    },
    'resume-pooler': async () => ({ ...(await pooler.resume(limit('resume-pooler'))) }),
  };
  const steps: Step[] = CUTOVER_STEPS.map((name) => ({ name, limitMs: limit(name), run: bodies[name] }));
  const outcome = await runSteps(steps, { record: inputs.record, completed: inputs.completed, skip: inputs.skip, around: inputs.around });
  Object.assign(result, outcome);
  if (outcome.ok) {
    result.cutoverSeconds = pausedAt ? (Date.now() - pausedAt) / 1000 : undefined;
    return result;
  }
  if (!result.switched) result.undone = await undoCutover(inputs, result, outcome.steps.map((s) => s.name as CutoverStep));
  return result;
}

/** Back to where the cutover began: every step that ran, reversed. Each undo step is recorded too. */
async function undoCutover(inputs: CutoverInputs, result: CutoverResult, ran: CutoverStep[]): Promise<StepsOutcome> {
  const did = (s: CutoverStep) => ran.includes(s);
  const undo: Step[] = [];
  if (did('start-reverse-pipeline') || result.failed?.name === 'start-reverse-pipeline')
    undo.push({ name: 'undo:remove-reverse-pipeline', limitMs: 60_000, run: async () => {
      await removeReversePipeline(result.reverse!, inputs.connect, inputs.target.session, inputs.kafkaBootstrap);
      // The schema fixes as they were before the switch: the target a replica again, the source its own.
      for (const statement of inputs.fixes?.targetSql ?? []) await inputs.target.session.query(statement);
      for (const statement of inputs.fixes?.rollbackSourceSql ?? []) await inputs.source.session.query(statement);
    } });
  if (did('stop-forward-sink')) undo.push({ name: 'undo:resume-forward-sink', limitMs: 30_000, run: async () => ({ state: (await inputs.connect.resumeConnector(inputs.forwardSink)).connector.state }) });
  if (did('fence-source') || result.failed?.name === 'fence-source') undo.push({ name: 'undo:unfence-source', limitMs: 15_000, run: async () => ({ ...(await unfenceRole(inputs.source.session, inputs.appRole, inputs.source.server.database)) }) });
  undo.push({ name: 'undo:resume-pooler-on-source', limitMs: 30_000, run: async () => {
    const at = await inputs.pooler.server();
    const back = at.port === inputs.source.server.port && at.host === inputs.source.server.host ? undefined : await inputs.pooler.pointAt(inputs.source.server);
    return { pointedBack: Boolean(back), ...(await inputs.pooler.resume()) };
  } });
  return runSteps(undo, { record: inputs.record });
}

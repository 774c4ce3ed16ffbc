/**
 * migrate cutover: the runbook's Execute Cutover as the library's ordered steps (harness/migrate/cutover.ts: pause
 * the pooler, fence the source, drain, validate, carry the sequences, stop the forward sink, start the reverse
 * pipeline, switch the pooler, resume), each recorded in the migration's event log as it starts and ends.
 *
 *   replicating → cutting-over → cut-over
 *   a failure before the switch is undone by the library (recorded as undo:* steps) → failed (`migrate restart`)
 *   a failure after the switch, or a process that died mid-way, leaves cutting-over: `cutover` again resumes at
 *   the first step the event log does not show done (the reverse pipeline keeps its recorded names)
 *
 * Prints each step's seconds and the cutover time (pause to resume) against the runbook's Cutover time SLO.
 * Exit 0 cut over within the SLO; 1 a step failed, or the cutover took longer than the SLO; 2 bad input.
 * --timeout S: every step's limit (default: the library's per-step limits).
 */
import { HarnessError } from '../../core/errors.js';
import { parseCommandArgs } from '../../cli/command.js';
import { sloTarget } from '../../runbook/slo.js';
import { describeVerdict, sloVerdict, type SloVerdict } from '../../verify/slo.js';
import { CUTOVER_STEPS, cutover, type CutoverStep } from '../cutover.js';
import { attemptEvents, bareTables, cutoverSession, progressSteps, recordedReverse } from '../cutover-session.js';
import type { StepResult } from '../steps.js';
import type { MigrationState } from '../state-machine.js';
import type { MigrateVerb } from '../verb.js';

const USAGE = '[--timeout SECONDS]';

export const verb: MigrateVerb = {
  summary: 'pause the pooler, fence, drain, validate, carry sequences, start the reverse pipeline, switch, resume (resumable)',
  exclusive: true,
  usage: USAGE,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate cutover', args, {}, USAGE);
    if (!parsed) return 0;
    const migration = await ctx.migration();
    if (migration.state !== 'replicating' && migration.state !== 'cutting-over') {
      throw new HarnessError(`migrate cutover: migration ${migration.id} is ${migration.state}; a cutover starts from replicating (after 'migrate snapshot' and 'migrate validate') or resumes one left cutting-over`);
    }
    const session = await cutoverSession(ctx, 'cutover');
    const tables = bareTables(migration.tables);
    const events = await ctx.store.events(migration.id);
    const resuming = migration.state === 'cutting-over';
    const earlier = resuming ? attemptEvents(events, 'cutover', 'cutting-over', CUTOVER_STEPS) : { completed: [] as string[] };
    const completed = earlier.completed as CutoverStep[];
    const reverse = completed.includes('start-reverse-pipeline') ? recordedReverse(events, session.endpoints, tables, migration.pipeline.fixes) : undefined;
    if (completed.includes('start-reverse-pipeline') && !reverse) throw new HarnessError(`migrate cutover: the event log shows start-reverse-pipeline done but not its slot name; finish by hand or 'migrate rollback'`);
    await ctx.store.setState(migration.id, 'cutting-over', 'cutover', resuming ? { resumed: true, completed } : {});
    if (completed.length) ctx.progress(`migrate cutover: resuming; done earlier: ${completed.join(', ')}`);

    const limits = ctx.timeoutGiven ? Object.fromEntries(CUTOVER_STEPS.map((s) => [s, ctx.timeoutMs])) : undefined;
    const started = Date.now();
    const result = await cutover({
      ...session,
      connect: ctx.connect,
      fixes: migration.pipeline.fixes,
      forwardSink: migration.pipeline.sinkConnector,
      forwardSource: migration.pipeline.sourceConnector,
      tables,
      completed,
      reverse,
      limits,
      record: (e) => ctx.record(e),
      around: progressSteps(ctx, 'cutover', CUTOVER_STEPS),
    });

    // A resumed cutover's window began at the first attempt's pause.
    const cutoverSeconds = result.ok ? (result.cutoverSeconds ?? (earlier.pausedAt ? (Date.now() - earlier.pausedAt) / 1000 : undefined)) : undefined;
    const slo = sloTarget('database-migration', 'Cutover time');
    const verdict: SloVerdict | undefined = cutoverSeconds === undefined ? undefined : sloVerdict({ metric: slo.metric, comparator: slo.comparator, value: slo.value, unit: slo.unit }, cutoverSeconds, 'pooler paused to resumed on the target');
    let state: MigrationState = migration.state;
    if (result.ok) {
      state = (await ctx.store.setState(migration.id, 'cut-over', 'cutover', { cutoverSeconds, verdict, reverse: result.reverse ? { source: result.reverse.sourceName, sink: result.reverse.sinkName, slot: result.reverse.names.slotName } : null })).state;
    } else if (result.undone) {
      state = (await ctx.store.setState(migration.id, 'failed', 'cutover', { failed: result.failed, undone: result.undone.ok, undoFailed: result.undone.failed ?? null })).state;
    } else {
      state = 'cutting-over';
      await ctx.record({ step: 'resume-needed', outcome: 'info', detail: { failed: result.failed, switched: result.switched } });
    }

    const line = (s: StepResult) => `  ${s.name.padEnd(24)} ${s.skipped ? s.skipped : `${s.seconds.toFixed(2)} s`}`;
    const text = [
      result.ok
        ? `migrate cutover ${migration.id}: cut over in ${cutoverSeconds?.toFixed(1) ?? '?'} s; state ${state}`
        : `migrate cutover ${migration.id}: step ${result.failed?.name} failed: ${result.failed?.error}; state ${state}`,
      ...result.steps.map(line),
      ...(result.undone ? ['  undone (back on the source):', ...result.undone.steps.map(line), ...(result.undone.failed ? [`  undo step ${result.undone.failed.name} FAILED: ${result.undone.failed.error}`] : [])] : []),
      ...(verdict ? [`  ${describeVerdict(verdict)}`] : []),
      result.ok
        ? `the application now writes to the target through the pooler; back with: runbook-harness migrate rollback --migration-id ${migration.id}`
        : result.undone
          ? `fix the cause, then 'runbook-harness migrate restart --migration-id ${migration.id}' and cutover again`
          : `the pooler was switched: 'runbook-harness migrate cutover --migration-id ${migration.id}' resumes at ${result.failed?.name}, or 'migrate rollback' goes back`,
    ].join('\n');
    ctx.print(
      { migrationId: migration.id, ok: result.ok, state, resumed: resuming, cutoverSeconds: cutoverSeconds ?? null, verdict: verdict ?? null, steps: result.steps, failed: result.failed ?? null, undone: result.undone ?? null, switched: result.switched, seconds: (Date.now() - started) / 1000 },
      text,
    );
    return result.ok && verdict?.pass !== false ? 0 : 1;
  },
};

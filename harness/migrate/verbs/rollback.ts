/**
 * migrate rollback: the runbook's Emergency Rollback as the library's ordered steps (harness/migrate/rollback.ts:
 * pause the pooler, fence the target, drain the reverse pipeline, carry the sequences back, stop the reverse sink,
 * unfence the source, switch the pooler back, resume), each recorded in the migration's event log.
 *
 *   cut-over (or cutting-over after the switch, halted, failed) → rolling-back → rolled-back
 *   a failed step leaves rolling-back: `rollback` again resumes at the first step the event log does not show done
 *
 * The reverse pipeline is the one the cutover recorded (its slot name in the start-reverse-pipeline event). Prints
 * each step's seconds and the RTO (pause to resume on the source) against the runbook's Rollback time (RTO) SLO.
 * Exit 0 rolled back within the SLO; 1 a step failed or the RTO was over the SLO; 2 bad input.
 */
import { HarnessError } from '../../core/errors.js';
import { parseCommandArgs } from '../../cli/command.js';
import { sloTarget } from '../../runbook/slo.js';
import { describeVerdict, sloVerdict, type SloVerdict } from '../../verify/slo.js';
import { attemptEvents, bareTables, cutoverSession, progressSteps, recordedReverse } from '../cutover-session.js';
import { rollback, ROLLBACK_STEPS, type RollbackStep } from '../rollback.js';
import type { StepResult } from '../steps.js';
import type { MigrationState } from '../state-machine.js';
import type { MigrateVerb } from '../verb.js';

const USAGE = '[--reason TEXT]';

export const verb: MigrateVerb = {
  summary: 'pause the pooler, fence the target, drain the reverse pipeline, carry sequences back, switch back, resume (resumable)',
  exclusive: true,
  usage: USAGE,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate rollback', args, { reason: { type: 'string' } }, USAGE);
    if (!parsed) return 0;
    const migration = await ctx.migration();
    const session = await cutoverSession(ctx, 'rollback');
    const tables = bareTables(migration.tables);
    const events = await ctx.store.events(migration.id);
    const reverse = recordedReverse(events, session.endpoints, tables, migration.pipeline.fixes);
    if (!reverse) throw new HarnessError(`migrate rollback: migration ${migration.id} has no reverse pipeline in its event log (no cutover started one), so there is nothing to roll back from; see 'migrate status --migration-id ${migration.id}'`);
    const resuming = migration.state === 'rolling-back';
    const earlier = resuming ? attemptEvents(events, 'rollback', 'rolling-back', ROLLBACK_STEPS) : { completed: [] as string[] };
    const completed = earlier.completed as RollbackStep[];
    await ctx.store.setState(migration.id, 'rolling-back', 'rollback', { reason: parsed.values.reason ?? null, ...(resuming ? { resumed: true, completed } : {}) });
    if (completed.length) ctx.progress(`migrate rollback: resuming; done earlier: ${completed.join(', ')}`);

    const limits = ctx.timeoutGiven ? Object.fromEntries(ROLLBACK_STEPS.map((s) => [s, ctx.timeoutMs])) : undefined;
    const result = await rollback({ ...session, connect: ctx.connect, fixes: migration.pipeline.fixes, reverse, completed, limits, record: (e) => ctx.record(e), around: progressSteps(ctx, 'rollback', ROLLBACK_STEPS) });
    const rtoSeconds = result.ok ? (result.rtoSeconds ?? (earlier.pausedAt ? (Date.now() - earlier.pausedAt) / 1000 : undefined)) : undefined;
    const slo = sloTarget('database-migration', 'Rollback time (RTO)');
    const verdict: SloVerdict | undefined = rtoSeconds === undefined ? undefined : sloVerdict({ metric: slo.metric, comparator: slo.comparator, value: slo.value, unit: slo.unit }, rtoSeconds, 'pooler paused to resumed on the source');
    let state: MigrationState = migration.state;
    if (result.ok) state = (await ctx.store.setState(migration.id, 'rolled-back', 'rollback', { rtoSeconds, verdict })).state;
    else {
      state = 'rolling-back';
      await ctx.record({ step: 'resume-needed', outcome: 'info', detail: { failed: result.failed } });
    }

    const line = (s: StepResult) => `  ${s.name.padEnd(22)} ${s.skipped ? s.skipped : `${s.seconds.toFixed(2)} s`}`;
    ctx.print(
      { migrationId: migration.id, ok: result.ok, state, resumed: resuming, rtoSeconds: rtoSeconds ?? null, verdict: verdict ?? null, steps: result.steps, failed: result.failed ?? null, reverse: { source: reverse.sourceName, sink: reverse.sinkName, slot: reverse.names.slotName } },
      [
        result.ok
          ? `migrate rollback ${migration.id}: back on the source in ${rtoSeconds?.toFixed(1) ?? '?'} s; state ${state}`
          : `migrate rollback ${migration.id}: step ${result.failed?.name} failed: ${result.failed?.error}; state ${state}`,
        ...result.steps.map(line),
        ...(verdict ? [`  ${describeVerdict(verdict)}`] : []),
        result.ok
          ? `the reverse pipeline (${reverse.sourceName}, slot ${reverse.names.slotName} on the target) is paused, not removed: delete it once the target is retired`
          : `'runbook-harness migrate rollback --migration-id ${migration.id}' resumes at ${result.failed?.name}`,
      ].join('\n'),
    );
    return result.ok && verdict?.pass !== false ? 0 : 1;
  },
};

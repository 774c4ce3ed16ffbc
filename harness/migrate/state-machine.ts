/**
 * The lifecycle of one migration. Every state change goes through `transition`, which allows only the moves in
 * ALLOWED: a verb that would jump (say `cutover` on a migration that never finished its snapshot) is refused with
 * the states it could move to instead. Pure: the control store persists what this decides.
 */
export const MIGRATION_STATES = [
  'initialized',
  'snapshotting',
  'replicating',
  'cutting-over',
  'cut-over',
  'rolling-back',
  'rolled-back',
  'halted',
  'failed',
] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];

/** From each state, the states a verb may move the migration to. rolled-back is final. */
export const ALLOWED: Readonly<Record<MigrationState, readonly MigrationState[]>> = {
  initialized: ['snapshotting', 'halted', 'failed'],
  // A snapshot converges to replicating; it can be halted or fail on the way.
  snapshotting: ['replicating', 'halted', 'failed'],
  // A re-snapshot (snapshot again) is allowed while replicating, so is the start of a cutover.
  replicating: ['snapshotting', 'cutting-over', 'halted', 'failed'],
  'cutting-over': ['cut-over', 'rolling-back', 'halted', 'failed'],
  'cut-over': ['rolling-back'],
  'rolling-back': ['rolled-back', 'failed'],
  'rolled-back': [],
  // restart resumes a halted or failed migration; either may also be rolled back or snapshotted again.
  halted: ['replicating', 'snapshotting', 'rolling-back', 'failed'],
  failed: ['replicating', 'snapshotting', 'rolling-back', 'halted'],
};

export class TransitionError extends Error {
  constructor(
    readonly from: MigrationState,
    readonly to: MigrationState,
  ) {
    const next = ALLOWED[from];
    super(`a migration in state '${from}' cannot move to '${to}'; from '${from}' it can move to ${next.length ? next.map((s) => `'${s}'`).join(', ') : 'nothing (final state)'}`);
    this.name = 'TransitionError';
  }
}

export function isMigrationState(value: string): value is MigrationState {
  return (MIGRATION_STATES as readonly string[]).includes(value);
}

export function canTransition(from: MigrationState, to: MigrationState): boolean {
  return ALLOWED[from].includes(to);
}

/** Returns `to` when the move is allowed; throws TransitionError naming the allowed moves otherwise. */
export function transition(from: MigrationState, to: MigrationState): MigrationState {
  if (!canTransition(from, to)) throw new TransitionError(from, to);
  return to;
}

/** States in which the pipeline is expected to be running (connectors RUNNING). */
export const PIPELINE_RUNNING_STATES: readonly MigrationState[] = ['snapshotting', 'replicating', 'cutting-over'];

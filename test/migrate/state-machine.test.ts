import { describe, expect, it } from 'vitest';
import { ALLOWED, canTransition, MIGRATION_STATES, transition, TransitionError } from '../../harness/migrate/state-machine.js';

describe('migration state machine', () => {
  it('walks the runbook path initialized → snapshotting → replicating → cutting-over → cut-over → rolling-back → rolled-back', () => {
    const path = ['initialized', 'snapshotting', 'replicating', 'cutting-over', 'cut-over', 'rolling-back', 'rolled-back'] as const;
    for (let i = 1; i < path.length; i++) expect(transition(path[i - 1]!, path[i]!)).toBe(path[i]);
  });

  it('refuses jumps, naming where the migration can go instead', () => {
    expect(() => transition('initialized', 'cutting-over')).toThrow(TransitionError);
    expect(() => transition('initialized', 'cutting-over')).toThrow(/from 'initialized' it can move to 'snapshotting', 'halted', 'failed'/);
    expect(canTransition('snapshotting', 'cut-over')).toBe(false);
    expect(canTransition('cut-over', 'replicating')).toBe(false);
  });

  it('rolled-back is final; halted and failed can resume replicating', () => {
    for (const to of MIGRATION_STATES) expect(canTransition('rolled-back', to)).toBe(false);
    expect(() => transition('rolled-back', 'replicating')).toThrow(/nothing \(final state\)/);
    expect(canTransition('halted', 'replicating')).toBe(true);
    expect(canTransition('failed', 'replicating')).toBe(true);
  });

  it('every allowed move names a known state, and no state lists itself', () => {
    for (const [from, next] of Object.entries(ALLOWED)) {
      expect(MIGRATION_STATES).toContain(from);
      for (const to of next) expect(MIGRATION_STATES).toContain(to);
      expect(next).not.toContain(from);
    }
  });
});

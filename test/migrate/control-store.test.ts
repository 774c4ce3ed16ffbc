/**
 * The control store on a real PostgreSQL: the migration and its events persist across sessions, the state machine
 * guards every state change, and the advisory lock admits one exclusive session per migration, naming the holder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlStore, type Migration } from '../../harness/migrate/control-store.js';
import { defaultPipeline } from '../../harness/migrate/migration-connectors.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres-instance.js';

let pg: PostgresInstance;
const identity = { host: '127.0.0.1', port: 1, database: 'd', user: 'u', systemIdentifier: null };
const newMigration = (id: string): Omit<Migration, 'createdAt' | 'updatedAt' | 'state'> => ({ id, source: identity, target: identity, tables: ['public.t'], pipeline: defaultPipeline() });

beforeAll(async () => {
  pg = await startPostgresInstance();
});
afterAll(async () => {
  await pg?.stop();
});

describe('ControlStore', () => {
  it('records a migration once; a second init of the same id is refused with the remedy', async () => {
    const a = await ControlStore.open(pg.url, 'ctl', 'init', 'dba@a pid 1');
    try {
      const m = await a.create(newMigration('m1'), 'init');
      expect(m.state).toBe('initialized');
      await expect(a.create(newMigration('m1'), 'init')).rejects.toThrow(/already exists .* pick a new --migration-id \(e\.g\. m1-retry\)/);
    } finally {
      await a.close();
    }
    const b = await ControlStore.open(pg.url, 'ctl', 'status', 'dba@b pid 2');
    try {
      expect((await b.get('m1')).state).toBe('initialized');
      await expect(b.get('nope')).rejects.toThrow(/no migration 'nope' .* \(known: m1\)/);
    } finally {
      await b.close();
    }
  });

  it('state changes follow the state machine and each is an event; a refused one changes nothing', async () => {
    const s = await ControlStore.open(pg.url, 'ctl', 'snapshot', 'dba@a pid 3');
    try {
      await s.create(newMigration('m2'), 'init');
      await s.setState('m2', 'snapshotting', 'snapshot');
      await expect(s.setState('m2', 'cut-over', 'cutover')).rejects.toThrow(/cannot move to 'cut-over'; from 'snapshotting' it can move to 'replicating'/);
      expect((await s.get('m2')).state).toBe('snapshotting');
      const events = await s.events('m2');
      expect(events.map((e) => [e.verb, e.step, e.detail.from, e.detail.to, e.actor])).toEqual([
        ['init', 'state', null, 'initialized', 'dba@a pid 3'],
        ['snapshot', 'state', 'initialized', 'snapshotting', 'dba@a pid 3'],
      ]);
    } finally {
      await s.close();
    }
  });

  it('one exclusive session per migration: the second is refused naming the first, and gets it once released', async () => {
    const first = await ControlStore.open(pg.url, 'ctl', 'snapshot', 'dba@a pid 10');
    const second = await ControlStore.open(pg.url, 'ctl', 'halt', 'dba@b pid 20');
    try {
      await first.create(newMigration('m3'), 'init');
      await first.lockExclusive('m3', 'snapshot');
      await expect(second.lockExclusive('m3', 'halt')).rejects.toThrow(/migration m3 is busy: 'rh migrate snapshot dba@a pid 10' \(backend pid \d+/);
      // Another migration's lock is independent.
      await second.lockExclusive('other', 'halt');
      expect((await second.events('m3')).map((e) => `${e.verb}/${e.step}/${e.outcome}`)).toContain('halt/lock/refused');
      await first.unlockExclusive('m3');
      await second.lockExclusive('m3', 'halt');
      expect((await first.lockHolder('m3'))?.applicationName).toBe('rh migrate halt dba@b pid 20');
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

import { describe, expect, test } from 'vitest';
import { runSteps, type StepEvent } from '../../harness/migrate/steps.js';
import { databasesEntry } from '../../harness/env/pooler-databases.js';

const step = (name: string, run: () => Promise<Record<string, unknown> | void>, limitMs = 1000) => ({ name, limitMs, run });

describe('runSteps', () => {
  test('runs in order, records started and ok with the detail', async () => {
    const events: StepEvent[] = [];
    const ran: string[] = [];
    const out = await runSteps([step('a', async () => void ran.push('a')), step('b', async () => (ran.push('b'), { n: 1 }))], { record: (e) => void events.push(e) });
    expect(out.ok).toBe(true);
    expect(ran).toEqual(['a', 'b']);
    expect(events.map((e) => `${e.step}:${e.outcome}`)).toEqual(['a:started', 'a:ok', 'b:started', 'b:ok']);
    expect(events[3]!.detail).toMatchObject({ n: 1 });
  });
  test('stops at the first failure and says which step and why', async () => {
    const ran: string[] = [];
    const out = await runSteps([step('a', async () => { throw new Error('boom'); }), step('b', async () => void ran.push('b'))], { record: () => undefined });
    expect(out).toMatchObject({ ok: false, failed: { name: 'a', error: 'boom' } });
    expect(ran).toEqual([]);
  });
  test('a step past its limit fails with the limit named', async () => {
    const out = await runSteps([step('slow', () => new Promise(() => undefined), 50)], { record: () => undefined });
    expect(out.failed?.error).toMatch(/step slow did not finish within its limit/);
  });
  test('completed steps are not repeated (resume), skipped steps are recorded as left out', async () => {
    const ran: string[] = [];
    const events: StepEvent[] = [];
    const out = await runSteps(['a', 'b', 'c'].map((n) => step(n, async () => void ran.push(n))), { record: (e) => void events.push(e), completed: ['a'], skip: ['b'] });
    expect(ran).toEqual(['c']);
    expect(out.steps.map((s) => s.skipped ?? 'ran')).toEqual(['completed earlier', 'not in this procedure', 'ran']);
  });
  test('the wrapper runs each body', async () => {
    const wrapped: string[] = [];
    await runSteps([step('a', async () => ({ x: 1 }))], { record: () => undefined, around: async (name, body) => (wrapped.push(name), body()) });
    expect(wrapped).toEqual(['a']);
  });
});

test('the pooler [databases] entry names host, port and database', () => {
  expect(databasesEntry('app', { host: '127.0.0.1', port: 5433, database: 'warehouse_target' })).toBe('[databases]\napp = host=127.0.0.1 port=5433 dbname=warehouse_target\n');
});

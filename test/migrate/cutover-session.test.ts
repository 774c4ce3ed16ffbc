import { describe, expect, it } from 'vitest';
import type { MigrationEvent } from '../../harness/migrate/control-store.js';
import { CUTOVER_STEPS } from '../../harness/migrate/cutover.js';
import { attemptEvents, bareTables, recordedReverse } from '../../harness/migrate/cutover-session.js';
import { requirePoolerEndpoint, resolveEndpoints, resolvePooler } from '../../harness/migrate/endpoints.js';
import type { PoolerEndpoint, StackEndpoints } from '../../harness/env/stack.js';

const ev = (verb: string, step: string, outcome: MigrationEvent['outcome'], detail: Record<string, unknown> = {}, at = '2026-01-01T00:00:00.000Z'): MigrationEvent => ({ migrationId: 'm', actor: 'a@h pid 1', verb, step, outcome, detail, at });

const stackPooler: PoolerEndpoint = { url: 'postgres://rh_app:pw@127.0.0.1:7001/app', adminUrl: 'postgres://admin:pw@127.0.0.1:7001/pgbouncer', database: 'app', appRole: 'rh_app', appPassword: 'pw', databasesFile: '/stack/pooler/pgbouncer-databases.ini' };

describe('the pooler a cutover switches: flag > env > stack', () => {
  it('takes the stack pooler when nothing is given', () => {
    expect(resolvePooler({}, {}, stackPooler).pooler).toEqual({ url: stackPooler.url, adminUrl: stackPooler.adminUrl, database: 'app', appRole: 'rh_app', databasesFile: stackPooler.databasesFile });
  });

  it('flags win over env; database and application role come from the pooler URL', () => {
    const r = resolvePooler({ 'pooler-url': 'postgres://shop:x@pgb:6432/shopdb', 'pooler-admin-url': 'postgres://pgbouncer:y@pgb:6432/pgbouncer', 'pooler-databases-file': '/etc/pgbouncer/db.ini' }, { POOLER_URL: 'postgres://other:z@h:1/o', POOLER_ADMIN_URL: 'postgres://a:b@h:1/pgbouncer' }, stackPooler);
    expect(r.pooler).toEqual({ url: 'postgres://shop:x@pgb:6432/shopdb', adminUrl: 'postgres://pgbouncer:y@pgb:6432/pgbouncer', database: 'shopdb', appRole: 'shop', databasesFile: '/etc/pgbouncer/db.ini' });
    expect(resolvePooler({}, { POOLER_URL: 'postgres://e:x@h:2/edb', POOLER_ADMIN_URL: 'postgres://a:b@h:2/pgbouncer', POOLER_DATABASES_FILE: '/f' }, undefined).pooler?.database).toBe('edb');
  });

  it('a missing pooler is one line naming the flags; so is half of one, or one without its databases file', () => {
    const none = resolveEndpoints({ 'source-url': 'postgres://u:p@h:1/s', 'target-url': 'postgres://u:p@h:2/t', 'connect-url': 'http://h:3' }, {}, undefined);
    expect(() => requirePoolerEndpoint(none)).toThrow(/^no pooler .*--pooler-url and --pooler-admin-url/);
    expect(resolvePooler({ 'pooler-url': 'postgres://u:p@h:1/d' }, {}, undefined).missing).toMatch(/without its admin URL \(--pooler-admin-url or POOLER_ADMIN_URL\)/);
    expect(resolvePooler({}, { POOLER_URL: 'postgres://u:p@h:1/d' }, stackPooler).missing).toMatch(/give both/);
    expect(resolvePooler({ 'pooler-admin-url': 'postgres://u:p@h:1/pgbouncer' }, {}, undefined).missing).toMatch(/without the pooler URL \(--pooler-url or POOLER_URL\)/);
    expect(resolvePooler({ 'pooler-url': 'postgres://u:p@h:1/d', 'pooler-admin-url': 'postgres://u:p@h:1/pgbouncer' }, {}, undefined).missing).toMatch(/--pooler-databases-file FILE/);
    expect(() => resolvePooler({ 'pooler-url': 'nonsense', 'pooler-admin-url': 'postgres://u:p@h:1/pgbouncer' }, {}, undefined)).toThrow(/pooler URL \(--pooler-url\) 'nonsense' is not a URL/);
  });

  it("the application's POOLER_URL of the stack's own pooler needs no admin URL", () => {
    expect(resolvePooler({}, { POOLER_URL: stackPooler.url }, stackPooler).pooler?.adminUrl).toBe(stackPooler.adminUrl);
  });

  it('the stack databases file goes with the stack pooler admin URL given by flag', () => {
    expect(resolvePooler({ 'pooler-url': stackPooler.url, 'pooler-admin-url': stackPooler.adminUrl }, {}, stackPooler).pooler?.databasesFile).toBe(stackPooler.databasesFile);
  });
});

describe('resuming from the event log', () => {
  const steps = CUTOVER_STEPS;
  it('counts the steps done since the attempt began, not those of an earlier, undone attempt', () => {
    const events = [
      ev('cutover', 'state', 'ok', { from: 'replicating', to: 'cutting-over' }),
      ev('cutover', 'pause-pooler', 'ok', { seconds: 1 }),
      ev('cutover', 'state', 'ok', { from: 'cutting-over', to: 'failed' }),
      ev('restart', 'state', 'ok', { from: 'failed', to: 'replicating' }),
      ev('cutover', 'state', 'ok', { from: 'replicating', to: 'cutting-over' }),
      ev('cutover', 'pause-pooler', 'started', {}, '2026-01-01T00:01:00.000Z'),
      ev('cutover', 'pause-pooler', 'ok', { seconds: 0.1 }),
      ev('cutover', 'fence-source', 'ok', {}),
      ev('cutover', 'drain', 'started', {}),
      ev('cutover', 'state', 'ok', { from: 'cutting-over', to: 'cutting-over', resumed: true }),
      ev('cutover', 'pause-pooler', 'ok', { skipped: 'completed earlier' }),
      ev('cutover', 'drain', 'ok', {}),
      ev('cutover', 'validate', 'failed', {}),
    ];
    const a = attemptEvents(events, 'cutover', 'cutting-over', steps);
    expect(a.completed).toEqual(['pause-pooler', 'fence-source', 'drain']);
    expect(a.pausedAt).toBe(Date.parse('2026-01-01T00:01:00.000Z'));
  });

  it('a step left out of the procedure is not a step done; no attempt, nothing done', () => {
    const events = [ev('cutover', 'state', 'ok', { from: 'replicating', to: 'cutting-over' }), ev('cutover', 'carry-sequences', 'ok', { skipped: 'not in this procedure' })];
    expect(attemptEvents(events, 'cutover', 'cutting-over', steps).completed).toEqual([]);
    expect(attemptEvents([], 'cutover', 'cutting-over', steps)).toEqual({ completed: [] });
  });

  it('rebuilds the reverse pipeline under the names the cutover recorded', () => {
    const endpoints = { source: { dialect: 'postgres', host: '127.0.0.1', port: 1, database: 's', user: 'u', password: 'p', url: '' }, target: { dialect: 'postgres', host: '127.0.0.1', port: 2, database: 't', user: 'u', password: 'p', url: '' }, connectView: { source: { host: '127.0.0.1', port: 11 }, target: { host: '127.0.0.1', port: 12 }, kafkaBootstrap: '127.0.0.1:13' } } as unknown as StackEndpoints;
    const reverse = recordedReverse([ev('cutover', 'start-reverse-pipeline', 'ok', { slot: 'rh_rev_slot_0a1b2c3d', source: 'reverse-postgres-source' })], endpoints, bareTables(['public.app_orders']));
    expect(reverse?.names).toMatchObject({ slotName: 'rh_rev_slot_0a1b2c3d', topicPrefix: 'rh_rev_0a1b2c3d', publicationName: 'rh_rev_pub_0a1b2c3d', tables: ['app_orders', 'rh_drain_marker'] });
    expect(recordedReverse([ev('cutover', 'start-reverse-pipeline', 'failed', { slot: 'rh_rev_slot_ff' })], endpoints, ['app_orders'])).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { HarnessError } from '../../harness/core/errors.js';
import { resolveEndpoints } from '../../harness/migrate/endpoints.js';
import { splitCommonArgs } from '../../harness/migrate/migrate-args.js';
import type { StackEndpoints } from '../../harness/env/stack.js';

describe('splitCommonArgs', () => {
  it('takes the shared flags out and leaves the verb its own, in order', () => {
    const r = splitCommonArgs('validate', ['--table', 'customers', '--migration-id', 'm-1', '--json', '--sample-size=10', '--timeout', '30', '--source-url=postgres://u:p@h:1/d']);
    expect(r.migrationId).toBe('m-1');
    expect(r.json).toBe(true);
    expect(r.timeoutSeconds).toBe(30);
    expect(r.endpoints).toEqual({ 'source-url': 'postgres://u:p@h:1/d' });
    expect(r.rest).toEqual(['--table', 'customers', '--sample-size=10']);
  });

  it('requires a well-formed --migration-id', () => {
    expect(() => splitCommonArgs('status', [])).toThrow(/--migration-id ID is required/);
    expect(() => splitCommonArgs('status', ['--migration-id', 'bad id'])).toThrow(/must be letters, digits/);
    expect(() => splitCommonArgs('status', ['--migration-id'])).toThrow(/--migration-id needs a value/);
    expect(() => splitCommonArgs('status', ['--migration-id', '--json'])).toThrow(/needs a value/);
  });

  it('rejects a bad --timeout and a repeated flag, as usage errors (exit 2)', () => {
    const bad = () => splitCommonArgs('lag', ['--migration-id', 'm', '--timeout', '-3']);
    expect(bad).toThrow(/--timeout must be a positive number/);
    expect(bad).toThrow(HarnessError);
    expect(() => splitCommonArgs('lag', ['--migration-id', 'm', '--migration-id', 'n'])).toThrow(/given twice/);
  });
});

const stack = {
  env: 'local',
  source: { dialect: 'postgres', host: '127.0.0.1', port: 5001, database: 'src', user: 'postgres', password: 's3cret', url: 'postgres://postgres:s3cret@127.0.0.1:5001/src' },
  target: { dialect: 'postgres', host: '127.0.0.1', port: 5002, database: 'tgt', user: 'postgres', password: 't3cret', url: 'postgres://postgres:t3cret@127.0.0.1:5002/tgt' },
  kafka: { bootstrap: '127.0.0.1:9092' },
  connect: { url: 'http://127.0.0.1:8083' },
  toxiproxy: { url: 'http://127.0.0.1:8474', proxies: {} },
  connectView: { source: { host: '127.0.0.1', port: 6001 }, target: { host: '127.0.0.1', port: 6002 }, kafkaBootstrap: '127.0.0.1:6003' },
} as unknown as StackEndpoints;

describe('resolveEndpoints: flag > env > stack', () => {
  it('uses the stack, with its Connect view (the Toxiproxy hops), when nothing else is given', () => {
    const r = resolveEndpoints({}, {}, { endpoints: stack });
    expect(r.source.url).toBe(stack.source.url);
    expect(r.controlUrl).toBe(stack.target.url);
    expect(r.connectView.source).toEqual({ host: '127.0.0.1', port: 6001 });
    expect(r.connectView.kafkaBootstrap).toBe('127.0.0.1:6003');
    expect(r.origin).toMatchObject({ source: 'stack', target: 'stack', connect: 'stack', control: 'target' });
  });

  it('an env var beats the stack, a flag beats both; given URLs are dialled by Connect as they are', () => {
    const r = resolveEndpoints({ 'source-url': 'postgres://a:b@db1:5432/prod' }, { SOURCE_URL: 'postgres://x:y@ignored:1/x', TARGET_URL: 'postgres://c:d@db2:5433/prod_new', MIGRATE_CONTROL_URL: 'postgres://e:f@ctl:5432/ops' }, { endpoints: stack });
    expect(r.source).toMatchObject({ host: 'db1', port: 5432, database: 'prod', user: 'a', password: 'b' });
    expect(r.target).toMatchObject({ host: 'db2', port: 5433, database: 'prod_new' });
    expect(r.controlUrl).toBe('postgres://e:f@ctl:5432/ops');
    expect(r.connectView.source).toEqual({ host: 'db1', port: 5432 });
    expect(r.connectView.target).toEqual({ host: 'db2', port: 5433 });
    expect(r.origin).toMatchObject({ source: 'flag', target: 'env', connect: 'stack', control: 'env' });
  });

  it('--connect-source overrides the address Connect dials', () => {
    const r = resolveEndpoints({ 'source-url': 'postgres://a:b@db1/prod', 'target-url': 'postgres://a:b@db2/t', 'connect-url': 'http://c:8083', 'connect-source': 'db1.internal:6432' }, {}, undefined);
    expect(r.connectView.source).toEqual({ host: 'db1.internal', port: 6432 });
    expect(r.kafkaBootstrap).toBeUndefined();
  });

  it('names the three ways to give a missing URL, and rejects a non-PostgreSQL one', () => {
    expect(() => resolveEndpoints({}, {}, undefined)).toThrow(/no source URL: pass --source-url, set SOURCE_URL, or start a stack/);
    expect(() => resolveEndpoints({ 'source-url': 'mssql://a:b@h/db' }, {}, { endpoints: stack })).toThrow(/must be a postgres:\/\/ URL/);
    expect(() => resolveEndpoints({ 'connect-url': 'localhost:8083' }, {}, { endpoints: stack })).toThrow(/must be http\(s\):\/\/host:port/);
  });
});

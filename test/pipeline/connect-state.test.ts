import { describe, expect, test } from 'vitest';
import { summariseState, unappliedProperties, type ConnectorStatus } from '../../harness/pipeline/connect-client.js';

const status = (connector: ConnectorStatus['connector']['state'], ...tasks: ConnectorStatus['connector']['state'][]): ConnectorStatus => ({
  name: 'c',
  type: 'sink',
  connector: { state: connector, worker_id: 'w' },
  tasks: tasks.map((state, id) => ({ id, state, worker_id: 'w' })),
});

describe('summariseState', () => {
  test('RUNNING only when the connector and every task run', () => {
    expect(summariseState(status('RUNNING', 'RUNNING', 'RUNNING'))).toBe('RUNNING');
    expect(summariseState(status('RUNNING', 'RUNNING', 'PAUSED'))).toBe('PAUSED');
  });
  test('a failed task makes the connector FAILED although the connector itself runs', () => {
    expect(summariseState(status('RUNNING', 'FAILED'))).toBe('FAILED');
  });
  test('a running connector without tasks is not yet RUNNING', () => {
    expect(summariseState(status('RUNNING'))).toBe('UNASSIGNED');
  });
  test('STOPPED has no tasks and is STOPPED', () => {
    expect(summariseState(status('STOPPED'))).toBe('STOPPED');
  });
});

describe('unappliedProperties', () => {
  test('empty once the worker shows every patched property', () => {
    expect(unappliedProperties({ 'batch.size': '5000', 'connection.password': '***' }, { 'batch.size': '5000' })).toEqual([]);
  });
  test('names a property still at its old value or unset', () => {
    expect(unappliedProperties({ 'batch.size': '500' }, { 'batch.size': '5000', 'max.retries': '3' })).toEqual(['batch.size=500', 'max.retries=(unset)']);
  });
});

import { describe, expect, test } from 'vitest';
import { summariseState, type ConnectorStatus } from '../../harness/pipeline/connect-client.js';

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

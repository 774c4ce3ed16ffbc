import { describe, expect, it } from 'vitest';
import { consistencyPercent, describeVerdict, NAMED_SLOS, sloVerdict } from '../../harness/verify/slo.js';

describe('SLO verdicts', () => {
  it('compares with the stated comparator and keeps the contract shape', () => {
    expect(sloVerdict(NAMED_SLOS.replicationLag, 4.99)).toEqual({ slo: 'Data replication lag', threshold: '< 5', thresholdValue: 5, comparator: '<', measured: 4.99, unit: 'seconds', pass: true });
    expect(sloVerdict(NAMED_SLOS.replicationLag, 5).pass).toBe(false);
    expect(sloVerdict({ metric: 'Cutover time', comparator: '<=', value: 300, unit: 'seconds' }, 300).pass).toBe(true);
    expect(sloVerdict(NAMED_SLOS.dataConsistency, 99.9).pass).toBe(false);
  });

  it('never passes a measurement that did not happen', () => {
    expect(sloVerdict(NAMED_SLOS.replicationLag, Number.NaN).pass).toBe(false);
    expect(sloVerdict({ metric: 'x', comparator: '>=', value: 0, unit: 'rows' }, Number.POSITIVE_INFINITY).pass).toBe(false);
  });

  it('derives the consistency percentage from a reconcile report', () => {
    expect(consistencyPercent({ tables: [{ match: true }, { match: false }] })).toBe(50);
    expect(sloVerdict(NAMED_SLOS.dataConsistency, consistencyPercent({ tables: [{ match: true }] })).pass).toBe(true);
    expect(describeVerdict(sloVerdict(NAMED_SLOS.replicationLag, 7.5, 'p95'))).toBe('FAIL Data replication lag: measured 7.5 seconds, threshold < 5 seconds (p95)');
  });
});

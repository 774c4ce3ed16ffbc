/**
 * pipeline-observers.ts: the text that `runbook-harness lag [--watch]` and `kafka groups` print, read back as an
 * operator reads it (the Connector Throughput appendix watches both).
 */
import { describe, expect, it } from 'vitest';
import { parseGroupReadout, parseLagText } from '../../harness/scenario/pipeline-observers.js';

describe('parseLagText', () => {
  it('reads each snapshot: heartbeat seconds (timed out or not) and records behind', () => {
    const stdout = [
      '2026-12-02T00:40:19.149Z',
      '  heartbeat: 0.062 s',
      '  consumer connect-postgresql-sink: 8 records behind (t.public.customers[0]=8)',
      '  slots: rh_slot: 0 B unconfirmed, 0 B retained',
      '2026-12-02T00:40:26.200Z',
      '  heartbeat: 6.000 s (TIMED OUT, lower bound)',
      '  consumer connect-postgresql-sink: 240 records behind (t.public.customers[0]=240)',
      '  replication lag p95 6.0 s vs < 5 s: FAIL',
    ].join('\n');
    expect(parseLagText(stdout)).toEqual([
      { at: '2026-12-02T00:40:19.149Z', heartbeatSeconds: 0.062, heartbeatTimedOut: false, group: 'connect-postgresql-sink', recordsBehind: 8 },
      { at: '2026-12-02T00:40:26.200Z', heartbeatSeconds: 6, heartbeatTimedOut: true, group: 'connect-postgresql-sink', recordsBehind: 240 },
    ]);
  });

  it('leaves out what it could not read: a skipped heartbeat, an unreadable group', () => {
    const stdout = '2026-12-02T00:40:19.149Z\n  heartbeat: skipped (--no-heartbeat)\n  consumer connect-x: group connect-x not found\n';
    expect(parseLagText(stdout)).toEqual([{ at: '2026-12-02T00:40:19.149Z', heartbeatTimedOut: false, group: 'connect-x', recordsBehind: undefined }]);
  });
});

describe('parseGroupReadout', () => {
  it('reads the total and one row per partition', () => {
    const stdout = 'GROUP connect-postgresql-sink  TOTAL LAG 12\nTOPIC                                            PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG\nrh_1.public.customers                            0          153             165             12\n';
    expect(parseGroupReadout(stdout)).toEqual({ group: 'connect-postgresql-sink', totalLag: 12, partitions: [{ topic: 'rh_1.public.customers', partition: 0, committed: 153, end: 165, lag: 12 }] });
  });

  it('an empty group has a total and no rows; other text is no group', () => {
    expect(parseGroupReadout('GROUP g  TOTAL LAG 0\nTOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG\n')).toEqual({ group: 'g', totalLag: 0, partitions: [] });
    expect(parseGroupReadout('error: no such group')).toEqual({ group: undefined, totalLag: undefined, partitions: [] });
  });
});

/** The fixes init records from the assessment's findings, and the connectors built with them (plain data). */
import { describe, expect, test } from 'vitest';
import { applyConnectorFixes, planFixes, withUrlParameters } from '../../harness/migrate/fixes.js';
import type { SchemaFinding } from '../../harness/migrate/schema-compat.js';

const finding = (over: Partial<SchemaFinding>): SchemaFinding => ({ object: 'public.t', kind: 'table', severity: 'error', rule: 'r', problem: 'p', fix: 'f', ...over }) as SchemaFinding;

describe('planFixes', () => {
  test('remedies merge into the recorded fixes; list settings are comma-joined', () => {
    const { fixes, unfixable } = planFixes([
      finding({ rule: 'enum-column', remedy: { sinkUrlParameters: { stringtype: 'unspecified' } } }),
      finding({ rule: 'generated-column', remedy: { sourceConnectorLists: { 'column.exclude.list': ['public.a.x'] } } }),
      finding({ rule: 'generated-column', remedy: { sourceConnectorLists: { 'column.exclude.list': ['public.b.y'] } } }),
      finding({ rule: 'identity-always', remedy: { targetSql: ['T1'], cutoverTargetSql: ['C1'], reverseSourceSql: ['R1'], rollbackSourceSql: ['B1'] } }),
    ]);
    expect(unfixable).toEqual([]);
    expect(fixes).toMatchObject({
      sourceConnector: { 'column.exclude.list': 'public.a.x,public.b.y' },
      sinkUrlParameters: { stringtype: 'unspecified' },
      targetSql: ['T1'],
      cutoverTargetSql: ['C1'],
      reverseSourceSql: ['R1'],
      rollbackSourceSql: ['B1'],
    });
  });

  test('an error without a remedy, or whose remedy is to move the table by hand, is unfixable; a warning without one is not', () => {
    const manual = finding({ rule: 'no-primary-key', object: 'public.log', remedy: { moveByHand: ['public.log'] } });
    const none = finding({ rule: 'x', object: 'public.y' });
    const warning = finding({ rule: 'date-infinity', severity: 'warning' });
    expect(planFixes([manual, none, warning]).unfixable.map((f) => f.object)).toEqual(['public.log', 'public.y']);
  });
});

describe('the connectors with the fixes', () => {
  test('URL parameters are appended, encoded with %20 for spaces', () => {
    expect(withUrlParameters('jdbc:postgresql://h:1/db', { options: '-c session_replication_role=replica' })).toBe('jdbc:postgresql://h:1/db?options=-c%20session_replication_role%3Dreplica');
    expect(withUrlParameters('jdbc:postgresql://h:1/db?a=1', { b: '2' })).toBe('jdbc:postgresql://h:1/db?a=1&b=2');
    expect(withUrlParameters('jdbc:postgresql://h:1/db', {})).toBe('jdbc:postgresql://h:1/db');
  });

  test('source settings and sink URL parameters land on new definitions; no fixes leaves them as they are', () => {
    const connectors = { source: { name: 's', config: { 'snapshot.mode': 'initial' } }, sink: { name: 'k', config: { 'connection.url': 'jdbc:postgresql://h:1/db' } } };
    const { fixes } = planFixes([finding({ remedy: { sourceConnector: { 'interval.handling.mode': 'string' }, sinkUrlParameters: { stringtype: 'unspecified' } } })]);
    const fixed = applyConnectorFixes(connectors, fixes);
    expect(fixed.source.config).toEqual({ 'snapshot.mode': 'initial', 'interval.handling.mode': 'string' });
    expect(fixed.sink.config['connection.url']).toBe('jdbc:postgresql://h:1/db?stringtype=unspecified');
    expect(connectors.sink.config['connection.url']).toBe('jdbc:postgresql://h:1/db');
    expect(applyConnectorFixes(connectors, undefined)).toBe(connectors);
  });
});

/** The schema assessment's rules on plain catalog data (no database): each rule fires on its case and only there. */
import { describe, expect, test } from 'vitest';
import { type CatalogColumn, type CatalogTable, type SchemaCatalog, classifySchema, mergeRemedies, summarize } from '../../harness/migrate/schema-compat.js';

const column = (name: string, over: Partial<CatalogColumn> = {}): CatalogColumn => ({
  name, type: 'integer', typtype: 'b', typcategory: 'N', baseType: 'int4', baseTypeKind: 'b', typmod: -1, generated: '', identity: '', storage: 'p', ...over,
});
const table = (name: string, over: Partial<CatalogTable> = {}): CatalogTable => ({
  schema: 'public', name, relkind: 'r', replicaIdentity: 'd', primaryKey: ['id'], partitions: [], columns: [column('id')], triggers: [], foreignKeys: [], toastBytes: 0, ...over,
});
const catalog = (tables: CatalogTable[], over: Partial<SchemaCatalog> = {}): SchemaCatalog => ({ walLevel: 'logical', tables, sequences: [], ...over });
const problems = (c: SchemaCatalog) => classifySchema(c).filter((f) => f.severity !== 'info').map((f) => `${f.severity} ${f.rule} ${f.object}`);

describe('classifySchema', () => {
  test('a plain table with a key and integer columns has no problem, and its columns are named as carried', () => {
    const findings = classifySchema(catalog([table('plain')]));
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(findings.map((f) => f.rule)).toEqual(['wal-level', 'carried-type']);
  });

  test('wal_level other than logical is an error with the ALTER SYSTEM fix', () => {
    const [wal] = classifySchema(catalog([], { walLevel: 'replica' }));
    expect(wal).toMatchObject({ severity: 'error', object: 'wal_level' });
    expect(wal!.fix).toContain("ALTER SYSTEM SET wal_level = 'logical'");
  });

  test('no primary key: an error, moved by hand (and no TOAST warning on top)', () => {
    const t = table('log', { primaryKey: [], columns: [column('msg', { type: 'text', baseType: 'text', storage: 'x' })], toastBytes: 100 });
    expect(problems(catalog([t]))).toEqual(['error no-primary-key public.log']);
    expect(classifySchema(catalog([t]))[1]!.remedy).toEqual({ moveByHand: ['public.log'] });
  });

  test('partitioned table: an error with publish_via_partition_root; the TOAST fix names every partition', () => {
    const t = table('m', { relkind: 'p', partitions: ['m_1', 'm_2'], columns: [column('id'), column('s', { type: 'text', baseType: 'text', storage: 'x' })], toastBytes: 8192 });
    const findings = classifySchema(catalog([t]));
    expect(problems(catalog([t]))).toEqual(['error partitioned-table public.m', 'warning toast-unchanged public.m']);
    expect(findings.find((f) => f.rule === 'partitioned-table')!.remedy).toEqual({ publishViaPartitionRoot: true });
    expect(findings.find((f) => f.rule === 'toast-unchanged')!.remedy!.sourceSql).toEqual(['ALTER TABLE public.m REPLICA IDENTITY FULL', 'ALTER TABLE public.m_1 REPLICA IDENTITY FULL', 'ALTER TABLE public.m_2 REPLICA IDENTITY FULL']);
  });

  test('TOAST: a warning only when values are stored out of line, info otherwise, nothing with REPLICA IDENTITY FULL', () => {
    const cols = [column('id'), column('body', { type: 'text', baseType: 'text', storage: 'x' })];
    expect(classifySchema(catalog([table('d', { columns: cols, toastBytes: 1 })])).find((f) => f.rule === 'toast-unchanged')!.severity).toBe('warning');
    expect(classifySchema(catalog([table('d', { columns: cols, toastBytes: 0 })])).find((f) => f.rule === 'toast-unchanged')!.severity).toBe('info');
    expect(classifySchema(catalog([table('d', { columns: cols, toastBytes: 1, replicaIdentity: 'f' })])).find((f) => f.rule === 'toast-unchanged')).toBeUndefined();
  });

  test('column rules: enum (also an array of enums), interval (also a domain over interval), generated, identity ALWAYS', () => {
    const t = table('o', {
      columns: [
        column('id', { identity: 'a' }),
        column('status', { type: 'mood', typtype: 'e', typcategory: 'E', baseType: 'mood', baseTypeKind: 'e' }),
        column('moods', { type: 'mood[]', typtype: 'b', typcategory: 'A', baseType: 'mood', baseTypeKind: 'e' }),
        column('ttl', { type: 'interval', baseType: 'interval', typcategory: 'T' }),
        column('ttl_d', { type: 'retention', typtype: 'd', baseType: 'interval' }),
        column('total', { type: 'numeric(10,2)', baseType: 'numeric', generated: 's' }),
      ],
    });
    expect(problems(catalog([t]))).toEqual([
      'error identity-always public.o.id',
      'error enum-column public.o.status',
      'error enum-column public.o.moods',
      'error interval-column public.o.ttl',
      'error interval-column public.o.ttl_d',
      'error generated-column public.o.total',
    ]);
  });

  test("date columns: a warning about 'infinity', with no automatic remedy (the rows must be found)", () => {
    const t = table('d', { columns: [column('id'), column('on', { type: 'date', baseType: 'date', typcategory: 'D' })] });
    const [finding] = classifySchema(catalog([t])).filter((f) => f.rule === 'date-infinity');
    expect(finding).toMatchObject({ severity: 'warning', object: 'public.d.on' });
    expect(finding!.remedy).toBeUndefined();
  });

  test('a type the rehearsal did not measure is a warning, never "carried"', () => {
    const t = table('g', { columns: [column('id'), column('where', { type: 'point', baseType: 'point', typcategory: 'G' })] });
    expect(problems(catalog([t]))).toEqual(['warning unverified-type public.g.where']);
  });

  test('domains, arrays and unconstrained numeric are named as carried, with how', () => {
    const t = table('c', {
      columns: [
        column('id'),
        column('amount', { type: 'positive_amount', typtype: 'd', baseType: 'numeric' }),
        column('tags', { type: 'text[]', typcategory: 'A', baseType: 'text', storage: 'x' }),
        column('weight', { type: 'numeric', baseType: 'numeric', typmod: -1, storage: 'm' }),
      ],
    });
    const carried = classifySchema(catalog([t])).filter((f) => f.rule === 'carried-type').map((f) => f.problem);
    expect(carried[1]).toMatch(/^domain positive_amount over numeric/);
    expect(carried[2]).toMatch(/^array text\[\]/);
    expect(carried[3]).toMatch(/decimal\.handling\.mode=precise/);
  });

  test('foreign keys and enabled triggers are errors fixed by session_replication_role; disabled triggers are not', () => {
    const t = table('o', { foreignKeys: [{ name: 'o_fk', references: 'c' }], triggers: [{ name: 'on', enabled: 'O' }, { name: 'off', enabled: 'D' }] });
    expect(problems(catalog([t]))).toEqual(['error foreign-key public.o.o_fk', 'error trigger public.o.on']);
  });

  test('sequences are warnings carried at cutover; non-ASCII names are info', () => {
    const c = catalog([table('café', { columns: [column('größe')] })], { sequences: [{ schema: 'public', name: 's', ownedBy: 'public.café.größe' }] });
    const findings = classifySchema(c);
    expect(problems(c)).toEqual(['warning sequence public.s']);
    expect(findings.find((f) => f.rule === 'sequence')!.remedy).toEqual({ carrySequences: ['public.s'] });
    expect(findings.find((f) => f.rule === 'non-ascii-identifier')!.severity).toBe('info');
    expect(findings.find((f) => f.rule === 'sequence')!.fix).toContain("setval('public.s'");
  });
});

describe('mergeRemedies and summarize', () => {
  test('settings merge, lists join without duplicates, a contradiction is refused', () => {
    const plan = mergeRemedies([
      { remedy: { sourceConnector: { 'interval.handling.mode': 'string' }, sourceConnectorLists: { 'column.exclude.list': ['public.a.x'] } } },
      { remedy: { sourceConnectorLists: { 'column.exclude.list': ['public.a.x', 'public.b.y'] }, sinkUrlParameters: { stringtype: 'unspecified' } } },
      { remedy: { sinkUrlParameters: { stringtype: 'unspecified' }, publishViaPartitionRoot: true } },
      {},
    ]);
    expect(plan.sourceConnector).toEqual({ 'interval.handling.mode': 'string' });
    expect(plan.sourceConnectorLists).toEqual({ 'column.exclude.list': ['public.a.x', 'public.b.y'] });
    expect(plan.sinkUrlParameters).toEqual({ stringtype: 'unspecified' });
    expect(plan.publishViaPartitionRoot).toBe(true);
    expect(() => mergeRemedies([{ remedy: { sinkUrlParameters: { a: '1' } } }, { remedy: { sinkUrlParameters: { a: '2' } } }])).toThrow(/sink URL parameter a/);
  });

  test('ready only without errors', () => {
    expect(summarize(classifySchema(catalog([table('t')]))).ready).toBe(true);
    expect(summarize(classifySchema(catalog([], { walLevel: 'minimal' })))).toMatchObject({ ready: false, counts: { error: 1 } });
  });
});

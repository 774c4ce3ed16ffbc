import { describe, expect, it } from 'vitest';
import { loadRunbook, parseRunbook } from '../../harness/runbook/parse.js';
import { RunbookError } from '../../harness/runbook/errors.js';

const doc = `# Title

## Quick Reference
<!-- kind: reference -->

\`\`\`bash
runbook-harness status
\`\`\`

## Common Scenarios

### Scenario 1: Add Column

**Auto-Handled**: Yes
**Downtime**: None

#### Procedure

1. **Run the DDL**

   \`\`\`sql source=sqlserver
   ALTER TABLE dbo.t ADD c INT NULL;
   \`\`\`

   \`\`\`sql source=postgres
   ALTER TABLE public.t ADD COLUMN c INT NULL;
   \`\`\`

2. **Check**

   \`\`\`sql target
   SELECT c FROM t;
   -- Expected: one row
   \`\`\`

#### Rollback

\`\`\`sql target
ALTER TABLE t DROP COLUMN c;
\`\`\`

### Scenario 2: Drop Column

#### Rollback

Nothing.

## Troubleshooting

### Issue: Stuck

| Metric | Target |
|--------|--------|
| lag | < 5 seconds |

## Monitoring

\`\`\`bash
runbook-harness lag
\`\`\`
`;

describe('parseRunbook', () => {
  const rb = parseRunbook(doc, 'x.md');
  const byId = (id: string) => rb.sections.find((s) => s.id === id)!;

  it('gives each heading a stable id, qualifying a slug used twice by its parent', () => {
    expect(rb.title).toBe('Title');
    expect(rb.sections.map((s) => s.id)).toContain('scenario-1-add-column/rollback');
    expect(rb.sections.map((s) => s.id)).toContain('scenario-2-drop-column/rollback');
    expect(rb.sections.map((s) => s.id)).toContain('procedure'); // a slug used once stays bare
    expect(byId('procedure').parentId).toBe('scenario-1-add-column');
  });

  it('derives kinds from headings and markers, and counts sub-sections under their kinded ancestor', () => {
    expect(byId('scenario-1-add-column').kind).toBe('scenario');
    expect(byId('procedure')).toMatchObject({ kind: 'scenario', unitId: 'scenario-1-add-column' });
    expect(byId('issue-stuck')).toMatchObject({ kind: 'troubleshooting', unitId: 'issue-stuck' });
    expect(byId('quick-reference').kind).toBe('reference');
    expect(byId('monitoring')).toMatchObject({ kind: 'procedure', unitId: 'monitoring' });
    expect(byId('common-scenarios').kind).toBeUndefined();
  });

  it('reads numbered steps with their code blocks, dialect tags, fence lines and Expected lines', () => {
    const steps = byId('procedure').steps;
    expect(steps.map((s) => [s.number, s.title])).toEqual([[1, 'Run the DDL'], [2, 'Check']]);
    const [sqlserver, postgres] = steps[0].codeBlocks;
    expect(sqlserver).toMatchObject({ lang: 'sql', side: 'source', dialect: 'sqlserver', stepNumber: 1 });
    expect(postgres).toMatchObject({ side: 'source', dialect: 'postgres' });
    expect(doc.split('\n')[sqlserver.line - 1].trim()).toBe('```sql source=sqlserver');
    expect(steps[1].codeBlocks[0]).toMatchObject({ side: 'target', dialect: 'postgres' });
    expect(steps[1].expected).toEqual(['one row']);
  });

  it('reads bold fields and tables', () => {
    expect(byId('scenario-1-add-column').fields['auto-handled'].value).toBe('Yes');
    expect(byId('issue-stuck').tables[0]).toMatchObject({ header: ['Metric', 'Target'], rows: [['lag', '< 5 seconds']] });
  });

  it('rejects a heading id used twice, with file and line', () => {
    const bad = '# T\n\n## A\n\n### B\n\n## A\n\n### B\n\n### B\n';
    expect(() => parseRunbook(bad, 'bad.md')).toThrow(RunbookError);
    expect(() => parseRunbook(bad, 'bad.md')).toThrow(/^bad\.md:7: section id 't\/a' is used twice \(first at line 3\)/);
  });

  it('rejects an unknown source dialect and a missing title', () => {
    expect(() => parseRunbook('# T\n\n## S\n\n```sql source=oracle\nSELECT 1;\n```\n', 'd.md')).toThrow(/^d\.md:5: unknown source dialect 'oracle'/);
    expect(() => parseRunbook('## S\n', 'n.md')).toThrow(/^n\.md:1: a runbook starts with a level-1 heading/);
  });

  it('reports a missing runbook in one line', () => {
    expect(() => loadRunbook('no-such-runbook')).toThrow(/^runbooks\/no-such-runbook\.md: no such runbook$/);
  });
});

describe('the project runbooks', () => {
  it('keep the original section structure: a reader of the original finds every section under its id', () => {
    const missing: string[] = [];
    for (const [seed, ours] of [
      ['test/runbook/fixtures/seed-schema-evolution.txt', 'schema-evolution'],
      ['test/runbook/fixtures/seed-database-migration.txt', 'database-migration'],
    ]) {
      const ourIds = new Set(loadRunbook(ours).sections.map((s) => s.id));
      for (const s of loadRunbook(seed).sections) if (s.depth > 1 && !ourIds.has(s.id)) missing.push(`${ours}: ${s.id}`);
    }
    // The appendix configs are named after the connector, not after files of the original's repository.
    expect(missing).toEqual([
      'schema-evolution: source-connector-debezium-sqlserver-source-json',
      'schema-evolution: sink-connector-kafka-connect-postgresql-sink-json',
    ]);
  });


  it('give every source-side SQL step (or section) in both dialects', () => {
    const oneDialect: string[] = [];
    for (const name of ['schema-evolution', 'database-migration']) {
      for (const section of loadRunbook(name).sections) {
        const groups = new Map<string, Set<string | undefined>>();
        for (const block of section.codeBlocks.filter((b) => b.side === 'source')) {
          const key = block.stepNumber === undefined ? section.id : `${section.id} step ${block.stepNumber}`;
          groups.set(key, (groups.get(key) ?? new Set()).add(block.dialect));
        }
        for (const [key, dialects] of groups) if (dialects.size < 2) oneDialect.push(`${name}: ${key}`);
      }
    }
    // Creating and dropping a capture instance exists for SQL Server only; nothing else may lack a dialect.
    expect(oneDialect).toEqual([
      'schema-evolution: scenario-1-add-nullable-column/procedure step 2',
      'schema-evolution: scenario-1-add-nullable-column/procedure step 5',
    ]);
  });

});

describe('a procedure placed under a reference heading', () => {
  const text = `# R

## Appendix
<!-- kind: reference -->

### Scenario 8: Add a Computed Column

1. **Add the column**

   \`\`\`sql source=sqlserver
   ALTER TABLE dbo.t ADD c AS (a + b);
   \`\`\`

### Re-create the Slot

1. **Drop it**

   \`\`\`sql source=postgres
   SELECT pg_drop_replication_slot('s');
   \`\`\`

### Slot Queries
<!-- kind: reference -->

1. **List**

   \`\`\`sql source=postgres
   SELECT * FROM pg_replication_slots;
   \`\`\`

### Useful Queries

\`\`\`sql source=postgres
SELECT 1;
\`\`\`
`;
  const runbook = parseRunbook(text, 'r.md');
  const byId = (id: string) => runbook.sections.find((s) => s.id === id)!;

  it('is tested on its own: a heading kind or runnable numbered steps are not silenced by an inherited reference', () => {
    expect(byId('scenario-8-add-a-computed-column')).toMatchObject({ kind: 'scenario', unitId: 'scenario-8-add-a-computed-column' });
    expect(byId('re-create-the-slot')).toMatchObject({ kind: 'procedure', unitId: 're-create-the-slot' });
  });

  it('stays reference when its own marker says so, or when it is only a list of queries', () => {
    expect(byId('slot-queries')).toMatchObject({ kind: 'reference', unitId: 'slot-queries' });
    expect(byId('useful-queries')).toMatchObject({ kind: 'reference', unitId: 'appendix' });
  });
});

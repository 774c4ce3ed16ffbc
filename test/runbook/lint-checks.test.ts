import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintSql } from '../../harness/runbook/lint/lint-sql.js';
import { lintJson } from '../../harness/runbook/lint/lint-json.js';
import { lintShell, jsonHeredocs } from '../../harness/runbook/lint/lint-shell.js';
import { lintProperties } from '../../harness/runbook/lint/lint-properties.js';
import { lintFiles } from '../../harness/runbook/lint/lint-runbook.js';
import { readdirSync } from 'node:fs';
import { checkHarnessCommand, MIGRATE_VERB_NAMES, shellWords } from '../../harness/runbook/lint/harness-commands.js';
import { splitSql } from '../../harness/runbook/lint/sql-split.js';
import { INSTALLED_CONNECTOR_CLASSES } from '../../harness/runbook/lint/connector-rules.js';

const ctx = { file: 'r.md', section: 's', firstLine: 10 };
const brief = (fs: { line: number; severity: string; rule: string }[]) => fs.map((f) => `${f.line} ${f.severity} ${f.rule}`);

describe('SQL', () => {
  it('splits statements at semicolons and GO, not inside strings, comments or dollar quotes', () => {
    const parts = splitSql("SELECT ';';\n-- a; b\nSELECT $$x;y$$;\nSELECT 1\nGO\nSELECT [a;b] FROM t");
    expect(parts.map((p) => [p.line, p.text.replace(/\s+/g, ' ')])).toEqual([
      [0, "SELECT ';'"],
      [2, '-- a; b SELECT $$x;y$$'],
      [3, 'SELECT 1'],
      [5, 'SELECT [a;b] FROM t'],
    ]);
  });

  it('reports a PostgreSQL syntax error at the statement line', async () => {
    expect(brief(await lintSql('SELECT 1;\n\nSELEC 2;', 'postgres', ctx))).toEqual(['12 error sql-syntax']);
    expect(await lintSql('ALTER TABLE t ALTER COLUMN c TYPE BIGINT USING c::BIGINT;', 'postgres', ctx)).toEqual([]);
  });

  it('accepts placeholders as identifiers and skips psql meta-commands with a note', async () => {
    expect(await lintSql('SELECT * FROM <table_name> WHERE <primary_key> = <test_value>;', 'postgres', ctx)).toEqual([]);
    expect(brief(await lintSql('\\d+ customers\nSELECT 1;', 'postgres', ctx))).toEqual(['10 info sql-not-checked']);
  });

  it('T-SQL: a misspelled keyword is an error at its line, with the word it stopped at', async () => {
    const found = await lintSql('-- add the column\nALTER TABLEE dbo.customers\n  ADDD COLUMN middle_name NVARCHAR(50) NULL;', 'sqlserver', ctx);
    expect(brief(found)).toEqual(['11 error sql-syntax']);
    expect(found[0].message).toMatch(/^T-SQL \(ANTLR grammars-v4 TSqlParser\): syntax error near 'TABLEE'/);
    expect(brief(await lintSql('ALTER TABLE dbo.customers\n  ADDD middle_name NVARCHAR(50) NULL;', 'sqlserver', ctx))).toEqual(['11 error sql-syntax']);
    // PostgreSQL's spelling is not T-SQL: SQL Server has no ADD COLUMN.
    expect(brief(await lintSql('ALTER TABLE dbo.customers ADD COLUMN middle_name NVARCHAR(50) NULL;', 'sqlserver', ctx))).toEqual(['10 error sql-syntax']);
    expect(brief(await lintSql('SELECT a FROM dbo.t SAMPLE(100);', 'sqlserver', ctx))).toEqual(['10 error sql-syntax']);
  });

  it('T-SQL: parses procedures and batches; DENY and REVOKE, which the grammar lacks, are noted as not checked', async () => {
    expect(await lintSql('SELECT TOP 10 * FROM dbo.customers ORDER BY customer_id;', 'sqlserver', ctx)).toEqual([]);
    expect(await lintSql("EXEC sp_rename 'dbo.t.a', 'b', 'COLUMN';\nGO\nIF OBJECT_ID('dbo.t') IS NOT NULL\nBEGIN\n  PRINT 'x';\n  SELECT 1;\nEND", 'sqlserver', ctx)).toEqual([]);
    expect(brief(await lintSql('SELECT 1;\nDENY INSERT ON SCHEMA::dbo TO app;\nALTER TABLEE t ADD c INT;', 'sqlserver', ctx))).toEqual(['11 info sql-not-checked', '12 error sql-syntax']);
    expect(brief(await lintSql('SELECT * FROM dbo.t TABLESAMPLE (100 ROWS);', 'sqlserver', ctx))).toEqual(['10 info sql-not-checked']);
  });

  it('T-SQL: SQL Server\'s own SET PARSEONLY ON findings are errors at their line', async () => {
    const server = async (script: string) => (script.includes('ADD COLUMN') ? [{ line: 2, message: "Incorrect syntax near the keyword 'COLUMN'." }] : []);
    expect(brief(await lintSql('SELECT 1;\nALTER TABLE dbo.t ADD COLUMN c INT;', 'sqlserver', ctx, server))).toEqual(['11 error sql-syntax', '11 error sql-syntax']);
    expect(await lintSql('SELECT 1;', 'sqlserver', ctx, server)).toEqual([]);
  });

  it('never reports an error on valid T-SQL', async () => {
    const valid = [
      'DELETE TOP (10) FROM dbo.t WHERE a = 1;',
      'SELECT a INTO #tmp FROM dbo.t;',
      'SELECT * FROM dbo.t WITH (NOLOCK);',
      'UPDATE TOP (100) dbo.t SET a = 1;',
      'SELECT * FROM dbo.t CROSS APPLY dbo.fn(t.a) f;',
      'SELECT a FROM dbo.t FOR JSON PATH;',
      'INSERT INTO dbo.t (a) OUTPUT inserted.id VALUES (1);',
      'SELECT TOP 10 PERCENT * FROM dbo.t;',
      'SELECT a FROM dbo.t ORDER BY a OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY;',
      "SELECT STRING_AGG(name, ',') WITHIN GROUP (ORDER BY name) FROM dbo.t;",
      'SELECT * FROM dbo.t PIVOT (SUM(v) FOR k IN ([a], [b])) p;',
      'SELECT a FROM dbo.t OPTION (RECOMPILE);',
      'SELECT a FROM dbo.t ORDER BY a COLLATE Latin1_General_CI_AS;',
      "SELECT * FROM cdc.fn_cdc_get_all_changes_dbo_customers(@from, @to, N'all');",
      'UPDATE c SET c.a = o.b FROM dbo.c c JOIN dbo.o o ON o.id = c.id;',
      "MERGE dbo.t AS t USING dbo.s AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.a = s.a;",
      "EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N't', @role_name = NULL;",
    ];
    for (const statement of valid) {
      const errors = (await lintSql(statement, 'sqlserver', ctx)).filter((f) => f.severity === 'error');
      expect(errors, statement).toEqual([]);
    }
  });

  it('untagged blocks (mixed dialects) pass if either parser accepts each statement', async () => {
    const mixed = "INSERT INTO dbo.t (id) VALUES (1);\nSELECT id FROM t WHERE id = 1 LIMIT 1;\nALTER TABLE t ALTER COLUMN c TYPE text;";
    expect(await lintSql(mixed, undefined, ctx)).toEqual([]);
    expect(brief(await lintSql('./run.sh --x', undefined, ctx))).toEqual(['10 error sql-syntax']);
    // Neither grammar accepts a misspelled keyword: the error names both parsers.
    const misspelt = await lintSql('SELECT 1;\nALTER TABLEE t ADDD COLUMN c INT;', undefined, ctx);
    expect(brief(misspelt)).toEqual(['11 error sql-syntax']);
    expect(misspelt[0].message).toMatch(/neither PostgreSQL .* nor T-SQL .*near 'TABLEE'/);
  });
});

describe('JSON and connector configs', () => {
  const config = (cfg: Record<string, string>) => JSON.stringify({ name: 'c', config: cfg }, null, 2);

  it("reports each '//' comment line and still checks the properties behind them", () => {
    const text = '{\n  "name": "c",\n  "config": {\n    // comment\n    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",\n    "database.server.name": "x"\n  }\n}';
    const { findings } = lintJson(text, ctx, INSTALLED_CONNECTOR_CLASSES);
    expect(brief(findings)).toEqual(['13 error json-syntax', '15 error debezium-1x-property']);
  });

  it('reports plain syntax errors at their line', () => {
    const { findings } = lintJson('{\n  "a": 1,\n}', ctx, []);
    expect(brief(findings)).toEqual(['12 error json-syntax']);
  });

  it('knows per class which names Debezium 2 renamed', () => {
    const pg = lintJson(config({ 'connector.class': 'io.debezium.connector.postgresql.PostgresConnector', 'database.dbname': 'x', 'topic.prefix': 'p' }), ctx, INSTALLED_CONNECTOR_CLASSES);
    expect(pg.findings).toEqual([]); // database.dbname is current for PostgreSQL
    const ss = lintJson(config({ 'connector.class': 'io.debezium.connector.sqlserver.SqlServerConnector', 'database.dbname': 'x', 'table.whitelist': 'a' }), ctx, INSTALLED_CONNECTOR_CLASSES);
    expect(ss.findings.map((f) => f.message)).toEqual([
      "'database.dbname' is a Debezium 1.x name, ignored since 2.0; use 'database.names'",
      "'table.whitelist' is a Debezium 1.x name, ignored since 2.0; use 'table.include.list'",
    ]);
  });

  it('reports a connector class that is not installed', () => {
    const { findings } = lintJson(config({ 'connector.class': 'com.example.Nope' }), ctx, INSTALLED_CONNECTOR_CLASSES);
    expect(brief(findings)).toEqual(['13 error connector-class-not-installed']);
  });
});

describe('shell', () => {
  it('runs bash -n and reports the line of a syntax error', () => {
    expect(brief(lintShell('echo ok\nINSERT INTO t (a, b)\n', ctx))).toEqual(['11 error shell-syntax']);
    expect(lintShell('psql "$TARGET_URL" -c "\\d+ <table_name>"\nrunbook-harness reconcile --table <table_name>\n', ctx)).toEqual([]);
  });

  it('checks runbook-harness command lines against the real commands and options', () => {
    expect(checkHarnessCommand(shellWords('connector restart postgresql-sink --include-tasks --only-failed'))).toEqual([]);
    expect(checkHarnessCommand(shellWords('kafka consume --topic t --from-beginning --timeout-ms 5000 --headers'))).toEqual([]);
    expect(checkHarnessCommand(shellWords('connector reboot x'))).toEqual([expect.stringMatching(/^'runbook-harness connector' needs one of: status, config, .*\(got 'reboot'\)$/)]);
    expect(checkHarnessCommand(shellWords('connector list'))).toEqual([]);
    expect(checkHarnessCommand(shellWords('connector status'))).toEqual(["'runbook-harness connector status' takes 1 argument besides options (got 0)"]);
    expect(checkHarnessCommand(shellWords('reconcile --checksum'))).toEqual(["'runbook-harness reconcile' needs --table or --tables"]);
    expect(checkHarnessCommand(shellWords('lag --follow'))).toEqual(["'runbook-harness lag' has no option --follow"]);
    expect(checkHarnessCommand(shellWords('orchestrate --id 1'))[0]).toMatch(/^'runbook-harness orchestrate' is not a harness command/);
    expect(brief(lintShell('x=1\nrunbook-harness kafka groups\n', ctx))).toEqual(['11 error harness-command']);
  });

  it('checks migrate verbs and their options, and knows every verb the CLI has', () => {
    expect(checkHarnessCommand(shellWords('migrate cutover --migration-id m1 --timeout 60 --json'))).toEqual([]);
    expect(checkHarnessCommand(shellWords('migrate validate --migration-id m1 --table orders --sample-size 100'))).toEqual([]);
    expect(checkHarnessCommand(shellWords('migrate cutover'))).toEqual(["'runbook-harness migrate cutover' needs --migration-id"]);
    expect(checkHarnessCommand(shellWords('migrate compare --migration-id m1'))).toEqual(["'runbook-harness migrate compare' needs --table"]);
    expect(checkHarnessCommand(shellWords('migrate snapshot --migration-id m1 --tabels=orders'))).toEqual(["'runbook-harness migrate snapshot' has no option --tabels"]);
    expect(checkHarnessCommand(shellWords('migrate teleport --migration-id m1'))[0]).toMatch(/^'runbook-harness migrate' needs one of: init, .*\(got 'teleport'\)$/);
    const verbFiles = readdirSync(path.join(import.meta.dirname, '../../harness/migrate/verbs')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
    expect([...MIGRATE_VERB_NAMES].sort()).toEqual(verbFiles.sort());
  });

  it('warns on a restart that leaves the tasks alone, unless the block restarts tasks too', () => {
    expect(brief(lintShell('curl -X POST http://c:8083/connectors/sink/restart\n', ctx))).toEqual(['10 warning connector-only-restart']);
    expect(brief(lintShell('runbook-harness connector restart sink\n', ctx))).toEqual(['10 warning connector-only-restart']);
    expect(lintShell('curl -X POST "http://c:8083/connectors/sink/restart?includeTasks=true&onlyFailed=true"\n', ctx)).toEqual([]);
    expect(lintShell('curl -X POST http://c/connectors/s/restart\ncurl -X POST http://c/connectors/s/tasks/0/restart\n', ctx)).toEqual([]);
  });

  it('reports SQL where the shell expects a command, but not SQL inside quotes or heredocs', () => {
    const block = 'psql "$URL" -c "\nSELECT 1;\n"\ncat > x.sql << EOF\nDELETE FROM t;\nEOF\nCREATE DATABASE d;\n';
    expect(brief(lintShell(block, ctx))).toEqual(['16 error sql-in-shell']);
  });

  it('hands JSON heredoc bodies over with their line offset', () => {
    const docs = jsonHeredocs("cat > c.json << 'EOF'\n{\n  \"a\": 1\n}\nEOF\ncat > r.md << 'EOF'\n# not json\nEOF\n");
    expect(docs).toEqual([{ body: '{\n  "a": 1\n}', line: 1 }]);
  });
});

describe('properties', () => {
  it('reports inline comments and 1.x names, and accepts comment lines', () => {
    const findings = lintProperties('# note\ninclude.schema.changes=true   # on\ndatabase.history.kafka.topic=x\ntopic.prefix=p', ctx);
    expect(brief(findings)).toEqual(['11 warning properties-inline-comment', '12 error debezium-1x-property']);
  });
});

describe('runbook-level rules', () => {
  it('warns on an untagged SQL block only in a runbook that tags its SQL, and on a connector tag that does not match the name', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lint-rules-'));
    const tagged = path.join(dir, 'tagged.md');
    writeFileSync(tagged, '# T\n\n## S\n\n```sql target\nSELECT 1;\n```\n\n```sql\nSELECT 2;\n```\n\n```json connector=a\n{"name": "b", "config": {"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector"}}\n```\n');
    const untagged = path.join(dir, 'untagged.md');
    writeFileSync(untagged, '# T\n\n## S\n\n```sql\nSELECT 2;\n```\n');
    const result = await lintFiles([tagged, untagged], { connect: false });
    expect(result.findings.filter((f) => f.severity === 'warning').map((f) => `${path.basename(f.file)}:${f.line} ${f.rule}`)).toEqual([
      'tagged.md:9 sql-untagged',
      'tagged.md:13 connector-tag',
    ]);
  });
});

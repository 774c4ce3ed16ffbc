import { describe, expect, it } from 'vitest';
import { lintFiles } from '../../harness/runbook/lint/lint-runbook.js';

/**
 * The user's original runbooks (copies of ../shared/seeds) carry real defects: the lint must report each of them,
 * at its line, and nothing else as an error or warning.
 */
const SCHEMA = 'test/runbook/fixtures/seed-schema-evolution.txt';
const MIGRATION = 'test/runbook/fixtures/seed-database-migration.txt';

async function problems(file: string): Promise<string[]> {
  const result = await lintFiles([file], { connect: false });
  return result.findings.filter((f) => f.severity !== 'info').map((f) => `${f.line} ${f.severity} ${f.rule} ${f.section}`);
}

describe('lint on the original schema-evolution runbook', () => {
  it('reports exactly its real defects', async () => {
    expect(await problems(SCHEMA)).toEqual([
      // Inline '#' comments in the .properties block become part of the values
      '48 warning properties-inline-comment key-configuration-settings',
      '53 warning properties-inline-comment key-configuration-settings',
      '54 warning properties-inline-comment key-configuration-settings',
      '55 warning properties-inline-comment key-configuration-settings',
      // Scenario 4, Approach B, step 4: SQL in a bash block
      '415 error shell-syntax approach-b-maintenance-window',
      // A shell command inside a SQL block
      '525 error sql-syntax scenario-5-incompatible-type-change/rollback',
      // SAMPLE(100) is neither T-SQL nor PostgreSQL (reported at its own line, inside the statement)
      '653 error sql-syntax scenario-7-complex-multi-step-migration/procedure',
      // A connector-only restart as the fix for a FAILED sink, and to "refresh schema metadata" (tasks untouched)
      '753 warning connector-only-restart emergency-1-sink-connector-in-failed-state/immediate-actions',
      '1150 warning connector-only-restart issue-schema-change-not-detected/resolution',
      // An empty subquery template (reported where the empty parentheses close) and a '#' line in SQL
      '1265 error sql-syntax issue-data-type-precision-loss/diagnostic-steps',
      '1275 error sql-syntax issue-data-type-precision-loss/resolution',
      // Debezium 1.x names in the SQL Server source config
      '1295 error debezium-1x-property source-connector-debezium-sqlserver-source-json',
      '1296 error debezium-1x-property source-connector-debezium-sqlserver-source-json',
      '1298 error debezium-1x-property source-connector-debezium-sqlserver-source-json',
      '1299 error debezium-1x-property source-connector-debezium-sqlserver-source-json',
      // '//' comments in the appendix JSON
      '1301 error json-syntax source-connector-debezium-sqlserver-source-json',
      '1305 error json-syntax source-connector-debezium-sqlserver-source-json',
      '1310 error json-syntax source-connector-debezium-sqlserver-source-json',
      // The Confluent sink is not installed
      '1324 error connector-class-not-installed sink-connector-kafka-connect-postgresql-sink-json',
      '1330 error json-syntax sink-connector-kafka-connect-postgresql-sink-json',
      '1337 error json-syntax sink-connector-kafka-connect-postgresql-sink-json',
      '1343 error json-syntax sink-connector-kafka-connect-postgresql-sink-json',
    ]);
  });

  it('names the replacement in the message', async () => {
    const result = await lintFiles([SCHEMA], { connect: false });
    const messages = result.findings.map((f) => f.message);
    expect(messages).toContain("'database.dbname' is a Debezium 1.x name, ignored since 2.0; use 'database.names'");
    expect(messages).toContain("'database.history.kafka.topic' is a Debezium 1.x name, ignored since 2.0; use 'schema.history.internal.kafka.topic'");
    expect(messages.some((m) => m.startsWith('connector class io.confluent.connect.jdbc.JdbcSinkConnector is not installed on this stack; use io.debezium.connector.jdbc.JdbcSinkConnector'))).toBe(true);
  });

  it('accepts valid T-SQL that the old parser could not check (sp_rename), with no finding at all', async () => {
    const result = await lintFiles([SCHEMA], { connect: false });
    expect(result.findings.filter((f) => f.line === 401)).toEqual([]);
  });
});

describe('lint on the original database-migration runbook', () => {
  it('finds the Debezium 1.x name inside the heredoc config, SQL run as a shell command and the connector-only restarts, and nothing else', async () => {
    expect(await problems(MIGRATION)).toEqual([
      '112 error debezium-1x-property configure-debezium-connector',
      '137 error sql-in-shell create-target-database',
      '412 warning connector-only-restart p0-debezium-connector-failed-during-cutover',
      '685 warning connector-only-restart issue-connector-stuck-in-failed-state',
      '719 warning connector-only-restart issue-replication-slot-not-advancing',
      '945 warning connector-only-restart emergency-response',
    ]);
  });
});

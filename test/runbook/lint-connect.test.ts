import { describe, expect, it } from 'vitest';
import { validateOnWorker, type ConnectValidator } from '../../harness/runbook/lint/connect-validate.js';
import { lintJson } from '../../harness/runbook/lint/lint-json.js';

/** A worker stand-in that records what it was asked and answers like Connect's validate endpoint. */
function fakeWorker(answer: (config: Record<string, string>) => { name: string; errors: string[] }[]) {
  const asked: Record<string, string>[] = [];
  const validator: ConnectValidator = {
    installed: ['io.debezium.connector.postgresql.PostgresConnector', 'io.debezium.connector.jdbc.JdbcSinkConnector'],
    sourceDialect: 'postgres',
    placeholders: { SOURCE_HOST: '127.0.0.1', SOURCE_PORT: '5432' },
    async validate(_cls, config) {
      asked.push(config);
      return answer(config);
    },
  };
  return { validator, asked };
}

const ctx = { file: 'r.md', section: 's', firstLine: 1 };
function connector(config: Record<string, string>) {
  return lintJson(JSON.stringify({ name: 'postgres-source', config }, null, 2), ctx, ['io.debezium.connector.postgresql.PostgresConnector']).connector!;
}

describe('Connect-side validation', () => {
  it("fills the stack's placeholders and the connector name before asking the worker", async () => {
    const { validator, asked } = fakeWorker(() => []);
    const findings = await validateOnWorker(connector({ 'connector.class': 'io.debezium.connector.postgresql.PostgresConnector', 'database.hostname': '${SOURCE_HOST}', 'collection.name.format': '${source.table}' }), validator);
    expect(findings).toEqual([]);
    expect(asked[0]).toMatchObject({ name: 'postgres-source', 'database.hostname': '127.0.0.1', 'collection.name.format': '${source.table}' });
  });

  it("reports the worker's errors at the key's line, as notes where the value is a placeholder or the author's own host", async () => {
    const { validator } = fakeWorker(() => [
      { name: 'topic.prefix', errors: ['A value is required'] },
      { name: 'database.password', errors: ['bad password'] },
      { name: 'database.hostname', errors: ['Unable to connect'] },
    ]);
    const findings = await validateOnWorker(
      connector({ 'connector.class': 'io.debezium.connector.postgresql.PostgresConnector', 'database.hostname': 'db.example.com', 'database.password': '${SECRET}' }),
      validator,
    );
    expect(findings.map((f) => [f.line, f.severity, f.rule])).toEqual([
      [4, 'error', 'connect-validation'], // topic.prefix is missing: reported at connector.class
      [6, 'info', 'connect-not-validated'],
      [5, 'info', 'connect-not-validated'],
    ]);
    expect(findings[0].message).toBe("Kafka Connect: 'topic.prefix': A value is required");
  });

  it('does not validate a source connector for another dialect than the running stack', async () => {
    const { validator, asked } = fakeWorker(() => []);
    validator.installed.push('io.debezium.connector.sqlserver.SqlServerConnector');
    const config = lintJson(JSON.stringify({ config: { 'connector.class': 'io.debezium.connector.sqlserver.SqlServerConnector' } }), ctx, validator.installed).connector!;
    const findings = await validateOnWorker(config, validator);
    expect(findings.map((f) => f.rule)).toEqual(['connect-not-validated']);
    expect(asked).toEqual([]);
  });
});

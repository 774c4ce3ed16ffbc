import { readdirSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { HarnessError } from '../../harness/core/errors.js';
import { connectorVariables } from '../../harness/env/connector-variables.js';
import type { StackEndpoints } from '../../harness/env/stack.js';
import { CONNECTOR_TEMPLATES, fillTemplate, loadConnectorTemplate } from '../../harness/pipeline/connector-config.js';

const endpoints: StackEndpoints = {
  env: 'local',
  source: { dialect: 'postgres', host: '127.0.0.1', port: 5001, database: 'warehouse_source', user: 'postgres', password: 'pw-source', url: 'postgres://postgres:pw-source@127.0.0.1:5001/warehouse_source' },
  target: { dialect: 'postgres', host: '127.0.0.1', port: 5002, database: 'warehouse_target', user: 'postgres', password: 'pw-target', url: 'postgres://postgres:pw-target@127.0.0.1:5002/warehouse_target' },
  kafka: { bootstrap: '127.0.0.1:9092' },
  connect: { url: 'http://127.0.0.1:8083' },
  toxiproxy: { url: 'http://127.0.0.1:8474', proxies: { 'source-db': { listen: '127.0.0.1:6001', upstream: '127.0.0.1:5001' }, kafka: { listen: '127.0.0.1:6002', upstream: '127.0.0.1:9093' }, 'target-db': { listen: '127.0.0.1:6003', upstream: '127.0.0.1:5002' } } },
  connectView: { source: { host: '127.0.0.1', port: 6001 }, target: { host: '127.0.0.1', port: 6003 }, kafkaBootstrap: '127.0.0.1:6002' },
};

describe('connector templates', () => {
  test.each(readdirSync(CONNECTOR_TEMPLATES).map((f) => f.replace(/\.json$/, '')))('%s fills every harness placeholder and routes Connect through the proxies', (name) => {
    const { config } = loadConnectorTemplate(name, connectorVariables(endpoints));
    for (const [key, value] of Object.entries(config)) expect(value, key).not.toMatch(/\$\{[A-Z]/);
    const text = JSON.stringify(config);
    expect(text).not.toContain(':5001');
    expect(text).not.toContain(':5002');
  });

  test('the sink keeps Debezium\'s own ${source.table} placeholder and points at the target proxy', () => {
    const { config } = loadConnectorTemplate('postgresql-sink', connectorVariables(endpoints));
    expect(config['collection.name.format']).toBe('${source.table}');
    expect(config['connection.url']).toBe('jdbc:postgresql://127.0.0.1:6003/warehouse_target');
    expect(new RegExp(`^${config['topics.regex']}$`).test('warehouse.public.customers')).toBe(true);
    expect(new RegExp(`^${config['topics.regex']}$`).test('__debezium-heartbeat.warehouse')).toBe(false);
  });

  test('a per-scenario prefix, slot and publication reach the source config', () => {
    const { config } = loadConnectorTemplate('postgres-source', connectorVariables(endpoints, { tables: ['t1'], topicPrefix: 'rh_1', slotName: 's1', publicationName: 'p1' }));
    expect(config).toMatchObject({ 'topic.prefix': 'rh_1', 'slot.name': 's1', 'publication.name': 'p1', 'table.include.list': 'public.t1', 'database.port': '6001' });
  });

  test('a placeholder without a value is a one-line error naming the key and the variable', () => {
    expect(() => fillTemplate({ name: 'x', config: { 'database.port': '${NOPE}' } }, {})).toThrow(HarnessError);
    expect(() => fillTemplate({ name: 'x', config: { 'database.port': '${NOPE}' } }, {})).toThrow(/'database.port' uses \$\{NOPE\}/);
  });
});

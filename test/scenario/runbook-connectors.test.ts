/** runbook-connectors.ts: a runbook connector block with the scenario's pipeline names, everything else as written. */
import { describe, expect, it } from 'vitest';
import { withScenarioNames } from '../../harness/scenario/runbook-connectors.js';

const names = { topicPrefix: 'rh_ab12', slotName: 'rh_slot_ab12', publicationName: 'rh_pub_ab12' };

describe('withScenarioNames', () => {
  it('renames the topic prefix, slot and publication only', () => {
    const { definition, renamed } = withScenarioNames(
      {
        name: 'postgres-source',
        config: {
          'database.dbname': 'warehouse_source',
          'topic.prefix': 'warehouse',
          'slot.name': 'debezium_warehouse',
          'publication.name': 'dbz_warehouse',
          'database.password': '${SOURCE_PASSWORD}',
          'topics.regex': 'warehouse\\.public\\.(customers|orders)',
          'connection.url': 'jdbc:postgresql://${TARGET_HOST}:${TARGET_PORT}/warehouse_target',
          'collection.name.format': '${source.table}',
        },
      },
      names,
    );
    expect(definition.config).toEqual({
      'database.dbname': 'warehouse_source',
      'topic.prefix': 'rh_ab12',
      'slot.name': 'rh_slot_ab12',
      'publication.name': 'rh_pub_ab12',
      'database.password': '${SOURCE_PASSWORD}',
      'topics.regex': 'rh_ab12\\.public\\.(customers|orders)',
      'connection.url': 'jdbc:postgresql://${TARGET_HOST}:${TARGET_PORT}/warehouse_target',
      'collection.name.format': '${source.table}',
    });
    expect(Object.keys(renamed).sort()).toEqual(['publication.name', 'slot.name', 'topic.prefix', 'topics.regex']);
  });
});

/**
 * Removes everything one `migrate` run left on the shared test stack: its connectors, replication slot,
 * publication, sink consumer group, topics, the signal table, and its rows in the control schema. Always safe to
 * call (a scenario's rollback, whatever its outcome).
 */
import { pollUntil } from '../core/poll.js';
import { CONTROL_SCHEMA, type MigrationPipeline } from '../migrate/control-store.js';
import type { ConnectClient } from '../pipeline/connect-client.js';
import { sinkGroupId, withAdmin } from '../pipeline/kafka-admin.js';
import type { SqlSession } from '../verify/reconcile/index.js';

export async function removeMigration(options: { migrationId: string; pipeline: MigrationPipeline; connect: ConnectClient; source: SqlSession; target: SqlSession; bootstrap: string }): Promise<void> {
  const { pipeline, connect, source, target } = options;
  for (const name of [pipeline.sinkConnector, pipeline.sourceConnector]) await connect.deleteConnector(name).catch(() => undefined);
  await pollUntil({ what: `replication slot ${pipeline.slotName} to be released`, limitMs: 30_000 }, async () => {
    const rows = await source.query('SELECT active::text AS active FROM pg_replication_slots WHERE slot_name = $1', [pipeline.slotName]);
    return { done: rows.length === 0 || rows[0]!.active === 'false', seen: `active=${rows[0]?.active}` };
  });
  await source.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [pipeline.slotName]);
  await source.query(`DROP PUBLICATION IF EXISTS ${pipeline.publicationName}`);
  await source.query(`DROP TABLE IF EXISTS ${pipeline.signalTable}`);
  await target.query(`DELETE FROM ${CONTROL_SCHEMA}.migrations WHERE id = $1`, [options.migrationId]).catch(() => undefined);
  await withAdmin(options.bootstrap, async (admin) => {
    await admin.deleteGroups([sinkGroupId(pipeline.sinkConnector)]).catch(() => undefined);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${pipeline.topicPrefix}.`) || t === `dlq-${pipeline.sinkConnector}`);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  });
}

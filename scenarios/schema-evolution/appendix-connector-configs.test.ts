/**
 * runbooks/schema-evolution.md — Appendix A: Configuration Reference (Change Log row 12).
 * The Appendix's connector configs, exactly as printed (the JSON blocks, `${...}` filled from this
 * stack), are validated by the worker and deployed on the real Kafka Connect: both must run, and the
 * sample tables must replicate, with a workload writing to customers and every acknowledged write in
 * the replica. Nothing of the harness's own templates is used.
 */
import { pollUntil } from '../../harness/core/poll.js';
import { connectorVariables, DLQ_TOPIC } from '../../harness/env/connector-variables.js';
import { fillTemplate } from '../../harness/pipeline/connector-config.js';
import { sinkGroupId, withAdmin } from '../../harness/pipeline/kafka-admin.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { changeLogClaim } from '../../harness/runbook/change-log.js';
import { assertClaim } from '../../harness/runbook/claims.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { awaitConverged } from '../../harness/scenario/replica-waits.js';
import { resetSampleTables, SAMPLE_TABLES } from '../../harness/scenario/sample-tables.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { checkHistory } from '../../harness/verify/history.js';
import { Workload } from '../../harness/workload/writer.js';

const sourceSection = { postgres: runbookSection('schema-evolution', 'source-connector-postgres-source'), sqlserver: runbookSection('schema-evolution', 'source-connector-sqlserver-source') };
const sinkSection = runbookSection('schema-evolution', 'sink-connector-postgresql-sink');
const TABLE = 'customers';

function definitionOf(section: ReturnType<typeof runbookSection>): { name: string; config: Record<string, string> } {
  const block = section.codeBlocks.find((b) => b.lang === 'json' && b.connector)!;
  return JSON.parse(block.value) as { name: string; config: Record<string, string> };
}

describe('Appendix A: Configuration Reference', () => {
  for (const variant of sourceVariants()) {
    test.skipIf(!variant.runs)(`the Appendix's connector configs deploy and replicate ${variant.label}`, async ({ source, target, connect, kafka, endpoints }) => {
      const variables = connectorVariables(endpoints);
      const sourceDef = fillTemplate(definitionOf(sourceSection[variant.dialect]), variables);
      const sinkDef = fillTemplate(definitionOf(sinkSection), variables);
      const names = { slot: sourceDef.config['slot.name'], publication: sourceDef.config['publication.name'], prefix: sourceDef.config['topic.prefix']! };
      const redacted = (c: Record<string, string>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, /password/i.test(k) ? '***' : v]));

      await resetSampleTables(source, target);
      let workload: Workload | undefined;
      try {
        await runbookStep('The worker validates both configs', async () => {
          for (const def of [sourceDef, sinkDef]) {
            const result = await connect.validateConfig(def.config['connector.class']!, { name: def.name, ...def.config });
            const errors = result.configs.filter((c) => c.value?.errors?.length).map((c) => `${c.value.name}: ${c.value.errors.join('; ')}`);
            await attachJson(`${def.name}: validation`, { error_count: result.error_count, errors });
            expect(errors, `${def.name} validation errors`).toEqual([]);
          }
        });

        await runbookStep('Deploy the source and the sink as printed', async () => {
          for (const def of [sourceDef, sinkDef]) {
            await attachJson(`${def.name}: config as deployed`, redacted(def.config));
            const status = await connect.putConnectorConfig(def.name, def.config);
            await attachJson(`${def.name}: status`, status);
            expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
          }
        });

        await runbookStep('The sample tables replicate (snapshot, then live changes)', async () => {
          const snapshot = await awaitConverged(source, target, SAMPLE_TABLES.map((table) => ({ table })));
          await attachJson('reconciliation after the snapshot', snapshot.report);
          expect(snapshot.converged, JSON.stringify(snapshot.report.tables.map((t) => t.diffCounts))).toBe(true);
          workload = Workload.start(source, { table: TABLE, keyColumn: 'customer_id', shape: (_, n) => ({ name: `writer ${n}` }), ratePerSecond: 20 });
          const history = await pollUntil({ what: 'the workload to write for a while', limitMs: 60_000, intervalMs: 500 }, async () => ({ done: workload!.acknowledged >= 100, seen: `${workload!.acknowledged} writes` })).then(() => workload!.stop());
          const converged = await awaitConverged(source, target, [{ table: TABLE }]);
          const verdict = await checkHistory(history, target);
          await attachJson('reconciliation report', converged.report);
          await attachJson('acknowledged-write check', { ...verdict, errors: history.errors.slice(0, 20) });
          expect(converged.converged, JSON.stringify(converged.report.tables[0]?.diffCounts)).toBe(true);
          expect(verdict.pass, JSON.stringify({ lost: verdict.lost.slice(0, 10), unexpected: verdict.unexpected.slice(0, 10), stale: verdict.stale.slice(0, 10) })).toBe(true);
          expect(await kafka.count(DLQ_TOPIC), 'nothing in the DLQ').toBe(0);
          assertClaim(changeLogClaim('schema-evolution', 12), converged.converged && verdict.pass, `the Appendix's ${sinkDef.config['connector.class']} with schema.evolution=${sinkDef.config['schema.evolution']} created and kept ${SAMPLE_TABLES.join(', ')} equal to the source; ${history.writes.length} acknowledged writes all in the replica`);
        });
      } finally {
        await workload?.stop();
        // These connectors use the runbook's own names, slot, publication and topics: remove all of them.
        for (const name of [sinkDef.name, sourceDef.name]) await connect.deleteConnector(name).catch(() => undefined);
        if (variant.dialect === 'postgres' && names.slot) {
          await pollUntil({ what: `slot ${names.slot} released`, limitMs: 30_000 }, async () => {
            const rows = await source.query('SELECT active::text AS active FROM pg_replication_slots WHERE slot_name = $1', [names.slot!]);
            return { done: rows.length === 0 || rows[0]!.active === 'false', seen: `active=${rows[0]?.active}` };
          });
          await source.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
          if (names.publication) await source.query(`DROP PUBLICATION IF EXISTS ${names.publication}`);
        }
        await withAdmin(kafka.bootstrap, async (admin) => {
          await admin.deleteGroups([sinkGroupId(sinkDef.name)]).catch(() => undefined);
          const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${names.prefix}.`) || t === DLQ_TOPIC);
          if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
        });
      }
    });
  }
});

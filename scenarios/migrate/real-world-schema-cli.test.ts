/**
 * `runbook-harness migrate` moves a real-world schema (fixtures/schemas/real-world.sql: enums, domains, arrays,
 * tsvector, bytea, intervals, a partitioned table, a generated column, an identity column, foreign keys, triggers,
 * sequences, non-ASCII names), every verb its own process against two scratch databases on the stack's servers:
 *   init refuses it and names the fixes → init --apply-fixes applies and records them → snapshot → the source's
 *   changes stream → validate: 100 % match → cutover (the pooler pointed at the scratch source) → the target takes
 *   writes as the application would (identity keys, trigger rows) → rollback: the reverse pipeline carried those
 *   writes, with the same fixes, into the source, which matches the target table by table, triggers not fired twice
 *   and the identity column GENERATED ALWAYS again.
 * The table without a primary key (event_log) is left out, as its finding says (moved by hand).
 */
import { inject } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { CONTROL_SCHEMA, type MigrationEvent } from '../../harness/migrate/control-store.js';
import { recordedReverse } from '../../harness/migrate/cutover-session.js';
import type { PipelineFixes } from '../../harness/migrate/fixes.js';
import { removeReversePipeline } from '../../harness/migrate/reverse-pipeline.js';
import { PoolerAdmin, requirePooler } from '../../harness/migrate/pooler-admin.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { restoreStack } from '../../harness/scenario/cutover-rehearsal.js';
import { cliJson, cliMigration, showRun } from '../../harness/scenario/migrate-cli.js';
import { removeMigration } from '../../harness/scenario/migration-cleanup.js';
import { createScratchPair, loadRealWorldSchema, REAL_WORLD_TABLES, STREAMED_CHANGES } from '../../harness/scenario/real-world-schema.js';
import { CONVERGE_LIMIT_MS } from '../../harness/scenario/replica-waits.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';
import { reconcileSessions } from '../../harness/verify/reconcile/index.js';

const VERB_TIMEOUT_S = 120;
/** Every fixture table but the keyless one, whose fix is to move it by hand. */
const TABLES = REAL_WORLD_TABLES.filter((t) => t !== 'event_log');
const QUALIFIED = TABLES.map((t) => `public.${t}`);
/** Writes on the target after the cutover, as the application makes them (identity keys from DEFAULT, trigger rows). */
const TARGET_WRITES = `
INSERT INTO customers_rw (email, full_name) VALUES ('after-cutover@example.com', 'Nach dem Umzug');
INSERT INTO orders_rw (customer_id, status, net_amount, tax_rate) SELECT max(customer_id), 'paid', 42.00, 0.2000 FROM customers_rw;
UPDATE documents SET tags = array_append(tags, 'after') WHERE document_id = '00000000-0000-0000-0000-000000000001';
INSERT INTO measurements VALUES (7, '2026-02-26 00:00:00+00', 'north', 7.7);
UPDATE "café_commandes" SET "prix_€" = "prix_€" + 1 WHERE "numéro" = 2;
`;

describe('runbook-harness migrate: a real-world schema, init to rollback', () => {
  for (const variant of sourceVariants().filter((v) => v.dialect === 'postgres')) {
    test.skipIf(!variant.runs)(`init names the fixes, --apply-fixes applies them, and every table carries there and back ${variant.label}`, async ({ endpoints, connect, source, target, pgTools }) => {
      const stateDir = inject('stackStateDir');
      const pair = await createScratchPair(endpoints, connect, { source, target });
      // Not the stack's databases, so the stack's pg_dump (as new as its servers) is named, as a DBA would.
      const flags = ['--source-url', pair.endpoints.source.url, '--target-url', pair.endpoints.target.url];
      const tools = ['--pg-dump', pgTools.pgDump, '--psql', pgTools.psql];
      const m = cliMigration(stateDir, 'rw', { tables: [...TABLES], timeoutSeconds: VERB_TIMEOUT_S, flags });
      const pooler = new PoolerAdmin(requirePooler(endpoints));
      const stackSource = { host: endpoints.source.host, port: endpoints.source.port, database: endpoints.source.database };
      try {
        await loadRealWorldSchema(pair.source);

        await runbookStep('migrate init: the problems and their fixes, nothing created', async () => {
          const r = await m.migrate('init', ...m.initArgs, '--json');
          expect(r.code, showRun(r)).toBe(1);
          const out = cliJson<{ ok: boolean; checks: { assessment: { findings: { rule: string; severity: string }[] } } }>(r);
          const errors = [...new Set(out.checks.assessment.findings.filter((f) => f.severity === 'error').map((f) => f.rule))].sort();
          expect(errors).toEqual(['enum-column', 'foreign-key', 'generated-column', 'identity-always', 'interval-column', 'partitioned-table', 'trigger']);
          const text = await m.migrate('init', ...m.initArgs);
          expect(text.stdout, showRun(text)).toMatch(/run again with --apply-fixes/);
          expect(await pair.target.query(`SELECT relname FROM pg_class WHERE relname = 'orders_rw'`), 'nothing copied').toEqual([]);
        });

        const fixes = await runbookStep('migrate init --apply-fixes: applied and recorded', async () => {
          const r = await m.migrate('init', ...m.initArgs, ...tools, '--apply-fixes', '--json');
          expect(r.code, showRun(r)).toBe(0);
          const out = cliJson<{ pipeline: { fixes: PipelineFixes } }>(r);
          await attachJson('recorded fixes', out.pipeline.fixes);
          expect(out.pipeline.fixes.sinkUrlParameters).toEqual({ stringtype: 'unspecified', options: '-c session_replication_role=replica' });
          expect(out.pipeline.fixes.sourceConnector).toMatchObject({ 'interval.handling.mode': 'string', 'column.exclude.list': 'public.orders_rw.gross_amount' });
          const [identity] = await pair.target.query(`SELECT attidentity FROM pg_attribute WHERE attrelid = 'customers_rw'::regclass AND attname = 'customer_id'`);
          expect(identity?.attidentity, 'the target identity column takes the replicated values (BY DEFAULT)').toBe('d');
          return out.pipeline.fixes;
        });

        await runbookStep('migrate snapshot, the source changes, migrate validate: 100 % match', async () => {
          const snap = await m.migrate('snapshot');
          expect(snap.code, showRun(snap)).toBe(0);
          await pair.source.query(STREAMED_CHANGES);
          await pollUntil({ what: 'every migrated table of the scratch target to match its source', limitMs: CONVERGE_LIMIT_MS, intervalMs: 1_000 }, async () => {
            const r = await reconcileSessions(pair.source, pair.target, QUALIFIED.map((table) => ({ table })));
            return { done: r.summary.match, seen: r.tables.filter((t) => !t.match).map((t) => `${t.table} ${JSON.stringify(t.diffCounts)}`).join('; ') };
          });
          const v = await m.migrate('validate', '--json');
          expect(v.code, showRun(v)).toBe(0);
          expect(cliJson<{ match: boolean; sampled: boolean }>(v)).toMatchObject({ match: true, sampled: false });
        });

        await runbookStep('migrate cutover (the pooler on the scratch source), then writes on the target', async () => {
          await pooler.pointAt({ ...stackSource, database: pair.endpoints.source.database });
          const cut = await m.migrate('cutover', '--json');
          const out = cliJson<{ ok: boolean; steps: { name: string; detail?: Record<string, unknown> }[] }>(cut);
          expect(cut.code, showRun(cut)).toBe(0);
          expect(out.ok).toBe(true);
          const [identity] = await pair.target.query(`SELECT attidentity FROM pg_attribute WHERE attrelid = 'customers_rw'::regclass AND attname = 'customer_id'`);
          expect(identity?.attidentity, 'at cutover the target identity column is ALWAYS again').toBe('a');
          await pair.target.query(TARGET_WRITES);
        });

        await runbookStep('migrate rollback: the target\'s writes on the source, table by table, triggers not fired twice', async () => {
          const back = await m.migrate('rollback', '--reason', 'real-world rehearsal', '--json');
          expect(back.code, showRun(back)).toBe(0);
          const report = await reconcileSessions(pair.source, pair.target, QUALIFIED.map((table) => ({ table })), { maxDiffRows: 20 });
          await attachJson('source against target after the rollback', report.tables.map((t) => ({ table: t.table, match: t.match, ...t.diffCounts, differing: t.differing.slice(0, 5) })));
          expect(report.tables.filter((t) => !t.match).map((t) => t.table), 'tables that differ after the rollback').toEqual([]);
          const [audit] = await pair.source.query(`SELECT count(*)::text AS n FROM order_audit WHERE order_id = (SELECT max(order_id) FROM orders_rw)`);
          expect(audit?.n, 'one audit row for the order the target took (its trigger fired there; the reverse sink did not fire it again)').toBe('1');
          const [identity] = await pair.source.query(`SELECT attidentity FROM pg_attribute WHERE attrelid = 'customers_rw'::regclass AND attname = 'customer_id'`);
          expect(identity?.attidentity, 'after the rollback the source identity column is ALWAYS again').toBe('a');
          expect(fixes.rollbackSourceSql.length).toBeGreaterThan(0);
        });
      } finally {
        await pooler.pointAt(stackSource).catch(() => undefined);
        if ((await pooler.databaseRow().catch(() => undefined))?.paused === '1') await pooler.resume().catch(() => undefined);
        await restoreStack(endpoints, source, target, connect).catch(() => undefined);
        // The reverse pipeline the cutover started on the scratch target (its slot pins the database).
        const reverse = await pair.target
          .query(`SELECT step, outcome, detail::text AS detail FROM ${CONTROL_SCHEMA}.events WHERE migration_id = $1 AND verb = 'cutover' AND step = 'start-reverse-pipeline'`, [m.id])
          .then((rows) => recordedReverse(rows.map((r) => ({ migrationId: m.id, actor: '', verb: 'cutover', step: r.step!, outcome: r.outcome as MigrationEvent['outcome'], detail: JSON.parse(r.detail!) as Record<string, unknown> })), pair.endpoints, TABLES))
          .catch(() => undefined);
        if (reverse) await removeReversePipeline(reverse, connect, pair.target, endpoints.kafka.bootstrap).catch(() => undefined);
        await removeMigration({ migrationId: m.id, pipeline: m.pipeline, connect, source: pair.source, target: pair.target, bootstrap: endpoints.kafka.bootstrap }).catch(() => undefined);
        await pair.dispose();
      }
    });
  }
});

/**
 * runbooks/database-migration.md — Migration Setup: Create Target Database, with a real-world schema
 * (fixtures/schemas/real-world.sql: enums, domains, arrays, tsvector, bytea, numeric, intervals, json, uuid, a
 * partitioned table, a generated column, an identity column, foreign keys, triggers, sequences, non-ASCII names).
 *
 * `migrate init`'s assessment (harness/migrate/schema-compat.ts) reads the source's catalog and names what the
 * pipeline will not carry, with a fix. Here: the assessment's findings are the expected ones; with every fix it
 * recommends applied, every table arrives value by value (snapshot and streamed changes) and every sequence is carried
 * at cutover; and without each fix, in turn, the objects it was for do not arrive as they are on the source.
 */
import { type Remedy, type SchemaFinding, assessSchema, mergeRemedies } from '../../harness/migrate/schema-compat.js';
import { copySchema } from '../../harness/migrate/schema-copy.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { runbookSection } from '../../harness/runbook/section.js';
import { createScratchPair, loadRealWorldSchema, REAL_WORLD_TABLES, type RehearsalResult, rehearseRealWorldSchema } from '../../harness/scenario/real-world-schema.js';
import { describe, expect, sourceVariants, test } from '../../harness/test.js';

const section = runbookSection('database-migration', 'create-target-database');

/** What the assessment must say about the fixture, error and warning findings (rule → objects). */
const EXPECTED_PROBLEMS: Record<string, string[]> = {
  'identity-always': ['public.customers_rw.customer_id'],
  'enum-column': ['public.orders_rw.status'],
  'generated-column': ['public.orders_rw.gross_amount'],
  'foreign-key': ['public.orders_rw.orders_rw_customer_id_fkey'],
  trigger: ['public.orders_rw.orders_rw_audit', 'public.orders_rw.orders_rw_touch'],
  'interval-column': ['public.documents.retention'],
  'date-infinity': ['public.documents.published_on'],
  'partitioned-table': ['public.measurements'],
  'no-primary-key': ['public.event_log'],
  'toast-unchanged': ['public.documents'],
  sequence: ['public.customers_rw_customer_id_seq', 'public.invoice_number_seq', 'public.order_audit_audit_id_seq', 'public.orders_rw_order_id_seq'],
};

/**
 * One control run per fix: the plan without it. `rules` are dropped together when they share one setting (the sink's
 * session_replication_role covers both foreign keys and triggers). `notCarried` are the tables that must then differ;
 * `symptom` is the cause the sink task must fail with; `symptomIfFailed`, the cause it fails with when it does.
 */
const CONTROLS: { rules: string[]; notCarried: string[]; symptom?: RegExp; symptomIfFailed?: RegExp; sequencesBehind?: boolean; label?: string; targetSql?: string[] }[] = [
  { rules: ['identity-always'], notCarried: ['customers_rw'], symptom: /cannot insert a non-DEFAULT value into column "customer_id"/ },
  // interval.handling.mode=string needs stringtype=unspecified as well, so the enum's fix is only gone without both.
  { rules: ['enum-column', 'interval-column'], notCarried: ['orders_rw'], symptom: /is of type order_status but expression is of type character varying/ },
  { rules: ['generated-column'], notCarried: ['orders_rw'], symptom: /cannot insert a non-DEFAULT value into column "gross_amount"/ },
  // Whether the sink fails at all depends on the order the topics are consumed in: an order before its customer
  // breaks the foreign key, a source audit row before the trigger's collides; customers and the trigger's rows first
  // fail nothing (seen in CI). The touch trigger makes orders_rw differ in every order: that is what always holds.
  { rules: ['foreign-key', 'trigger'], notCarried: ['orders_rw'], symptomIfFailed: /violates foreign key constraint "orders_rw_customer_id_fkey"|duplicate key value violates unique constraint "order_audit_pkey"/ },
  // The triggers alone: the foreign key dropped on the target, so only the copied triggers act on the sink's writes.
  {
    rules: ['foreign-key', 'trigger'],
    label: 'trigger (foreign key dropped on the target)',
    targetSql: ['ALTER TABLE orders_rw DROP CONSTRAINT orders_rw_customer_id_fkey'],
    // The touch trigger rewrites updated_at on every streamed update: orders_rw differs, always. The audit trigger's
    // rows collide with the source's audit rows ("duplicate key ... order_audit_pkey") only when those arrive first;
    // otherwise the sink's upsert overwrites them with equal values and order_audit matches (both orders seen), so
    // neither order_audit nor that symptom is asserted here.
    notCarried: ['orders_rw'],
  },
  { rules: ['interval-column'], notCarried: ['documents'] },
  { rules: ['partitioned-table'], notCarried: ['measurements'] },
  { rules: ['no-primary-key'], notCarried: ['event_log'], symptom: /primary key mode 'record_key' cannot have null schema/ },
  { rules: ['toast-unchanged'], notCarried: ['documents'] },
  { rules: ['sequence'], notCarried: [], sequencesBehind: true },
];

/** Findings whose fix needs the affected rows found and corrected by hand: no automatic remedy. */
const MANUAL_RULES = ['date-infinity'];

const problemsOf = (findings: SchemaFinding[]) => {
  const byRule: Record<string, string[]> = {};
  for (const f of findings.filter((f) => f.severity !== 'info')) (byRule[f.rule] ??= []).push(f.object);
  for (const list of Object.values(byRule)) list.sort();
  return byRule;
};

const tableOf = (report: RehearsalResult['report'], table: string) => report.tables.find((t) => t.table === `public.${table}`)!;
const summary = (r: RehearsalResult) => ({
  sinkFailure: r.sinkFailure,
  tables: r.report.tables.map((t) => ({ table: t.table, match: t.match, error: t.error, source: t.sourceRows, target: t.targetRows, missing: t.diffCounts.missingInTarget, extra: t.diffCounts.extraInTarget, differing: t.differing.map((d) => ({ key: d.key, columns: d.columns })) })),
  sequences: r.sequences,
  settings: r.connectorSettings,
});

describe(section.title, () => {
  for (const variant of sourceVariants().filter((v) => v.dialect === 'postgres')) {
    let findings: SchemaFinding[] = [];

    test.skipIf(!variant.runs)(`a real-world schema: the assessment's fixes make every object carry value by value ${variant.label}`, async ({ endpoints, connect, pgTools, source, target, kafka }) => {
      findings = await runbookStep('Assess the schema before anything is copied (migrate init)', async () => {
        const pair = await createScratchPair(endpoints, connect, { source, target });
        try {
          await loadRealWorldSchema(pair.source);
          const assessment = await assessSchema(pair.source, { schemas: ['public'] });
          await attachJson('schema assessment', assessment);
          expect(problemsOf(assessment.findings)).toEqual(EXPECTED_PROBLEMS);
          expect(assessment.ready, 'errors found: the pipeline must not start without their fixes').toBe(false);
          // Every problem has a fix a rehearsal can apply, except the ones that need the rows found by hand.
          expect(assessment.findings.filter((f) => f.severity !== 'info' && !f.remedy && !MANUAL_RULES.includes(f.rule)).map((f) => f.object)).toEqual([]);
          // Every other column is named as carried (the type matrix), none silently skipped.
          const columns = await pair.source.query(
            "SELECT count(*)::text AS n FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped",
          );
          const perColumn = new Set(assessment.findings.filter((f) => f.kind === 'column').map((f) => f.object));
          expect(perColumn.size).toBe(Number(columns[0]!.n));
          return assessment.findings;
        } finally {
          await pair.dispose();
        }
      });

      await runbookStep('Copy the schema: the --table form leaves out the types and functions the tables use', async () => {
        const pair = await createScratchPair(endpoints, connect, { source, target });
        try {
          await loadRealWorldSchema(pair.source);
          const tables = REAL_WORLD_TABLES.map((t) => `public.${t}`);
          const tools = { pgDump: pgTools.pgDump, psql: pgTools.psql, limitMs: 60_000 };
          const copied = await copySchema(pair.endpoints.source, pair.endpoints.target, { ...tools, tables }).then(
            () => 'copied',
            (e: Error) => e.message,
          );
          await attachJson('pg_dump --schema-only --table=… | psql', { tables, result: copied });
          expect(copied).toMatch(/type "(public\.)?(email_address|positive_amount|order_status)" does not exist/);
          // The whole-schema form (what the rehearsal uses) copies everything into an empty target database.
          await pair.target.close();
          await target.query(`DROP DATABASE ${pair.endpoints.target.database} WITH (FORCE)`);
          await target.query(`CREATE DATABASE ${pair.endpoints.target.database}`);
          const whole = await copySchema(pair.endpoints.source, pair.endpoints.target, tools).then(() => 'copied', (e: Error) => e.message);
          expect(whole).toBe('copied');
        } finally {
          await pair.dispose();
        }
      });

      const result = await runbookStep('Copy the schema (pg_dump --schema-only), apply every fix, run the pipeline, cut over', async () => {
        const r = await rehearseRealWorldSchema({ endpoints, connect, pgTools, source, target, kafka }, mergeRemedies(findings));
        await attachJson('rehearsal with every fix', summary(r));
        return r;
      });

      await runbookStep('Verify: every table value by value, every sequence carried', async () => {
        expect(result.sinkFailure, 'sink task failed').toBeUndefined();
        expect(result.snapshot.settled && result.streaming.settled, result.streaming.reason ?? result.snapshot.reason).toBe(true);
        const mismatched = result.report.tables.filter((t) => !t.match).map((t) => ({ table: t.table, error: t.error, missing: t.missingInTarget, extra: t.extraInTarget, differing: t.differing }));
        expect(mismatched).toEqual([]);
        expect(result.sequences.filter((s) => s.source !== s.target)).toEqual([]);
      });
    });

    test.skipIf(!variant.runs)(`date 'infinity' arrives as '-infinity' (a warning without an automatic fix); timestamptz 'infinity' carries ${variant.label}`, async ({ endpoints, connect, pgTools, source, target, kafka }) => {
      expect(findings.length, 'the assessment test above runs first and provides the findings').toBeGreaterThan(0);
      const key = '00000000-0000-0000-0000-0000000000a1';
      const result = await runbookStep("Rehearse with every fix, and a document dated 'infinity' and a customer created at 'infinity'", async () => {
        const r = await rehearseRealWorldSchema({ endpoints, connect, pgTools, source, target, kafka }, mergeRemedies(findings), {
          extraChanges: `INSERT INTO documents (document_id, weight, published_on) VALUES ('${key}', 'NaN', 'infinity'); INSERT INTO customers_rw (email, full_name, created_at) VALUES ('inf@example.com', 'Inf', 'infinity');`,
        });
        await attachJson("rehearsal with 'infinity' values", summary(r));
        return r;
      });
      await runbookStep("Verify: only the date differs, and it is '-infinity'", async () => {
        expect(result.sinkFailure).toBeUndefined();
        expect(tableOf(result.report, 'customers_rw').match, 'timestamptz infinity').toBe(true);
        const documents = tableOf(result.report, 'documents');
        expect(documents.differing.map((d) => ({ key: d.key.document_id, columns: d.columns, source: d.source, target: d.target }))).toEqual([
          { key, columns: ['published_on'], source: { published_on: 'infinity' }, target: { published_on: '-infinity' } },
        ]);
        expect(documents.diffCounts.missingInTarget + documents.diffCounts.extraInTarget).toBe(0);
      });
    });

    for (const control of CONTROLS) {
      test.skipIf(!variant.runs)(`without the fix for ${control.label ?? control.rules.join(' and ')}: the objects it was for do not carry ${variant.label}`, async ({ endpoints, connect, pgTools, source, target, kafka }) => {
        expect(findings.length, 'the assessment test above runs first and provides the findings').toBeGreaterThan(0);
        const kept = findings.filter((f) => !control.rules.includes(f.rule));
        const dropped: Remedy[] = findings.filter((f) => control.rules.includes(f.rule)).map((f) => f.remedy!);
        const result = await runbookStep(`Rehearse without: ${JSON.stringify(mergeRemedies(dropped.map((remedy) => ({ remedy }))))}`, async () => {
          const plan = mergeRemedies(kept);
          plan.targetSql.push(...(control.targetSql ?? []));
          // Without its fix the sink may fail on its first records, before the deploy sees it RUNNING.
          const r = await rehearseRealWorldSchema({ endpoints, connect, pgTools, source, target, kafka }, plan, { sinkMayFail: true });
          await attachJson(`rehearsal without the ${control.label ?? control.rules.join(' and ')} fix`, summary(r));
          return r;
        });
        await runbookStep('Verify: the flagged objects differ from the source', async () => {
          for (const table of control.notCarried) expect(tableOf(result.report, table).match, `${table} carried without the fix`).toBe(false);
          if (control.symptom) expect(result.sinkFailure ?? '(the sink task did not fail)').toMatch(control.symptom);
          if (control.symptomIfFailed && result.sinkFailure) expect(result.sinkFailure).toMatch(control.symptomIfFailed);
          if (control.sequencesBehind) {
            const behind = result.sequences.filter((s) => s.source !== s.target).map((s) => s.sequence);
            expect(behind.sort()).toEqual(EXPECTED_PROBLEMS.sequence);
          }
        });
      });
    }
  }
});

/**
 * migrate init: the runbook's "Initialize migration" and "Create target database" steps as one checked action.
 *   1. the source is ready for logical decoding (wal_level = logical)
 *   2. assessSchema: every table has what CDC needs (a primary key, a REPLICA IDENTITY that carries it), with fixes
 *   3. the heartbeat, drain marker and signal tables exist in the source (lag probes; `cutover`'s drain; `resync`)
 *   4. pg_dump -s of the source schema (types, functions, sequences, the migrated tables) into the target, in one transaction
 *   5. the migration is recorded (state initialized) with its tables and pipeline names
 * A failed check (1, 2) exits 1 before anything is created or copied. With --apply-fixes, the findings' fixes are
 * applied instead (source SQL before the copy, the publication with publish_via_partition_root, target SQL after
 * it) and recorded with the migration, so that the connectors of snapshot, cutover and rollback carry them; an error
 * no fix covers (a table without a key: leave it out with --tables and move it by hand) still exits 1.
 */
import { HarnessError } from '../../core/errors.js';
import { parseCommandArgs } from '../../cli/command.js';
import { UsageError } from '../../cli/errors.js';
import { ensureHeartbeatTable } from '../../verify/lag.js';
import { databaseIdentity } from '../database-identity.js';
import { listFlag } from '../migrate-args.js';
import { ensureMarkerTable } from '../drain.js';
import { defaultPipeline, MIGRATE_MARKER_TABLE, MIGRATE_SCHEMA } from '../migration-connectors.js';
import { assessSchema } from '../schema-compat.js';
import { copySchema } from '../schema-copy.js';
import { planFixes } from '../fixes.js';
import { listTables, ownedSequences, tableExists, tableRef, walLevel } from '../table-catalog.js';
import type { MigrateVerb } from '../verb.js';

const USAGE =
  '[--tables a,b,c] [--apply-fixes] [--skip-schema-copy] [--pg-dump PATH] [--psql PATH] [--source-connector NAME] [--sink-connector NAME] ' +
  '[--topic-prefix P] [--slot NAME] [--publication NAME]';

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export const verb: MigrateVerb = {
  summary: 'check the source (wal_level, keys, replica identity), copy its schema to the target, record the migration',
  exclusive: true,
  usage: USAGE,
  async run(ctx, args) {
    const parsed = parseCommandArgs('migrate init', args, {
      tables: { type: 'string' },
      'apply-fixes': { type: 'boolean' },
      'skip-schema-copy': { type: 'boolean' },
      'pg-dump': { type: 'string' },
      psql: { type: 'string' },
      'source-connector': { type: 'string' },
      'sink-connector': { type: 'string' },
      'topic-prefix': { type: 'string' },
      slot: { type: 'string' },
      publication: { type: 'string' },
    }, USAGE);
    if (!parsed) return 0;
    const v = parsed.values;
    for (const flag of ['slot', 'publication'] as const) {
      if (v[flag] !== undefined && !IDENT.test(v[flag]!)) throw new UsageError(`migrate init: --${flag} must be a lower-case PostgreSQL identifier (letters, digits, _), got '${v[flag]}'`);
    }
    const existing = await ctx.store.find(ctx.migrationId);
    if (existing) throw new HarnessError(`migration ${ctx.migrationId} already exists (state ${existing.state}, created ${existing.createdAt}); pick a new --migration-id (e.g. ${ctx.migrationId}-retry)`);
    const pipeline = defaultPipeline({
      ...(v['source-connector'] ? { sourceConnector: v['source-connector'] } : {}),
      ...(v['sink-connector'] ? { sinkConnector: v['sink-connector'] } : {}),
      ...(v['topic-prefix'] ? { topicPrefix: v['topic-prefix'] } : {}),
      ...(v.slot ? { slotName: v.slot } : {}),
      ...(v.publication ? { publicationName: v.publication } : {}),
    });
    const source = await ctx.source();
    const target = await ctx.target();

    // 1. logical decoding
    const level = await walLevel(source);
    // 2. the tables and what CDC needs of them
    const helperTables = [pipeline.heartbeatTable, MIGRATE_MARKER_TABLE, pipeline.signalTable];
    const all = (await listTables(source, pipeline.schemas)).filter((t) => !helperTables.includes(t));
    const requested = listFlag(v.tables)?.map((t) => (t.includes('.') ? t : `${MIGRATE_SCHEMA}.${t}`));
    const unknown = requested?.filter((t) => !all.includes(t)) ?? [];
    if (unknown.length) throw new UsageError(`migrate init: --tables names ${unknown.join(', ')}, not in the source (schema ${pipeline.schemas.join(', ')}: ${all.join(', ') || 'no tables'})`);
    const tables = requested ?? all;
    if (tables.length === 0) throw new HarnessError(`migrate init: the source has no tables in schema ${pipeline.schemas.join(', ')}; create them first (or check --source-url)`);
    // wal_level, keys and replica identity, and every type or object the pipeline cannot carry as is (with its fix).
    const assessment = await assessSchema(source, { schemas: pipeline.schemas });
    const migrated = (object: string) => tables.some((t) => object === t || object.startsWith(`${t}.`));
    const problems = assessment.findings.filter((f) => f.severity !== 'info' && (f.kind === 'database' || f.kind === 'sequence' || migrated(f.object)));
    const errors = problems.filter((p) => p.severity === 'error');
    const checks = { walLevel: level, tables, assessment: { counts: assessment.counts, findings: problems } };
    const plan = planFixes(problems);
    const applyFixes = v['apply-fixes'] === true;
    const blocking = applyFixes ? plan.unfixable : errors;
    if (blocking.length) {
      const hint = !applyFixes && plan.unfixable.length === 0 ? [`every problem has a fix init can apply: run again with --apply-fixes`] : [];
      ctx.print(
        { migrationId: ctx.migrationId, ok: false, checks, created: false, ...(applyFixes ? { unfixable: plan.unfixable.map((f) => f.object) } : {}) },
        [
          `migrate init ${ctx.migrationId}: ${blocking.length} problem(s)${applyFixes ? ' no automatic fix covers' : ''}; nothing was created or copied`,
          ...(applyFixes ? blocking : problems).map((p) => `  ${p.severity.toUpperCase()} ${p.object}: ${p.problem}\n    fix: ${p.fix}`),
          ...hint.map((h) => `  ${h}`),
        ].join('\n'),
      );
      return 1;
    }
    const fixes = applyFixes ? plan.fixes : undefined;
    if (!v['skip-schema-copy']) {
      const present: string[] = [];
      for (const t of tables) if (await tableExists(target, t)) present.push(t);
      if (present.length) throw new HarnessError(`migrate init: the target already has ${present.join(', ')}; drop them in the target, or pass --skip-schema-copy if you created the schema there yourself`);
    }

    // 3. helper tables in the source
    await ensureHeartbeatTable({ source, table: pipeline.heartbeatTable });
    await ensureMarkerTable(source);
    await source.query(`CREATE TABLE IF NOT EXISTS ${tableRef(pipeline.signalTable)} (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL)`);

    // The fixes that act on the source, before its schema is copied (REPLICA IDENTITY FULL, the publication).
    if (fixes) {
      for (const sql of fixes.sourceSql) await source.query(sql);
      if (fixes.publishViaPartitionRoot) {
        const captured = [...tables, ...helperTables].map(tableRef).join(', ');
        // A run that stopped later (the schema copy failed, say) left it: set it again rather than fail on it.
        const exists = (await source.query('SELECT 1 AS found FROM pg_publication WHERE pubname = $1', [pipeline.publicationName])).length > 0;
        if (exists) {
          await source.query(`ALTER PUBLICATION ${pipeline.publicationName} SET TABLE ${captured}`);
          await source.query(`ALTER PUBLICATION ${pipeline.publicationName} SET (publish_via_partition_root = true)`);
        } else {
          await source.query(`CREATE PUBLICATION ${pipeline.publicationName} FOR TABLE ${captured} WITH (publish_via_partition_root = true)`);
        }
      }
    }

    // 4. schema copy
    const tools = ctx.endpoints.tools;
    const copy = v['skip-schema-copy']
      ? undefined
      : await copySchema(ctx.endpoints.source, ctx.endpoints.target, {
          pgDump: v['pg-dump'] ?? tools?.pgDump ?? 'pg_dump',
          psql: v.psql ?? tools?.psql ?? 'psql',
          schemas: pipeline.schemas,
          // The schema's types, functions and sequences, and of its tables only the migrated ones: the helper
          // tables stay out (the sink creates the heartbeat table; the signal table lives in the source only).
          excludeTables: await (async () => {
            const left = [...(await listTables(source, pipeline.schemas)).filter((t) => !tables.includes(t)), ...helperTables];
            return [...left, ...(await ownedSequences(source, left))];
          })(),
          limitMs: ctx.timeoutMs,
        });
    if (copy) ctx.progress(`migrate init: schema copied to the target with ${copy.pgDump} in ${copy.seconds.toFixed(1)} s (${Object.entries(copy.created).map(([k, n]) => `${n} ${k}`).join(', ')})`);
    if (fixes) for (const sql of fixes.targetSql) await target.query(sql);
    if (fixes) pipeline.fixes = fixes;

    // 5. record
    const [sourceId, targetId] = await Promise.all([databaseIdentity(source), databaseIdentity(target)]);
    const migration = await ctx.store.create({ id: ctx.migrationId, source: sourceId, target: targetId, tables, pipeline }, 'init');
    await ctx.record({ step: 'checks', outcome: 'ok', detail: checks });
    await ctx.record({ step: 'schema-copy', outcome: copy ? 'ok' : 'info', detail: copy ? { ...copy, ddl: undefined } : { skipped: '--skip-schema-copy' } });
    if (fixes) await ctx.record({ step: 'fixes', outcome: 'ok', detail: { ...fixes } });
    ctx.print(
      { migrationId: migration.id, ok: true, state: migration.state, checks, schemaCopy: copy ? { ...copy, ddl: undefined } : null, pipeline },
      [
        `migrate init ${migration.id}: ok, state ${migration.state}`,
        `  source ${sourceId.host}:${sourceId.port}/${sourceId.database} -> target ${targetId.host}:${targetId.port}/${targetId.database}`,
        `  wal_level logical; ${tables.length} table(s): ${tables.join(', ')}`,
        ...problems.map((p) => `  ${fixes && p.remedy ? `FIXED ${p.severity.toUpperCase()}` : p.severity.toUpperCase()} ${p.object}: ${p.problem} (fix: ${p.fix})`),
        `  schema copy: ${copy ? `${Object.entries(copy.created).map(([k, n]) => `${n} ${k}`).join(', ')}` : 'skipped (--skip-schema-copy)'}`,
        `  pipeline: ${pipeline.sourceConnector} -> ${pipeline.sinkConnector}, topics ${pipeline.topicPrefix}.*, slot ${pipeline.slotName}`,
        `next: runbook-harness migrate snapshot --migration-id ${migration.id}`,
      ].join('\n'),
    );
    return 0;
  },
};

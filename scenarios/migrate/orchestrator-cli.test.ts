/**
 * The migration orchestrator, `runbook-harness migrate`, driven as a DBA would drive it: every verb is a separate
 * CLI process against the real stack (the URLs come from the stack's state file), and the migration's state, event
 * log and lock live in the control schema of the target database, so each process sees what the others did.
 *   init → snapshot → validate (100 % match) → a difference planted on the target behind the pipeline's back →
 *   validate exits 1 and compare names the key → status --json from another process → two exclusive verbs at once:
 *   the second is refused with the holder named, and leaves the pipeline untouched → halt and restart → lag →
 *   the report.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { pollUntil } from '../../harness/core/poll.js';
import { LOCK_HOLDER_SQL, type Migration, type MigrationEvent } from '../../harness/migrate/control-store.js';
import { defaultPipeline } from '../../harness/migrate/migration-connectors.js';
import { summariseState } from '../../harness/pipeline/connect-client.js';
import { attachJson, runbookStep } from '../../harness/report/step.js';
import { removeMigration } from '../../harness/scenario/migration-cleanup.js';
import { cliJson, showRun } from '../../harness/scenario/migrate-cli.js';
import { runCli } from '../../harness/scenario/runbook-commands.js';
import { resetSampleTables, SAMPLE_TABLES } from '../../harness/scenario/sample-tables.js';
import { describe, expect, test } from '../../harness/test.js';

/** Each verb's wait limit, passed as --timeout: a limit, not a performance goal. */
const VERB_TIMEOUT_S = 120;
/** How long the test waits to see the first exclusive verb holding the lock (a CLI process starts in seconds). */
const LOCK_SEEN_LIMIT_MS = 60_000;
/** The planted difference: a customer's name changed on the target only. */
const PLANTED = { table: 'customers', key: 'customer_id', id: '2', column: 'name', value: 'planted behind the pipeline' };

const json = cliJson;
const show = showRun;

describe('runbook-harness migrate: the orchestrator on the real stack', () => {
  test('init → snapshot → validate → planted difference found by key → status from another process → one exclusive verb at a time', async ({ source, target, connect, endpoints }) => {
    const stateDir = inject('stackStateDir');
    const id = `orch-${randomBytes(3).toString('hex')}`;
    const flat = id.replace(/-/g, '_');
    const names = { sourceConnector: `${id}-source`, sinkConnector: `${id}-sink`, topicPrefix: `rh_${flat}`, slotName: `rh_slot_${flat}`, publicationName: `rh_pub_${flat}` };
    const pipeline = defaultPipeline(names);
    const migrate = (verb: string, ...args: string[]) => runCli(stateDir, ['migrate', verb, '--migration-id', id, '--timeout', String(VERB_TIMEOUT_S), ...args]);

    await resetSampleTables(source, target);
    try {
      await runbookStep('1. Initialize the migration (checks, schema copy, record)', async () => {
        const r = await migrate('init', '--tables', SAMPLE_TABLES.join(','), '--source-connector', names.sourceConnector, '--sink-connector', names.sinkConnector, '--topic-prefix', names.topicPrefix, '--slot', names.slotName, '--publication', names.publicationName, '--json');
        expect(r.code, show(r)).toBe(0);
        const out = json<{ state: string; checks: { walLevel: string; tables: string[] } }>(r);
        expect(out.state).toBe('initialized');
        expect(out.checks.walLevel).toBe('logical');
        // The schema is in the target before any row: pg_dump -s, not the sink, created the tables.
        for (const t of SAMPLE_TABLES) {
          const [row] = await target.query('SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2', ['public', t]);
          expect(row!.n, `${t} created in the target by the schema copy`).toBe('1');
          const [rows] = await target.query(`SELECT count(*)::text AS n FROM public.${t}`);
          expect(rows!.n, `${t} has no rows before the snapshot`).toBe('0');
        }
      });

      await runbookStep('2. Start the initial snapshot (per-table progress on stderr)', async () => {
        const r = await migrate('snapshot', '--json');
        expect(r.code, show(r)).toBe(0);
        expect(json<{ state: string }>(r).state).toBe('replicating');
        for (const t of SAMPLE_TABLES) expect.soft(r.stderr, `progress of ${t} on stderr`).toMatch(new RegExp(`public\\.${t} \\d+/\\d+ done`));
      });

      await runbookStep('3. Validate: row counts and checksums, 100 % match', async () => {
        const r = await migrate('validate', '--json');
        expect(r.code, show(r)).toBe(0);
        const out = json<{ match: boolean; sampled: boolean; consistency: { pass: boolean; measured: number }; tables: { table: string; match: boolean }[] }>(r);
        expect(out.tables.map((t) => [t.table, t.match])).toEqual(SAMPLE_TABLES.map((t) => [`public.${t}`, true]));
        expect(out.sampled).toBe(false);
        expect(out.consistency).toMatchObject({ pass: true, measured: 100 });
      });

      await runbookStep('4. A difference planted on the target behind the pipeline: validate fails, compare names the key', async () => {
        await target.query(`UPDATE public.${PLANTED.table} SET ${PLANTED.column} = $1 WHERE ${PLANTED.key} = $2`, [PLANTED.value, PLANTED.id]);
        const v = await migrate('validate', '--json');
        expect.soft(v.code, show(v)).toBe(1);
        const out = json<{ match: boolean; consistency: { pass: boolean }; tables: { table: string; match: boolean; differing: number }[] }>(v);
        expect.soft(out.match).toBe(false);
        expect.soft(out.consistency.pass).toBe(false);
        expect.soft(out.tables.find((t) => t.table === `public.${PLANTED.table}`)).toMatchObject({ match: false, differing: 1 });
        const c = await migrate('compare', '--table', PLANTED.table);
        expect.soft(c.code, show(c)).toBe(1);
        expect.soft(c.stdout, show(c)).toMatch(new RegExp(`differs:\\s+${PLANTED.key}=${PLANTED.id} \\(columns ${PLANTED.column}\\)`));
        // A sampled run says what it covered and never claims 100 %.
        const sampled = await migrate('validate', '--sample-size', '1', '--table', 'orders');
        expect.soft(sampled.stdout, show(sampled)).toMatch(/sampled 1 of 3 rows/);
        expect.soft(sampled.stdout, show(sampled)).not.toMatch(/100 % match/);
        const sampledJson = json<{ sampled: boolean; consistency?: unknown }>(await migrate('validate', '--sample-size', '1', '--table', 'orders', '--json'));
        expect.soft(sampledJson.sampled).toBe(true);
        expect.soft(sampledJson.consistency, 'a sampled run gives no consistency verdict').toBeUndefined();
      });

      await runbookStep('5. status --json from another process sees the state and the event log', async () => {
        const r = await migrate('status', '--json', '--events', '50');
        expect(r.code, show(r)).toBe(0);
        const out = json<{ migration: Migration; events: MigrationEvent[]; connectors: { name: string; state: string }[] }>(r);
        await attachJson('migrate status --json', out);
        expect.soft(out.migration.state).toBe('replicating');
        expect.soft(out.connectors.map((c) => [c.name, c.state])).toEqual([[names.sourceConnector, 'RUNNING'], [names.sinkConnector, 'RUNNING']]);
        const seen = out.events.map((e) => `${e.verb}/${e.step}/${e.outcome}`);
        for (const step of ['init/state/ok', 'snapshot/state/ok', 'snapshot/converged/ok', 'validate/result/ok', 'validate/result/failed', 'compare/result/failed']) expect.soft(seen, step).toContain(step);
        // Several processes wrote the log; each event names its actor (user@host pid N).
        expect.soft(new Set(out.events.map((e) => e.actor)).size).toBeGreaterThanOrEqual(4);
        expect.soft(out.events.every((e) => /^\S+@\S+ pid \d+$/.test(e.actor))).toBe(true);
      });

      await runbookStep('6. Two exclusive verbs of one migration at once: the second is refused, naming the holder', async () => {
        // With the sink paused, resync cannot finish (its incremental snapshot waits in Kafka), so it holds the lock.
        await connect.pauseConnector(names.sinkConnector);
        const first = migrate('resync', '--table', PLANTED.table);
        const holder = await pollUntil({ what: `migrate resync of ${id} to hold the migration's lock`, limitMs: LOCK_SEEN_LIMIT_MS, intervalMs: 250 }, async () => {
          const rows = await target.query(LOCK_HOLDER_SQL, [id]);
          return { done: rows.length === 1, seen: rows.length ? rows[0]!.application_name ?? '' : 'no holder', value: rows[0] };
        });
        expect(holder!.application_name).toMatch(/^rh migrate resync /);
        const second = await migrate('halt');
        expect.soft(second.code, show(second)).toBe(2);
        expect.soft(second.stderr, show(second)).toMatch(new RegExp(`migration ${id} is busy: 'rh migrate resync \\S+ pid \\d+' \\(backend pid ${holder!.pid}`));
        // The refused halt did nothing: the source still runs.
        expect.soft(summariseState(await connect.getConnectorStatus(names.sourceConnector))).toBe('RUNNING');
        await connect.resumeConnector(names.sinkConnector);
        const done = await first;
        expect.soft(done.code, show(done)).toBe(0);
        expect.soft(done.stdout, show(done)).toMatch(/matches after/);
        const status = json<{ migration: Migration; events: MigrationEvent[] }>(await migrate('status', '--json', '--events', '50'));
        expect.soft(status.migration.state, 'the refused halt changed no state').toBe('replicating');
        expect.soft(status.events.map((e) => `${e.verb}/${e.step}/${e.outcome}`)).toContain('halt/lock/refused');
      });

      await runbookStep('7. halt pauses both connectors and keeps the slot; restart resumes them', async () => {
        const h = await migrate('halt', '--json');
        expect.soft(h.code, show(h)).toBe(0);
        expect.soft(json<{ state: string }>(h).state).toBe('halted');
        for (const name of [names.sourceConnector, names.sinkConnector]) expect.soft((await connect.getConnectorStatus(name)).connector.state, name).toBe('PAUSED');
        const [slot] = await source.query('SELECT count(*)::text AS n FROM pg_replication_slots WHERE slot_name = $1', [names.slotName]);
        expect.soft(slot!.n, 'the slot is kept while halted').toBe('1');
        const r = await migrate('restart', '--json');
        expect.soft(r.code, show(r)).toBe(0);
        expect.soft(json<{ state: string }>(r).state).toBe('replicating');
        for (const name of [names.sourceConnector, names.sinkConnector]) expect.soft(summariseState(await connect.getConnectorStatus(name)), name).toBe('RUNNING');
      });

      await runbookStep('8. After the resync the table matches again; lag is sampled; the report reads the log', async () => {
        const v = await migrate('validate');
        expect.soft(v.code, show(v)).toBe(0);
        const lag = await migrate('lag', '--json');
        const sample = json<{ heartbeatSeconds: number; timedOut: boolean; verdict: { slo: string; measured: number; pass: boolean } }>(lag);
        expect.soft(sample.timedOut, show(lag)).toBe(false);
        expect.soft(lag.code, 'exit code follows the lag verdict').toBe(sample.verdict.pass ? 0 : 1);
        const r = await migrate('report', '--output', `reports/migrate-${id}.html`, '--json');
        const out = json<{ slos: { metric: string; verdict: { pass: boolean; measured: number } | null }[] }>(r);
        expect.soft(out.slos.find((s) => s.metric === 'Data consistency validation')?.verdict?.pass).toBe(true);
        expect.soft(out.slos.find((s) => s.metric === 'Data replication lag')?.verdict?.measured, 'the report uses the recorded lag sample').toBe(sample.heartbeatSeconds);
        expect.soft(out.slos.find((s) => s.metric === 'Cutover time')?.verdict, 'nothing measured the cutover: not measured, never passed').toBeNull();
      });
    } finally {
      await removeMigration({ migrationId: id, pipeline, connect, source, target, bootstrap: endpoints.kafka.bootstrap });
      await resetSampleTables(source, target);
    }
  });
});

/**
 * What the cutover scenarios share: the application's table on the source (keys from a sequence), its schema
 * copied to the target the way a migration does it (pg_dump --schema-only: sequences come along at their start),
 * the pooler's admin, the inputs of cutover()/rollback() for this stack, and the clean-up that puts the stack back
 * (pooler on the source and resumed, both sides unfenced, reverse pipeline removed, tables dropped) whatever the
 * test's outcome. These return observations; only scenarios assert.
 */
import { pollUntil } from '../core/poll.js';
import type { PostgresTools, StackEndpoints } from '../env/stack.js';
import type { ConnectClient } from '../pipeline/connect-client.js';
import type { CutoverInputs } from '../migrate/cutover.js';
import type { MigrationSide } from '../migrate/sides.js';
import { ensureMarkerTable, MARKER_TABLE } from '../migrate/drain.js';
import { copySchema } from '../migrate/schema-copy.js';
import { unfenceRole } from '../migrate/fence.js';
import { PoolerAdmin, requirePooler } from '../migrate/pooler-admin.js';
import { removeReversePipeline, type ReversePipeline } from '../migrate/reverse-pipeline.js';
import type { StepEvent } from '../migrate/steps.js';
import type { Pipeline } from '../fixtures/pipeline.js';
import type { ConnectorConfig } from '../pipeline/connect-client.js';
import { recordFinding } from '../report/findings.js';
import { attachJson } from '../report/step.js';
import { reconcileSessions, type SqlSession } from '../verify/reconcile/index.js';
import { AppClient, type AppClientSummary } from '../workload/app-client.js';
import { awaitConverged } from './replica-waits.js';

export const APP_TABLE = 'app_orders';
export const APP_KEY = 'order_id';

/** The application's table on the source only (keys from a sequence), `seedRows` rows; none of it (nor the marker table) on the target. */
export async function createAppTable(source: SqlSession, target: SqlSession, seedRows: number): Promise<void> {
  for (const side of [source, target]) await side.query(`DROP TABLE IF EXISTS ${APP_TABLE}, ${MARKER_TABLE}`);
  await source.query(`CREATE TABLE ${APP_TABLE} (${APP_KEY} bigserial PRIMARY KEY, customer text NOT NULL, amount numeric(10,2) NOT NULL, note text)`);
  await ensureMarkerTable(source);
  await source.query(`INSERT INTO ${APP_TABLE} (customer, amount, note) SELECT 'seed ' || g, g % 1000, 'seeded' FROM generate_series(1, ${seedRows}) g`);
}

/** The application's table, fresh on both sides: created on the source with `seedRows` rows, schema copied to the target. */
export async function prepareAppTable(source: SqlSession, target: SqlSession, endpoints: StackEndpoints, tools: PostgresTools, seedRows: number): Promise<{ dumpSeconds: number; targetSequence: string | null }> {
  await createAppTable(source, target, seedRows);
  // Copy the schema (not the data: the snapshot brings it), as Create Target Database does.
  const copied = await copySchema(endpoints.source, endpoints.target, { pgDump: tools.pgDump, psql: tools.psql, tables: [APP_TABLE, MARKER_TABLE], limitMs: 60_000 });
  const [seq] = await target.query(`SELECT last_value::text AS v FROM pg_sequences WHERE sequencename = $1`, [`${APP_TABLE}_${APP_KEY}_seq`]);
  return { dumpSeconds: copied.seconds, targetSequence: seq?.v ?? null };
}

export function sides(endpoints: StackEndpoints, source: SqlSession, target: SqlSession): { source: MigrationSide; target: MigrationSide } {
  return {
    source: { session: source, server: { host: endpoints.source.host, port: endpoints.source.port, database: endpoints.source.database } },
    target: { session: target, server: { host: endpoints.target.host, port: endpoints.target.port, database: endpoints.target.database } },
  };
}

export function poolerAdmin(endpoints: StackEndpoints): PoolerAdmin {
  return new PoolerAdmin(requirePooler(endpoints));
}

/** The cutover's inputs for this stack, with an event log the scenario can attach. */
export function cutoverInputs(
  endpoints: StackEndpoints,
  source: SqlSession,
  target: SqlSession,
  connect: ConnectClient,
  forwardSink: string,
  events: StepEvent[],
  forwardSource?: string,
): Pick<CutoverInputs, 'source' | 'target' | 'pooler' | 'appRole' | 'connect' | 'kafkaBootstrap' | 'forwardSink' | 'forwardSource' | 'tables' | 'endpoints' | 'record'> {
  return {
    ...sides(endpoints, source, target),
    pooler: poolerAdmin(endpoints),
    appRole: requirePooler(endpoints).appRole,
    connect,
    kafkaBootstrap: endpoints.kafka.bootstrap,
    forwardSink,
    ...(forwardSource ? { forwardSource } : {}),
    tables: [APP_TABLE],
    endpoints,
    record: (e) => void events.push({ ...e, detail: { ...e.detail, at: new Date().toISOString() } }),
  };
}

/** Puts the stack back for the next test: pooler on the source and resumed, both sides unfenced, reverse pipeline gone. */
export async function restoreStack(endpoints: StackEndpoints, source: SqlSession, target: SqlSession, connect: ConnectClient, reverse?: ReversePipeline): Promise<void> {
  const pooler = poolerAdmin(endpoints);
  const { source: s, target: t } = sides(endpoints, source, target);
  const role = requirePooler(endpoints).appRole;
  await unfenceRole(source, role, s.server.database);
  await unfenceRole(target, role, t.server.database);
  const at = await pooler.server();
  if (at.port !== s.server.port) await pooler.pointAt(s.server);
  if ((await pooler.databaseRow()).paused === '1') await pooler.resume();
  if (reverse) await removeReversePipeline(reverse, connect, target, endpoints.kafka.bootstrap);
}

/** Waits until the client has `n` writes acknowledged by `database` that ended at or after `since`; returns how many. */
export async function awaitAcknowledged(client: AppClient, database: string, n: number, limitMs: number, since = 0): Promise<number> {
  return pollUntil({ what: `${n} writes acknowledged by ${database} through the pooler`, limitMs, intervalMs: 100 }, async () => {
    const acked = client.acknowledged().filter((w) => w.database === database && w.at >= since).length;
    const failed = client.log.filter((r) => r.outcome !== 'ok' && r.start >= since).length;
    return { done: acked >= n, seen: `${acked} acknowledged by ${database}, ${failed} failed requests`, value: acked };
  });
}

/** What the application writes into its table: every column but the key (the key comes from the table's sequence). */
export const appShape = (n: number): Record<string, string> => ({ customer: `c${n % 50}`, amount: `${n % 1000}.25`, note: `write ${n}` });

export interface StartedApplication {
  client: AppClient;
  copied: { dumpSeconds: number; targetSequence: string | null };
  snapshot: { converged: boolean; seconds: number; report: Awaited<ReturnType<typeof reconcileSessions>> };
  /** The port the pooler pointed at before the client started (the source's, on a fresh stack). */
  poolerPort: number;
  /** Writes the source acknowledged before this returned. */
  acknowledgedOnSource: number;
}

/**
 * A migration ready for its cutover, with the application on it: the application's table on the source (`seedRows`
 * rows) and its schema on the target, the forward pipeline deployed (`sourceConfig` added to the source connector's
 * settings), the snapshot converged, then the client writing and reading through the pooler until the source has
 * acknowledged `writes` of its writes. Returns observations; the scenario asserts them.
 */
export async function startApplication(
  ctx: { endpoints: StackEndpoints; source: SqlSession; target: SqlSession; pipeline: Pipeline; pgTools: PostgresTools },
  options: { seedRows: number; writes: number; limitMs: number; sourceConfig?: ConnectorConfig },
): Promise<StartedApplication> {
  const { endpoints, source, target, pipeline, pgTools } = ctx;
  const copied = await prepareAppTable(source, target, endpoints, pgTools, options.seedRows);
  await pipeline.deploy({ tables: [APP_TABLE, MARKER_TABLE], source: options.sourceConfig });
  const snapshot = await awaitConverged(source, target, [{ table: APP_TABLE }], options.limitMs);
  await attachJson('schema copied with pg_dump --schema-only; snapshot', { ...copied, snapshotSeconds: snapshot.seconds, converged: snapshot.converged });
  const poolerPort = (await poolerAdmin(endpoints).server()).port;
  const client = AppClient.start({ url: requirePooler(endpoints).url, table: APP_TABLE, keyColumn: APP_KEY, shape: appShape });
  const acknowledgedOnSource = snapshot.converged ? await awaitAcknowledged(client, endpoints.source.database, options.writes, options.limitMs) : 0;
  return { client, copied, snapshot, poolerPort, acknowledgedOnSource };
}

/** Stops the client (if still running), attaches its summary, and records a reconnect as a finding. */
export async function stopApplication(client: AppClient, label: string): Promise<AppClientSummary> {
  const summary = await client.stop();
  await attachJson(`application client (${label})`, { ...summary, failures: client.log.filter((r) => r.outcome !== 'ok').slice(0, 20) });
  if (summary.reconnects > 0) await recordFinding('retry', 'application client reconnected', `${summary.reconnects} reconnects through the pooler during ${label}`);
  return summary;
}

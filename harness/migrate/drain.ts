/**
 * Drained: a marker row written on the origin after the fence has reached the destination, and the sink's consumer
 * group has nothing left to read. The marker table is part of every pipeline a cutover drains (it must be in the
 * source connector's table list); the harness writes it as its own role, which no fence touches.
 */
import { randomBytes } from 'node:crypto';
import { pollUntil } from '../core/poll.js';
import { summariseState, type ConnectClient } from '../pipeline/connect-client.js';
import { consumerGroupLag, sinkGroupId } from '../pipeline/kafka-admin.js';
import type { SqlSession } from '../verify/reconcile/index.js';

export const MARKER_TABLE = 'rh_drain_marker';

export async function ensureMarkerTable(session: SqlSession): Promise<void> {
  await session.query(`CREATE TABLE IF NOT EXISTS ${MARKER_TABLE} (marker_id text PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())`);
}

export interface DrainObservation {
  marker: string;
  markerSeconds: number;
  lagSeconds: number;
  sinkLag: number;
}

/** How often the drain asks Connect whether a connector of the pipeline has FAILED (a marker it never carries). */
const CONNECTOR_CHECK_MS = 1_000;

export async function awaitDrained(options: {
  origin: SqlSession;
  destination: SqlSession;
  kafkaBootstrap: string;
  sinkConnector: string;
  limitMs: number;
  /** The pipeline's connectors: one FAILED ends the drain at once (the marker would never arrive). */
  watch?: { connect: ConnectClient; connectors: string[] };
}): Promise<DrainObservation> {
  const started = Date.now();
  const marker = `drain-${randomBytes(6).toString('hex')}`;
  await options.origin.query(`INSERT INTO ${MARKER_TABLE} (marker_id) VALUES ($1)`, [marker]);
  let checked = 0;
  await pollUntil({ what: `drain marker ${marker} to reach ${options.destination.endpoint}`, limitMs: options.limitMs, intervalMs: 100 }, async () => {
    const rows = await options.destination.query(`SELECT 1 AS found FROM ${MARKER_TABLE} WHERE marker_id = $1`, [marker]);
    if (rows.length === 1) return { done: true, seen: 'marker there' };
    if (options.watch && Date.now() - checked >= CONNECTOR_CHECK_MS) {
      checked = Date.now();
      for (const name of options.watch.connectors) {
        const status = await options.watch.connect.getConnectorStatus(name);
        if (summariseState(status) === 'FAILED') {
          const trace = (status.connector.trace ?? status.tasks.find((t) => t.trace)?.trace ?? '').split('\n')[0];
          return { done: false, seen: `${name} FAILED`, abort: new Error(`connector ${name} FAILED during the drain, so the marker cannot arrive: ${trace}`) };
        }
      }
    }
    return { done: false, seen: 'marker not there yet' };
  });
  const markerSeconds = (Date.now() - started) / 1000;
  const group = sinkGroupId(options.sinkConnector);
  const lag = await pollUntil({ what: `sink group ${group} to have nothing left to read`, limitMs: Math.max(1000, options.limitMs - (Date.now() - started)), intervalMs: 200 }, async () => {
    const l = await consumerGroupLag(options.kafkaBootstrap, group);
    return { done: l.total === 0, seen: `lag ${l.total}`, value: l.total };
  });
  return { marker, markerSeconds, lagSeconds: (Date.now() - started) / 1000, sinkLag: lag };
}

/** PostgreSQL logical replication slots: WAL bytes each slot holds back and has not yet confirmed. */
import type { SqlSession } from '../reconcile/sql-session.js';

export interface SlotLag {
  slot: string;
  plugin: string | null;
  active: boolean;
  /** WAL between the current position and restart_lsn: what the slot keeps on disk. */
  retainedBytes: number;
  /** WAL between the current position and confirmed_flush_lsn: changes the consumer has not confirmed. */
  unconfirmedBytes: number;
  walStatus: string | null;
}

/** All logical slots (or one by name). Only for a PostgreSQL source; SQL Server has no slots (CDC tables instead). */
export async function replicationSlotLag(source: SqlSession, slotName?: string): Promise<SlotLag[]> {
  if (source.dialect !== 'postgres') return [];
  const rows = await source.query(
    `SELECT slot_name, plugin, active::text AS active, wal_status,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS retained,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text AS unconfirmed
       FROM pg_replication_slots
      WHERE slot_type = 'logical' AND ($1::text IS NULL OR slot_name = $1)
      ORDER BY slot_name`,
    [slotName ?? null],
  );
  return rows.map((r) => ({
    slot: r.slot_name!,
    plugin: r.plugin ?? null,
    active: r.active === 'true',
    retainedBytes: Number(r.retained ?? 0),
    unconfirmedBytes: Number(r.unconfirmed ?? 0),
    walStatus: r.wal_status ?? null,
  }));
}

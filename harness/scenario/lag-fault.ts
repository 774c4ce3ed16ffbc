/**
 * A replication-lag fault on both ends of the pipeline at once, with Toxiproxy: the WAL stream from the source to
 * Connect (source-db hop, towards Connect) and the sink's writes into the target (target-db hop, towards the
 * database) are each capped below what the background workload produces. The slot then holds WAL back (the source
 * connector reads behind the writes), the sink's consumer group falls behind (the sink applies slower than records
 * arrive) and the heartbeat lag grows past the SLO: every lag figure of the runbook shows it. heal() removes both.
 */
import { type Fault, type NetworkFaults } from '../faults/network.js';

/** Bandwidth left on the source hop (KB/s): a fraction of the decoded stream of LAG_WRITES_PER_SECOND wide rows. */
export const SOURCE_HOP_KB_PER_SECOND = 8;
/** Bandwidth left on the target hop (KB/s): below what the source hop still lets through, so the sink falls behind too. */
export const TARGET_HOP_KB_PER_SECOND = 4;
/** The workload rate the fault is sized for. */
export const LAG_WRITES_PER_SECOND = 50;
/** Wide rows, so that the throttles bite: about 600 bytes of values per write. */
export const LAG_PAD = 'x'.repeat(180);

/** A customers row of the lag workload (the columns it owns). */
export function wideCustomerRow(n: number): Record<string, string> {
  return { name: `writer ${n} ${LAG_PAD}`, email_column: `w${n}@example.com ${LAG_PAD}`, customer_name: `writer ${n} ${LAG_PAD}` };
}

/** Injects the two throttles; the returned fault heals both (idempotent). */
export async function injectLagFault(network: NetworkFaults): Promise<Fault> {
  const sourceHop = await network.inject('source-db', 'bandwidth', { rate: SOURCE_HOP_KB_PER_SECOND }, 'downstream');
  let targetHop: Fault;
  try {
    targetHop = await network.inject('target-db', 'bandwidth', { rate: TARGET_HOP_KB_PER_SECOND }, 'upstream');
  } catch (e) {
    await sourceHop.heal();
    throw e;
  }
  let healed = false;
  return {
    description: `${sourceHop.description} and ${targetHop.description}`,
    async heal() {
      if (healed) return;
      await targetHop.heal();
      await sourceHop.heal();
      healed = true;
    },
  };
}

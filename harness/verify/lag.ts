/** Lag checks: heartbeat timeline (p50/p95/max), sink consumer-group lag, PostgreSQL slot lag; all return data. */
export {
  DEFAULT_HEARTBEAT_TABLE,
  ensureHeartbeatTable,
  heartbeatTablesExist,
  probeHeartbeat,
  sampleHeartbeatLag,
  startHeartbeatSampler,
  timelineOf,
  type HeartbeatOptions,
  type HeartbeatSample,
  type HeartbeatTimeline,
} from './lag/heartbeat-probe.js';
export { replicationSlotLag, type SlotLag } from './lag/slot-lag.js';
export { sinkConsumerLag, type ConsumerLag } from './lag/consumer-lag.js';
export { lagStats, percentile, type LagStats } from './lag/timeline-stats.js';

import { sloVerdict, NAMED_SLOS, type SloThreshold, type SloVerdict } from './slo.js';
import type { HeartbeatTimeline } from './lag/heartbeat-probe.js';

/**
 * The replication-lag SLO against a timeline's percentile (default p95). No samples never passes, and neither does a
 * timeline with a timed-out probe: its real lag is unknown (only a lower bound), so it cannot be shown to meet the SLO.
 */
export function lagSloVerdict(timeline: HeartbeatTimeline, threshold: SloThreshold = NAMED_SLOS.replicationLag, statistic: 'p50' | 'p95' | 'max' = 'p95'): SloVerdict {
  const detail = `heartbeat ${statistic} over ${timeline.count} samples${timeline.timeouts ? `, ${timeline.timeouts} timed out (lag unknown, at least the time waited)` : ''}`;
  const verdict = sloVerdict(threshold, timeline.count ? timeline[statistic] : Number.NaN, detail);
  return timeline.timeouts ? { ...verdict, pass: false } : verdict;
}

/**
 * The fixes `migrate init --apply-fixes` applied for what the schema assessment found (harness/migrate/schema-compat.ts),
 * recorded with the migration so that every later verb builds its connectors with them: `snapshot` (forward
 * pipeline), `cutover` (the SQL run at the switch, and the reverse pipeline, which meets the same schema from the
 * other side) and `rollback` (the source's own settings back). Pure: no database here.
 */
import type { ConnectorDefinition } from '../pipeline/connector-config.js';
import type { Remedy, SchemaFinding } from './schema-compat.js';
import { mergeRemedies } from './schema-compat.js';

export interface PipelineFixes {
  /** Source connector properties (list properties already comma-joined), for the forward and the reverse source. */
  sourceConnector: Record<string, string>;
  /** JDBC connection.url parameters of the forward and the reverse sink. */
  sinkUrlParameters: Record<string, string>;
  /** The connectors' publication is created by init WITH (publish_via_partition_root = true); the reverse one likewise. */
  publishViaPartitionRoot: boolean;
  /** Applied by init, before the schema copy (source) and after it (target): kept as the record of what ran. */
  sourceSql: string[];
  targetSql: string[];
  /** At cutover, before the application writes to the target. */
  cutoverTargetSql: string[];
  reverseSourceSql: string[];
  /** After a rollback has stopped the reverse sink. */
  rollbackSourceSql: string[];
}

export const NO_FIXES: PipelineFixes = { sourceConnector: {}, sinkUrlParameters: {}, publishViaPartitionRoot: false, sourceSql: [], targetSql: [], cutoverTargetSql: [], reverseSourceSql: [], rollbackSourceSql: [] };

export interface FixPlan {
  fixes: PipelineFixes;
  /** Error findings no automatic fix covers (or whose fix is to leave the table out): init refuses while any remain. */
  unfixable: SchemaFinding[];
}

/** The fixes for the findings of the migrated objects; what they cannot fix is returned, not dropped. */
export function planFixes(findings: SchemaFinding[]): FixPlan {
  const withRemedy = findings.filter((f): f is SchemaFinding & { remedy: Remedy } => f.remedy !== undefined && !(f.remedy.moveByHand?.length));
  const unfixable = findings.filter((f) => f.severity === 'error' && !withRemedy.includes(f as SchemaFinding & { remedy: Remedy }));
  const plan = mergeRemedies(withRemedy);
  const sourceConnector = { ...plan.sourceConnector };
  for (const [key, values] of Object.entries(plan.sourceConnectorLists)) sourceConnector[key] = values.join(',');
  return {
    fixes: {
      sourceConnector,
      sinkUrlParameters: plan.sinkUrlParameters,
      publishViaPartitionRoot: plan.publishViaPartitionRoot,
      sourceSql: plan.sourceSql,
      targetSql: plan.targetSql,
      cutoverTargetSql: plan.cutoverTargetSql,
      reverseSourceSql: plan.reverseSourceSql,
      rollbackSourceSql: plan.rollbackSourceSql,
    },
    unfixable,
  };
}

/** A JDBC URL with the fixes' parameters added (space as %20: the sink passes `options` to the server as is). */
export function withUrlParameters(jdbcUrl: string, parameters: Record<string, string>): string {
  const query = new URLSearchParams(parameters).toString().replace(/\+/g, '%20');
  if (!query) return jdbcUrl;
  return `${jdbcUrl}${jdbcUrl.includes('?') ? '&' : '?'}${query}`;
}

/** The source and sink definitions with the fixes applied (new objects; the inputs are left as they were). */
export function applyConnectorFixes(connectors: { source: ConnectorDefinition; sink: ConnectorDefinition }, fixes: PipelineFixes | undefined): { source: ConnectorDefinition; sink: ConnectorDefinition } {
  if (!fixes) return connectors;
  const { source, sink } = connectors;
  return {
    source: { ...source, config: { ...source.config, ...fixes.sourceConnector } },
    sink: { ...sink, config: { ...sink.config, 'connection.url': withUrlParameters(sink.config['connection.url']!, fixes.sinkUrlParameters) } },
  };
}

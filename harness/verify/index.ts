/** What scenarios and fixtures use from verify/: every check returns data; only scenarios assert. */
export * from './reconcile/index.js';
export * from './lag.js';
export { diffSchemas, diffTableSchema, normalizeDefault, type SchemaDiff, type SchemaDiffOptions, type SchemaFinding } from './schema-diff.js';
export { SQLSERVER_TO_POSTGRES } from './schema-type-map.js';
export { consistencyPercent, describeVerdict, NAMED_SLOS, sloVerdict, type SloComparator, type SloThreshold, type SloVerdict } from './slo.js';
export { redactUrl } from '../core/redaction.js';

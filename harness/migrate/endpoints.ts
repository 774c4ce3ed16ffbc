/**
 * Where `migrate` finds the systems it works on. Each URL comes from its flag, else its environment variable, else
 * the stack `runbook-harness up` started (its state file). Pure, so the precedence is unit-tested.
 *
 * Connect may reach the databases and Kafka by other addresses than this machine does (on the embedded stack it
 * goes through the Toxiproxy hops): connectView holds those. For a stack's own URLs they come from the stack; for
 * URLs given by flag or env they are the URLs' host:port unless --connect-source / --connect-target /
 * --connect-kafka say otherwise.
 */
import { HarnessError } from '../core/errors.js';
import type { DatabaseEndpoint, StackEndpoints } from '../env/stack.js';
import type { PoolerEndpoint, PostgresTools } from '../env/stack.js';

export interface EndpointFlags {
  'source-url'?: string;
  'target-url'?: string;
  'connect-url'?: string;
  'kafka-bootstrap'?: string;
  'control-url'?: string;
  'connect-source'?: string;
  'connect-target'?: string;
  'connect-kafka'?: string;
  'pooler-url'?: string;
  'pooler-admin-url'?: string;
  'pooler-databases-file'?: string;
}

/** Environment variables, named as the runbook's "How to Read the Code Blocks" names the exported URLs. */
export const ENDPOINT_ENV = {
  source: 'SOURCE_URL',
  target: 'TARGET_URL',
  connect: 'CONNECT_URL',
  kafka: 'KAFKA_BOOTSTRAP',
  control: 'MIGRATE_CONTROL_URL',
  pooler: 'POOLER_URL',
  poolerAdmin: 'POOLER_ADMIN_URL',
  poolerDatabasesFile: 'POOLER_DATABASES_FILE',
} as const;

/**
 * The application endpoint (PgBouncer) a cutover pauses, switches and resumes: its client URL (database = the
 * pooler's database name, user = the application role the cutover fences), its admin console, and the file holding
 * its [databases] entry (rewritten by the switch before RELOAD).
 */
export interface MigratePooler {
  url: string;
  adminUrl: string;
  database: string;
  appRole: string;
  databasesFile: string;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface MigrateEndpoints {
  source: DatabaseEndpoint;
  target: DatabaseEndpoint;
  connectUrl: string;
  /** Direct bootstrap for the harness's own admin reads; undefined when none was given (only `lag` needs it). */
  kafkaBootstrap?: string;
  /** The control database (default: the target database). */
  controlUrl: string;
  connectView: { source: HostPort; target: HostPort; kafkaBootstrap: string };
  /** Where each value came from, for `status` and error messages. */
  origin: Record<'source' | 'target' | 'connect' | 'kafka' | 'control', 'flag' | 'env' | 'stack' | 'target' | 'none'>;
  /** pg_dump / psql of the stack (undefined outside a stack: PATH is used). */
  tools?: PostgresTools;
  /** The pooler, when one was given or the stack has one; `cutover` and `rollback` need it (requirePoolerEndpoint). */
  pooler?: MigratePooler;
  /** Why there is no pooler (the one-line error requirePoolerEndpoint throws). */
  poolerMissing?: string;
}

/** Parses a postgres:// URL into the fields the connector templates need; one-line error naming the flag. */
export function databaseEndpoint(url: string, what: string): DatabaseEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HarnessError(`${what} '${url.replace(/\/\/[^@/]*@/, '//***@')}' is not a URL; give postgres://user:password@host:port/database`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new HarnessError(`${what} must be a postgres:// URL (migrate moves PostgreSQL to PostgreSQL), got ${parsed.protocol}//…`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database || !parsed.hostname) throw new HarnessError(`${what} needs a host and a database: postgres://user:password@host:port/database`);
  return {
    dialect: 'postgres',
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 5432,
    database,
    user: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
    url,
  };
}

export function parseHostPort(text: string, what: string): HostPort {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text.trim());
  if (!m || Number(m[2]) > 65535) throw new HarnessError(`${what} must be HOST:PORT, got '${text}'`);
  return { host: m[1]!, port: Number(m[2]) };
}

/**
 * flag > env > stack for each of source, target, Connect and Kafka; the control database defaults to the target.
 * A missing source, target or Connect URL is a one-line error naming the three ways to give it.
 */
export function resolveEndpoints(flags: EndpointFlags, env: Record<string, string | undefined>, stack: { endpoints: StackEndpoints; tools?: PostgresTools } | undefined): MigrateEndpoints {
  const pick = (flag: keyof EndpointFlags, envName: string, fromStack: string | undefined): [string | undefined, 'flag' | 'env' | 'stack' | 'none'] => {
    if (flags[flag]) return [flags[flag], 'flag'];
    if (env[envName]) return [env[envName], 'env'];
    if (fromStack) return [fromStack, 'stack'];
    return [undefined, 'none'];
  };
  const need = (value: string | undefined, flag: string, envName: string): string => {
    if (value) return value;
    throw new HarnessError(`no ${flag.replace(/-url$/, '')} URL: pass --${flag}, set ${envName}, or start a stack with 'runbook-harness up'`);
  };
  const s = stack?.endpoints;
  const [sourceUrl, sourceOrigin] = pick('source-url', ENDPOINT_ENV.source, s?.source.url);
  const [targetUrl, targetOrigin] = pick('target-url', ENDPOINT_ENV.target, s?.target.url);
  const [connectUrl, connectOrigin] = pick('connect-url', ENDPOINT_ENV.connect, s?.connect.url);
  const [kafka, kafkaOrigin] = pick('kafka-bootstrap', ENDPOINT_ENV.kafka, s?.kafka.bootstrap);
  const [controlFlag, controlOrigin] = pick('control-url', ENDPOINT_ENV.control, undefined);
  const source = databaseEndpoint(need(sourceUrl, 'source-url', ENDPOINT_ENV.source), 'the source URL');
  const target = databaseEndpoint(need(targetUrl, 'target-url', ENDPOINT_ENV.target), 'the target URL');
  const connect = need(connectUrl, 'connect-url', ENDPOINT_ENV.connect);
  if (!/^https?:\/\/[^/]+/.test(connect)) throw new HarnessError(`the Kafka Connect URL must be http(s)://host:port, got '${connect}'`);
  const controlUrl = controlFlag ?? target.url;
  if (controlFlag) databaseEndpoint(controlFlag, 'the control URL');

  // The stack's connect view applies only to the stack's own addresses.
  const sameAsStack = (url: string, stackUrl: string | undefined) => stackUrl !== undefined && url === stackUrl;
  const view = (flag: 'connect-source' | 'connect-target', db: DatabaseEndpoint, stackView: HostPort | undefined): HostPort =>
    flags[flag] ? parseHostPort(flags[flag]!, `--${flag}`) : stackView ?? { host: db.host, port: db.port };
  const connectView = {
    source: view('connect-source', source, sameAsStack(source.url, s?.source.url) ? s?.connectView.source : undefined),
    target: view('connect-target', target, sameAsStack(target.url, s?.target.url) ? s?.connectView.target : undefined),
    kafkaBootstrap: flags['connect-kafka'] ?? (kafka && kafka === s?.kafka.bootstrap ? s.connectView.kafkaBootstrap : kafka) ?? '',
  };
  const { pooler, missing: poolerMissing } = resolvePooler(flags, env, s?.pooler);
  const usesStackDb = sameAsStack(source.url, s?.source.url) || sameAsStack(target.url, s?.target.url);
  return {
    source,
    target,
    connectUrl: connect.replace(/\/+$/, ''),
    kafkaBootstrap: kafka,
    controlUrl,
    connectView,
    origin: { source: sourceOrigin, target: targetOrigin, connect: connectOrigin, kafka: kafkaOrigin, control: controlFlag ? controlOrigin : 'target' },
    tools: usesStackDb ? stack?.tools : undefined,
    ...(pooler ? { pooler } : { poolerMissing }),
  };
}

const POOLER_REMEDY = `pass --pooler-url and --pooler-admin-url (or set ${ENDPOINT_ENV.pooler}, ${ENDPOINT_ENV.poolerAdmin}), or start a stack with a pooler ('runbook-harness up')`;

/**
 * flag > env > stack, as for the other URLs; the URL and the admin URL come from the same place or the stack's
 * databases file is not theirs. The stack's databases file goes with the stack's own pooler only.
 */
export function resolvePooler(flags: EndpointFlags, env: Record<string, string | undefined>, stackPooler: PoolerEndpoint | undefined): { pooler?: MigratePooler; missing?: string } {
  const url = flags['pooler-url'] ?? env[ENDPOINT_ENV.pooler];
  const adminUrl = flags['pooler-admin-url'] ?? env[ENDPOINT_ENV.poolerAdmin];
  const file = flags['pooler-databases-file'] ?? env[ENDPOINT_ENV.poolerDatabasesFile];
  if (!url && !adminUrl) {
    if (!stackPooler) return { missing: `no pooler (the application endpoint a cutover switches): ${POOLER_REMEDY}` };
    const { url: u, adminUrl: a, database, appRole, databasesFile } = stackPooler;
    return { pooler: { url: u, adminUrl: a, database, appRole, databasesFile: file ?? databasesFile } };
  }
  if (!url) return { missing: `the pooler admin URL (--pooler-admin-url or ${ENDPOINT_ENV.poolerAdmin}) was given without the pooler URL (--pooler-url or ${ENDPOINT_ENV.pooler}): give both` };
  // The application's own POOLER_URL for the stack's pooler needs no admin URL: the stack has it.
  if (!adminUrl && stackPooler && url === stackPooler.url) return resolvePooler({ 'pooler-databases-file': file }, {}, stackPooler);
  if (!adminUrl) return { missing: `the pooler URL (--pooler-url or ${ENDPOINT_ENV.pooler}) was given without its admin URL (--pooler-admin-url or ${ENDPOINT_ENV.poolerAdmin}): give both` };
  const app = databaseEndpoint(url, 'the pooler URL (--pooler-url)');
  databaseEndpoint(adminUrl, 'the pooler admin URL (--pooler-admin-url)');
  const databasesFile = file ?? (stackPooler && stackPooler.adminUrl === adminUrl ? stackPooler.databasesFile : undefined);
  if (!databasesFile) return { missing: `the pooler at --pooler-url has no databases file: pass --pooler-databases-file FILE (or ${ENDPOINT_ENV.poolerDatabasesFile}), the file holding its [databases] entry, which the switch rewrites before RELOAD` };
  return { pooler: { url, adminUrl, database: app.database, appRole: app.user, databasesFile } };
}

/** The pooler, or the one-line error naming the flags that give it. */
export function requirePoolerEndpoint(endpoints: MigrateEndpoints): MigratePooler {
  if (endpoints.pooler) return endpoints.pooler;
  throw new HarnessError(endpoints.poolerMissing ?? `no pooler: ${POOLER_REMEDY}`);
}

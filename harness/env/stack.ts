/**
 * The one interface both environments implement (local embedded processes, or testcontainers).
 * Scenarios see only this; they never import env/local or env/containers.
 */
export type Dialect = 'postgres' | 'sqlserver';
export type EnvironmentName = 'local' | 'containers';

/** Hops Connect uses, each through its own Toxiproxy proxy. The harness's own clients bypass them. */
export const HOPS = ['source-db', 'kafka', 'target-db'] as const;
export type Hop = (typeof HOPS)[number];

export const COMPONENTS = ['source-db', 'target-db', 'kafka', 'connect', 'toxiproxy', 'pooler'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

export interface DatabaseEndpoint {
  dialect: Dialect;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** postgres://user:password@127.0.0.1:port/db (or mssql://… for SQL Server): the direct address. */
  url: string;
}

export interface ProxyEndpoint {
  /** host:port Connect dials (the proxy). */
  listen: string;
  /** host:port the proxy forwards to (the real service). */
  upstream: string;
}

/** Everything a client needs to reach a running stack; serialisable, so another process can attach. */
export interface StackEndpoints {
  env: EnvironmentName;
  source: DatabaseEndpoint;
  target: DatabaseEndpoint;
  /** Direct bootstrap for the harness's own admin/consumers (bypasses Toxiproxy). */
  kafka: { bootstrap: string };
  connect: { url: string };
  toxiproxy: { url: string; proxies: Record<Hop, ProxyEndpoint> };
  /** How Connect reaches each database: through the proxies, as a JDBC URL host:port. */
  connectView: { source: { host: string; port: number }; target: { host: string; port: number }; kafkaBootstrap: string };
  /** The application endpoint (PgBouncer): absent on a stack without a pooler. */
  pooler?: PoolerEndpoint;
}

/**
 * The application endpoint: a PgBouncer in transaction pooling mode. Clients connect to `url` (database `database`,
 * role `appRole`); `adminUrl` is its admin console; `databasesFile` holds its [databases] entry, which a cutover
 * rewrites before RELOAD. It points at the source first.
 */
export interface PoolerEndpoint {
  url: string;
  adminUrl: string;
  /** The pooler's database name (what clients put in their URL). */
  database: string;
  /** The application's role on both servers (the one a cutover fences). */
  appRole: string;
  appPassword: string;
  databasesFile: string;
}

export interface ComponentControl {
  readonly name: ComponentName;
  /** Graceful stop (SIGTERM), waits until the process has exited. */
  stop(): Promise<void>;
  /** Start again after stop/kill, waits until healthy. */
  start(): Promise<void>;
  /** SIGKILL, waits until the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the process is frozen, sockets stay open. */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): Promise<void>;
  isRunning(): Promise<boolean>;
}

/** PostgreSQL client programs that can talk to the stack's servers (pg_dump must not be older than them). */
export interface PostgresTools {
  pgDump: string;
  pgRestore: string;
  psql: string;
}

export interface StartedStack extends AsyncDisposable {
  readonly endpoints: StackEndpoints;
  readonly postgresTools: PostgresTools;
  component(name: ComponentName): ComponentControl;
  /** Stop every component and remove the stack's data. Idempotent. */
  stop(): Promise<void>;
  /** Kill everything and remove the data synchronously: for signal handlers, where nothing async may run. */
  abort(): void;
}

export interface Stack {
  start(): Promise<StartedStack>;
}

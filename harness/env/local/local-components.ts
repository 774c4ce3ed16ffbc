/**
 * Start/stop/kill/pause of one local component from any process that can read the state file.
 * The pid in the state file is updated on restart, so the stack's owner always stops the live process.
 */
import { Kafka, logLevel } from 'kafkajs';
import { pollUntil } from '../../core/poll.js';
import type { ComponentControl, ComponentName, StackEndpoints } from '../stack.js';
import { readStackState, writeStackState, type ProcessRecord, type StackState } from '../state.js';
import { splitAddress, portAnswers } from './ports.js';
import { awaitPostgres } from './postgres-process.js';
import { awaitPooler } from './pooler-process.js';
import { isAlive, launch, logTail, signalGroup, terminate, awaitExit } from './process-supervisor.js';
import { createProxies } from './proxies.js';

export const START_LIMIT_MS: Record<ComponentName, number> = {
  'source-db': 30_000,
  'target-db': 30_000,
  kafka: 60_000,
  connect: 120_000,
  toxiproxy: 15_000,
  pooler: 15_000,
};

/** The Debezium classes Connect must have loaded before the stack counts as healthy. */
export const REQUIRED_PLUGINS = [
  'io.debezium.connector.postgresql.PostgresConnector',
  'io.debezium.connector.sqlserver.SqlServerConnector',
  'io.debezium.connector.jdbc.JdbcSinkConnector',
];

/** Waits until a freshly launched component answers as its clients need it to. */
export async function awaitHealthy(name: ComponentName, record: ProcessRecord, endpoints: StackEndpoints, limitMs = START_LIMIT_MS[name]): Promise<void> {
  const exited = () => (isAlive(record.pid) ? undefined : `process exited; log: ${logTail(record.logFile)}`);
  switch (name) {
    case 'source-db':
    case 'target-db': {
      const db = name === 'source-db' ? endpoints.source : endpoints.target;
      await awaitPostgres({ name, dataDir: '', port: db.port, user: db.user, password: db.password, database: db.database, binaries: { postgres: '', initdb: '' } }, record, limitMs);
      return;
    }
    case 'kafka': {
      const kafka = new Kafka({ clientId: 'runbook-harness-health', brokers: [endpoints.kafka.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
      await pollUntil({ what: `Kafka on ${endpoints.kafka.bootstrap} to answer metadata requests`, limitMs, intervalMs: 250 }, async () => {
        const dead = exited();
        if (dead) return { done: false, seen: dead, abort: new Error(`${name}: ${dead}`) };
        if (!(await portAnswers(endpoints.kafka.bootstrap))) return { done: false, seen: `port closed; log: ${logTail(record.logFile, 1)}` };
        const admin = kafka.admin();
        try {
          await admin.connect();
          await admin.listTopics();
          return { done: true, seen: 'ready' };
        } finally {
          await admin.disconnect();
        }
      });
      return;
    }
    case 'connect': {
      await pollUntil({ what: `Kafka Connect at ${endpoints.connect.url} to list the Debezium plugins`, limitMs, intervalMs: 500 }, async () => {
        const dead = exited();
        if (dead) return { done: false, seen: dead, abort: new Error(`${name}: ${dead}`) };
        const response = await fetch(`${endpoints.connect.url}/connector-plugins?connectorsOnly=true`, { signal: AbortSignal.timeout(2000) });
        if (!response.ok) return { done: false, seen: `HTTP ${response.status}` };
        const classes = ((await response.json()) as { class: string }[]).map((p) => p.class);
        const missing = REQUIRED_PLUGINS.filter((c) => !classes.includes(c));
        return { done: missing.length === 0, seen: `plugins loaded: ${classes.length}, missing: ${missing.join(', ')}` };
      });
      return;
    }
    case 'pooler': {
      if (!endpoints.pooler) throw new Error('pooler: the stack has no pooler endpoint');
      await awaitPooler(endpoints.pooler, record, limitMs);
      return;
    }
    case 'toxiproxy': {
      await pollUntil({ what: `Toxiproxy API at ${endpoints.toxiproxy.url}`, limitMs, intervalMs: 100 }, async () => {
        const dead = exited();
        if (dead) return { done: false, seen: dead, abort: new Error(`${name}: ${dead}`) };
        const response = await fetch(`${endpoints.toxiproxy.url}/version`, { signal: AbortSignal.timeout(1000) });
        return { done: response.ok, seen: `HTTP ${response.status}` };
      });
      return;
    }
  }
}

export class LocalComponent implements ComponentControl {
  constructor(
    readonly name: ComponentName,
    private readonly stateDir: string,
  ) {}

  private state(): StackState {
    const state = readStackState(this.stateDir);
    if (!state) throw new Error(`no stack state in ${this.stateDir}: the stack is not running`);
    return state;
  }

  private record(): ProcessRecord {
    const record = this.state().processes[this.name];
    if (!record) throw new Error(`component ${this.name} was never launched`);
    return record;
  }

  async isRunning(): Promise<boolean> {
    return isAlive(this.record().pid);
  }

  async stop(): Promise<void> {
    await terminate(this.record(), this.name);
  }

  async kill(): Promise<void> {
    const record = this.record();
    signalGroup(record.pid, 'SIGKILL');
    await awaitExit(record, this.name, 10_000);
  }

  async pause(): Promise<void> {
    signalGroup(this.record().pid, 'SIGSTOP');
  }

  async resume(): Promise<void> {
    signalGroup(this.record().pid, 'SIGCONT');
  }

  async start(): Promise<void> {
    const state = this.state();
    const old = state.processes[this.name];
    if (!old) throw new Error(`component ${this.name} was never launched`);
    if (isAlive(old.pid)) return;
    const record = launch(old);
    state.processes[this.name] = record;
    writeStackState(state, this.stateDir);
    await awaitHealthy(this.name, record, state.endpoints);
    // Toxiproxy keeps its proxies in memory only.
    if (this.name === 'toxiproxy') await createProxies(state.endpoints);
  }
}

export function hostPort(address: string): { host: string; port: number } {
  const [host, port] = splitAddress(address);
  return { host, port };
}

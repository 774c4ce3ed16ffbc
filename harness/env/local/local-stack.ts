/**
 * The `local` environment: every component a real process on 127.0.0.1, no Docker.
 *
 *   new LocalStack().withStateDir(dir).detached().start()  →  StartedLocalStack
 *
 * Connect talks to the source DB, Kafka and the target DB only through Toxiproxy (one proxy per hop);
 * the harness's own clients use the direct addresses, so a fault on a hop never blinds the observer.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessError } from '../../core/errors.js';
import { ensureRuntime } from '../runtime/provision.js';
import type { ComponentControl, ComponentName, PostgresTools, StackEndpoints, StartedStack, Stack } from '../stack.js';
import { readStackState, removeStackState, stateDir as defaultStateDir, writeStackState, type StackState } from '../state.js';
import { prepareConnect } from './connect-process.js';
import { prepareKafka } from './kafka-process.js';
import { awaitHealthy, LocalComponent } from './local-components.js';
import { freePort } from './ports.js';
import { preparePostgres, postgresUrl } from './postgres-process.js';
import { isAlive, isOurs, launch, signalGroup, terminate } from './process-supervisor.js';
import { createProxies } from './proxies.js';
import { prepareToxiproxy } from './toxiproxy-process.js';
import { ensureAppRole, preparePooler } from './pooler-process.js';
import { requirePgbouncer } from '../runtime/tools.js';

export const SOURCE_DATABASE = 'warehouse_source';
export const TARGET_DATABASE = 'warehouse_target';
const DB_USER = 'postgres';
/** Stop order: consumers before what they consume from. */
const STOP_ORDER: ComponentName[] = ['pooler', 'connect', 'kafka', 'toxiproxy', 'source-db', 'target-db'];

function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

export class LocalStack implements Stack {
  private dir = defaultStateDir();
  private owner: 'session' | 'detached' = 'session';

  /** Where the state file goes (default ./.runbook-harness). */
  withStateDir(dir: string): this {
    this.dir = dir;
    return this;
  }

  /** The stack outlives this process (`runbook-harness up`); only `down` stops it. */
  detached(): this {
    this.owner = 'detached';
    return this;
  }

  async start(): Promise<StartedLocalStack> {
    await cleanUpOrphan(this.dir);
    const started = Date.now();
    const runtime = await ensureRuntime();
    const pgbouncer = requirePgbouncer();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'runbook-harness-'));
    chmodSync(dataDir, 0o755); // the postgres OS user must reach its data folder inside
    const [sourcePort, targetPort, kafkaDirect, kafkaProxied, controller, connectRest, toxiApi, pSource, pKafka, pTarget, poolerPort] = await Promise.all(
      Array.from({ length: 11 }, () => freePort()),
    );
    const sourcePassword = randomPassword();
    const targetPassword = randomPassword();
    const at = (port: number) => `127.0.0.1:${port}`;
    const endpoints: StackEndpoints = {
      env: 'local',
      source: { dialect: 'postgres', host: '127.0.0.1', port: sourcePort, database: SOURCE_DATABASE, user: DB_USER, password: sourcePassword, url: postgresUrl({ user: DB_USER, password: sourcePassword, port: sourcePort }, SOURCE_DATABASE) },
      target: { dialect: 'postgres', host: '127.0.0.1', port: targetPort, database: TARGET_DATABASE, user: DB_USER, password: targetPassword, url: postgresUrl({ user: DB_USER, password: targetPassword, port: targetPort }, TARGET_DATABASE) },
      kafka: { bootstrap: at(kafkaDirect) },
      connect: { url: `http://${at(connectRest)}` },
      toxiproxy: {
        url: `http://${at(toxiApi)}`,
        proxies: {
          'source-db': { listen: at(pSource), upstream: at(sourcePort) },
          kafka: { listen: at(pKafka), upstream: at(kafkaProxied) },
          'target-db': { listen: at(pTarget), upstream: at(targetPort) },
        },
      },
      connectView: { source: { host: '127.0.0.1', port: pSource }, target: { host: '127.0.0.1', port: pTarget }, kafkaBootstrap: at(pKafka) },
    };
    const state: StackState = { version: 1, ownerPid: this.owner === 'session' ? process.pid : 0, startedAt: new Date().toISOString(), dataDir, endpoints, processes: {}, tools: runtime.postgresClient };
    writeStackState(state, this.dir);
    const stack = new StartedLocalStack(this.dir);
    // Ctrl-C while starting (also for `up`): nothing half-started may be left behind.
    const onSignal = (signal: NodeJS.Signals) => {
      stack.abort();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const launchAndRecord = (name: ComponentName, spec: Parameters<typeof launch>[0]) => {
      const record = launch(spec);
      state.processes[name] = record;
      writeStackState(state, this.dir);
      return record;
    };
    try {
      const toxiproxy = launchAndRecord('toxiproxy', prepareToxiproxy(runtime, dataDir, toxiApi));
      const databases = (['source-db', 'target-db'] as const).map(async (name) => {
        const db = name === 'source-db' ? endpoints.source : endpoints.target;
        const spec = await preparePostgres({ name, dataDir: path.join(dataDir, name), port: db.port, user: db.user, password: db.password, database: db.database, binaries: runtime.postgresBin });
        await awaitHealthy(name, launchAndRecord(name, spec), endpoints);
      });
      const kafka = launchAndRecord('kafka', prepareKafka(runtime, { dataDir, directPort: kafkaDirect, proxiedPort: kafkaProxied, controllerPort: controller, proxiedAdvertised: at(pKafka) }));
      await awaitHealthy('toxiproxy', toxiproxy, endpoints);
      await createProxies(endpoints);
      await awaitHealthy('kafka', kafka, endpoints);
      const connect = launchAndRecord('connect', prepareConnect(runtime, { dataDir, restPort: connectRest, bootstrap: endpoints.connectView.kafkaBootstrap }));
      await Promise.all(databases);
      // The application endpoint, in front of the source; the application role exists on both servers.
      const pooler = preparePooler({ dataDir: path.join(dataDir, 'pooler'), port: poolerPort, pgbouncer, server: endpoints.source });
      for (const db of [endpoints.source, endpoints.target]) await ensureAppRole(db, pooler.endpoint.appPassword);
      endpoints.pooler = pooler.endpoint;
      await awaitHealthy('pooler', launchAndRecord('pooler', pooler.spec), endpoints);
      await awaitHealthy('connect', connect, endpoints);
    } catch (error) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const logs = await stack.teardown({ keepLogs: true });
      const reason = error instanceof Error ? error.message : String(error);
      throw new HarnessError(`the local stack did not start: ${reason} (component logs kept in ${logs})`, { cause: error });
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    state.startupSeconds = Math.round((Date.now() - started) / 100) / 10;
    writeStackState(state, this.dir);
    if (this.owner === 'session') stopOnExit(this.dir);
    return stack;
  }
}

/** A running local stack; also what another process gets by attaching to the state file. */
export class StartedLocalStack implements StartedStack {
  constructor(readonly stateDir: string) {}

  get state(): StackState {
    const state = readStackState(this.stateDir);
    if (!state) throw new HarnessError(`the stack in ${this.stateDir} is not running (no state file)`);
    return state;
  }

  get endpoints(): StackEndpoints {
    return this.state.endpoints;
  }

  get postgresTools(): PostgresTools {
    const tools = this.state.tools;
    if (!tools) throw new HarnessError(`the stack in ${this.stateDir} was started by an older runbook-harness without client tools; restart it`);
    return tools;
  }

  component(name: ComponentName): ComponentControl {
    return new LocalComponent(name, this.stateDir);
  }

  async stop(): Promise<void> {
    await this.teardown();
  }

  /** Stops every component and removes the data; with keepLogs, first copies the logs and returns where. */
  async teardown(options: { keepLogs?: boolean } = {}): Promise<string> {
    const state = readStackState(this.stateDir);
    if (!state) return '';
    for (const name of STOP_ORDER) {
      const record = state.processes[name];
      if (record && isOurs(record)) await terminate(record, name);
    }
    let kept = '';
    if (options.keepLogs) {
      kept = path.join(this.stateDir, 'failed-start-logs');
      rmSync(kept, { recursive: true, force: true });
      mkdirSync(kept, { recursive: true });
      for (const record of Object.values(state.processes)) cpSync(record.logFile, path.join(kept, path.basename(record.logFile)), { force: true });
    }
    rmSync(state.dataDir, { recursive: true, force: true });
    removeStackState(this.stateDir);
    return kept;
  }

  abort(): void {
    abortStack(this.stateDir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * A state file whose owner is gone (a runner killed with -9) is an orphan: stop its processes and
 * remove its data. A live stack is left alone and reported.
 */
export async function cleanUpOrphan(dir: string): Promise<'none' | 'cleaned'> {
  const state = readStackState(dir);
  if (!state) return 'none';
  const live = Object.values(state.processes).filter((r) => isAlive(r.pid) && isOurs(r));
  const ownerGone = state.ownerPid !== 0 && !isAlive(state.ownerPid);
  if (live.length > 0 && !ownerGone) {
    throw new HarnessError(
      `a stack is already running (started ${state.startedAt}${state.ownerPid ? ` by pid ${state.ownerPid}` : ''}, state ${path.join(dir, 'stack.json')}); stop it with 'runbook-harness down' first`,
    );
  }
  await new StartedLocalStack(dir).stop();
  return 'cleaned';
}

/** SIGKILL every process group of the stack, remove its data and state; synchronous. */
function abortStack(dir: string): void {
  const state = readStackState(dir);
  if (!state) return;
  for (const record of Object.values(state.processes)) if (isOurs(record)) signalGroup(record.pid, 'SIGKILL');
  rmSync(state.dataDir, { recursive: true, force: true });
  removeStackState(dir);
}

/** Last resort for a session-owned stack: if the owner exits without teardown, kill the groups. */
function stopOnExit(dir: string): void {
  process.once('exit', () => {
    if (readStackState(dir)?.ownerPid === process.pid) abortStack(dir);
  });
}

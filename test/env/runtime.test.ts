/** The provisioned runtime's programs run on this machine (not just exist on disk). */
import { describe, expect, test } from 'vitest';
import { runCommandSync } from '../../harness/core/subprocess.js';
import { ensureRuntime } from '../../harness/env/runtime/provision.js';

describe('provisioned runtime', () => {
  test('pg_dump, pg_restore and psql start and are at least the server major version (17)', async () => {
    const { postgresClient } = await ensureRuntime();
    for (const program of [postgresClient.pgDump, postgresClient.pgRestore, postgresClient.psql]) {
      const result = runCommandSync(program, ['--version'], { reject: false });
      expect(result.exitCode, result.failure).toBe(0);
      expect(Number(/(\d+)\.\d+/.exec(result.stdout)?.[1])).toBeGreaterThanOrEqual(17);
    }
  }, 600_000);

  test('toxiproxy-server starts', async () => {
    const { toxiproxyServer } = await ensureRuntime();
    const result = runCommandSync(toxiproxyServer, ['-version'], { reject: false });
    expect(result.exitCode, result.failure).toBe(0);
    // go install does not stamp the release into the binary; it reports 'version git'.
    expect(result.stdout + result.stderr).toMatch(/toxiproxy-server version/);
  }, 600_000);
});

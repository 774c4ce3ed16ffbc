import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { HarnessError } from '../../harness/core/errors.js';
import { registerSecrets } from '../../harness/core/redaction.js';
import { runCommand, runCommandSync, stderrAndWhy, SubprocessError } from '../../harness/core/subprocess.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rh-subprocess-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failing = ['-c', 'echo line1 >&2; echo line2 >&2; echo last words >&2; exit 3'];

describe('runCommand', () => {
  test('a program that does not exist: the error names it and says it could not start', async () => {
    const error = await runCommand('no-such-program-rh', ['--version']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubprocessError);
    expect(error).toBeInstanceOf(HarnessError);
    expect((error as Error).message).toBe("'no-such-program-rh --version' could not be started: not found (check the path or PATH)");
    expect(() => runCommandSync('no-such-program-rh', [])).toThrow(/^'no-such-program-rh' could not be started: not found/);
  });

  test('a non-zero exit: the error gives the code and the tail of stderr', async () => {
    const error = (await runCommand('bash', failing).catch((e: unknown) => e)) as SubprocessError;
    expect(error.message).toMatch(/^'bash -c .*' exited with code 3 after \d+\.\d s: line1 \| line2 \| last words$/);
    expect(error.result.exitCode).toBe(3);
    expect(() => runCommandSync('bash', failing)).toThrow(/exited with code 3 after .*: line1 \| line2 \| last words$/);
  });

  test('only the last lines of a long stderr reach the message', async () => {
    const error = (await runCommand('bash', ['-c', 'for i in $(seq 1 50); do echo "noise $i" >&2; done; exit 1']).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/: noise 46 \| noise 47 \| noise 48 \| noise 49 \| noise 50$/);
    expect(error.message).not.toContain('noise 45');
  });

  test('a killed program names the signal; one past its limit says so', async () => {
    await expect(runCommand('bash', ['-c', 'kill -TERM $$'])).rejects.toThrow(/was killed by SIGTERM/);
    await expect(runCommand('sleep', ['5'], { limitMs: 200 })).rejects.toThrow(/^'sleep 5' did not finish within 0 s and was killed$/);
  });

  test('passwords are masked in the command line and in the stderr tail', async () => {
    registerSecrets('registered-pw-42');
    const url = 'postgres://app:url-pw-17@127.0.0.1:1/db';
    const script = `echo "connecting to ${url} with registered-pw-42 and extra-pw-99" >&2; exit 2`;
    const error = (await runCommand('bash', ['-c', script, url], { secrets: ['extra-pw-99'] }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('exited with code 2');
    expect(error.message).toContain('postgres://app:***@127.0.0.1:1/db');
    for (const secret of ['url-pw-17', 'registered-pw-42', 'extra-pw-99']) expect(error.message).not.toContain(secret);
  });

  test('reject: false resolves with the exit code, output and the failure text', async () => {
    const r = await runCommand('bash', ['-c', 'echo out; echo err >&2; exit 4'], { reject: false });
    expect(r).toMatchObject({ exitCode: 4, stdout: 'out\n', stderr: 'err\n' });
    expect(r.failure).toMatch(/exited with code 4 .*: err$/);
    const ok = await runCommand('bash', ['-c', 'cat'], { input: 'hello' });
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'hello', failure: undefined });
    expect(stderrAndWhy(r)).toBe('err\n');
    const missing = await runCommand('no-such-program-rh', [], { reject: false });
    expect(missing.exitCode).toBeNull();
    expect(stderrAndWhy(missing)).toMatch(/could not be started/);
    expect(runCommandSync('bash', ['-n'], { input: 'if then', reject: false }).exitCode).not.toBe(0);
  });

  test('a log file gets both streams and the error points at it', async () => {
    const logFile = path.join(dir, 'run.log');
    const error = (await runCommand('bash', ['-c', 'echo to-stdout; echo to-stderr >&2; exit 5'], { output: { logFile } }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/exited with code 5 .*: to-stderr \(output in .*run\.log\)$/);
    expect(readFileSync(logFile, 'utf8')).toContain('to-stdout');
  });

  test('a log file that cannot be written does not hang the run and says why', async () => {
    const r = await runCommand('bash', ['-c', 'echo hi'], { output: { logFile: path.join(dir, 'missing-dir', 'run.log') } });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/cannot write the log .*missing-dir/);
  });
});

import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCommandSync } from '../../harness/core/subprocess.js';
import { HARNESS_COMMANDS } from '../../harness/runbook/lint/harness-commands.js';

/** The lint's table of harness options must never allow an option the real command rejects. */
describe('lint knows the real harness command lines', () => {
  const implemented = Object.keys(HARNESS_COMMANDS).filter((name) => existsSync(`harness/cli/commands/${name}.ts`));

  it('covers the commands implemented so far', () => {
    expect(implemented).toEqual(expect.arrayContaining(['coverage', 'lint']));
  });

  for (const name of implemented) {
    it(`runbook-harness ${name}`, () => {
      const help = runCommandSync(process.execPath, ['bin/runbook-harness.js', name, '--help']);
      expect(help.exitCode).toBe(0);
      const real = new Set(help.stdout.match(/--[a-z][a-z-]*/g) ?? []);
      const spec = HARNESS_COMMANDS[name];
      const ours = [...spec.options, ...Object.values(spec.actions ?? {}).flatMap((a) => a.options)];
      expect(ours.filter((o) => !real.has(o))).toEqual([]);
    });
  }
});

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
      const flags = (text: string) => new Set(text.match(/--[a-z][a-z-]*/g) ?? []);
      const real = flags(help.stdout);
      const spec = HARNESS_COMMANDS[name];
      expect(spec.options.filter((o) => !real.has(o))).toEqual([]);
      for (const [action, actionSpec] of Object.entries(spec.actions ?? {})) {
        let missing = actionSpec.options.filter((o) => !real.has(o));
        // A command whose actions have options of their own (migrate <verb>) lists them in the action's help.
        if (missing.length) {
          const actionHelp = runCommandSync(process.execPath, ['bin/runbook-harness.js', name, action, '--help']);
          const actionReal = flags(actionHelp.stdout);
          missing = missing.filter((o) => !actionReal.has(o));
        }
        expect(missing, `${name} ${action}`).toEqual([]);
      }
    });
  }
});

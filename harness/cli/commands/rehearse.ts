/**
 * runbook-harness rehearse: stand up the stack, run the runbook scenario suite on it, write the
 * Allure report. Extra arguments go to vitest (e.g. a file filter: `rehearse smoke`).
 */
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runCommand, SubprocessError } from '../../core/subprocess.js';
import { environmentName } from '../../env/select.js';
import { parseCommandArgs, type CliCommand } from '../command.js';
import { computeCoverage, loadRunbooks } from '../../runbook/coverage.js';
import { coverageOfRun, formatRunCoverage } from '../../runbook/coverage-run.js';
import { readSectionsRan, sectionsRanPath } from '../../runbook/sections-ran.js';

const require = createRequire(import.meta.url);

/** Runs a step with this terminal; its exit code (130 when interrupted). A program that cannot start throws. */
async function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const r = await runCommand(command, args, { env, replaceEnv: true, output: 'inherit', limitMs: 24 * 3600_000, reject: false });
  if (r.exitCode === null && !r.signal) throw new SubprocessError(r);
  return r.exitCode ?? 130;
}

/** A package's file by path from its root (some packages export no ./package.json, so walk up from main). */
function binOf(pkg: string, bin: string): string {
  let dir = path.dirname(require.resolve(pkg));
  while (!existsSync(path.join(dir, 'package.json')) || !dir.endsWith(path.join('node_modules', pkg))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the root of package ${pkg}`);
    dir = parent;
  }
  return path.join(dir, bin);
}

export const command: CliCommand = {
  summary: 'run the runbook scenario suite on a fresh stack and write the Allure report',
  async run(args) {
    const parsed = parseCommandArgs('rehearse', args, { env: { type: 'string' }, 'no-report': { type: 'boolean' } }, '[--env local|containers] [--no-report] [vitest filters...]', true);
    if (!parsed) return 0;
    const env = environmentName(parsed.values.env);
    const started = Date.now();
    // Each rehearsal's evidence stands alone: an earlier run's results would mix into this report.
    rmSync('reports/allure-results', { recursive: true, force: true });
    let code = await run(process.execPath, [binOf('vitest', 'vitest.mjs'), 'run', '--project', 'scenarios', ...parsed.positionals], { ...process.env, RUNBOOK_HARNESS_ENV: env });
    // A section counts only when a test of it ran; a filtered rehearsal judges only the sections it collected.
    const events = readSectionsRan();
    if (events) {
      const gate = coverageOfRun(computeCoverage(), loadRunbooks(), events, { partial: parsed.positionals.length > 0 });
      process.stderr.write(formatRunCoverage(gate, sectionsRanPath()).replace(/^/gm, 'runbook-harness: ') + '\n');
      if (!gate.ok && code === 0) code = 1;
    } else {
      process.stderr.write(`runbook-harness: no section ledger at ${sectionsRanPath()}: the scenario run recorded nothing\n`);
      if (code === 0) code = 1;
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (!parsed.values['no-report']) {
      const reportCode = await run(process.execPath, [binOf('allure', 'cli.js'), 'generate', 'reports/allure-results', '-o', 'reports/allure-report']);
      process.stderr.write(reportCode === 0 ? 'runbook-harness: report written to reports/allure-report/index.html\n' : 'runbook-harness: the Allure report could not be generated (see above)\n');
    }
    process.stderr.write(`runbook-harness: rehearsal ${code === 0 ? 'passed' : 'FAILED'} in ${seconds}s\n`);
    return code;
  },
};

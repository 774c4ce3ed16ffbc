import type { CliCommand } from '../command.js';
import { parseCommandArgs } from '../command.js';
import { HarnessError, UsageError } from '../errors.js';
import { computeCoverage, formatCoverage, loadRunbooks } from '../../runbook/coverage.js';
import { coverageOfRun, formatRunCoverage } from '../../runbook/coverage-run.js';
import { readSectionsRan, sectionsRanPath } from '../../runbook/sections-ran.js';

const USAGE = '[--json] [--ran [LEDGER] [--partial]]';

export const command: CliCommand = {
  summary: 'map runbook sections to scenario tests and print the pending count per runbook; exit 1 on a gap, a dangling reference, a stale pending entry, or (--ran) a section none of whose tests ran',
  async run(args) {
    const parsed = parseCommandArgs('coverage', args, { json: { type: 'boolean' }, ran: { type: 'boolean' }, partial: { type: 'boolean' } }, USAGE, true);
    if (!parsed) return 0;
    if (parsed.positionals.length > (parsed.values.ran ? 1 : 0)) throw new UsageError(`coverage: unexpected argument '${parsed.positionals.at(-1)}'; usage: runbook-harness coverage ${USAGE}`);
    if (parsed.values.partial && !parsed.values.ran) throw new UsageError(`coverage: --partial needs --ran; usage: runbook-harness coverage ${USAGE}`);
    const report = computeCoverage();
    if (!parsed.values.ran) {
      process.stdout.write((parsed.values.json ? JSON.stringify(report, null, 2) : formatCoverage(report)) + '\n');
      return report.ok ? 0 : 1;
    }
    const ledger = parsed.positionals[0] ?? sectionsRanPath();
    const events = readSectionsRan(ledger);
    if (!events) throw new HarnessError(`coverage --ran: no ledger at ${ledger}; it is written by a scenario run (npm run test:scenarios or runbook-harness rehearse)`);
    const run = coverageOfRun(report, loadRunbooks(), events, { partial: parsed.values.partial });
    process.stdout.write((parsed.values.json ? JSON.stringify({ ...run, ledger }, null, 2) : formatRunCoverage(run, ledger)) + '\n');
    return run.ok && report.ok ? 0 : 1;
  },
};

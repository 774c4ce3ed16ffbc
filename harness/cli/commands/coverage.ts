import type { CliCommand } from '../command.js';
import { parseCommandArgs } from '../command.js';
import { computeCoverage, formatCoverage } from '../../runbook/coverage.js';

export const command: CliCommand = {
  summary: 'map runbook sections to scenario tests; exit 1 on an untested section or a dangling reference',
  async run(args) {
    const parsed = parseCommandArgs('coverage', args, { json: { type: 'boolean' } }, '[--json]');
    if (!parsed) return 0;
    const report = computeCoverage();
    process.stdout.write((parsed.values.json ? JSON.stringify(report, null, 2) : formatCoverage(report)) + '\n');
    return report.ok ? 0 : 1;
  },
};

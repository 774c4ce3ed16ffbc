import type { CliCommand } from '../command.js';
import { parseCommandArgs } from '../command.js';
import { UsageError } from '../errors.js';
import { lintFiles } from '../../runbook/lint/lint-runbook.js';
import { formatFinding } from '../../runbook/lint/finding.js';

const USAGE = 'FILE... [--json] [--errors-only] [--no-connect]';

export const command: CliCommand = {
  summary: "check every code block of runbooks (JSON, connector configs, SQL per dialect, shell); exit 1 on an error",
  async run(args) {
    const parsed = parseCommandArgs(
      'lint',
      args,
      { json: { type: 'boolean' }, 'errors-only': { type: 'boolean' }, 'no-connect': { type: 'boolean' } },
      USAGE,
      true,
    );
    if (!parsed) return 0;
    if (parsed.positionals.length === 0) throw new UsageError(`lint: name at least one runbook; usage: runbook-harness lint ${USAGE}`);
    const result = await lintFiles(parsed.positionals, { connect: !parsed.values['no-connect'] });
    const errors = result.findings.filter((f) => f.severity === 'error').length;
    const warnings = result.findings.filter((f) => f.severity === 'warning').length;
    const notes = result.findings.length - errors - warnings;
    if (parsed.values.json) {
      process.stdout.write(JSON.stringify({ ...result, counts: { errors, warnings, notes } }, null, 2) + '\n');
    } else {
      const shown = parsed.values['errors-only'] ? result.findings.filter((f) => f.severity === 'error') : result.findings;
      for (const f of shown) process.stdout.write(formatFinding(f) + '\n');
      const validation =
        result.validation === 'connect'
          ? 'connector configs validated by the running Kafka Connect worker'
          : 'connector configs checked structurally only (no stack running)';
      process.stdout.write(
        `${result.files.length} file(s): ${errors} error(s), ${warnings} warning(s), ${notes} note(s); ${result.connectorConfigs} connector config(s), ${validation}\n`,
      );
    }
    return errors > 0 ? 1 : 0;
  },
};

import { HarnessError } from '../core/errors.js';

/** A runbook that cannot be read or does not follow the conventions: `file:line: reason` (no line for an unreadable file), exit 2. */
export class RunbookError extends HarnessError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'RunbookError';
  }
}

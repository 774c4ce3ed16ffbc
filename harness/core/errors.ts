/**
 * An error the user can act on: printed as one line (no stack trace), exit code 2.
 * The message names the thing that is wrong and the remedy. Lives in core so that every layer
 * (runbook, pipeline, env, db, verify) can raise it without importing the CLI.
 */
export class HarnessError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
  }
}

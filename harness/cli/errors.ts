/**
 * An error the user can act on: printed as one line (no stack trace), exit code 2.
 * The message names the thing that is wrong and the remedy.
 */
export class HarnessError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
  }
}

/** Bad flags or arguments on the command line. */
export class UsageError extends HarnessError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

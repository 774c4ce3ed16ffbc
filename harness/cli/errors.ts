import { HarnessError } from '../core/errors.js';

export { HarnessError };

/** Bad flags or arguments on the command line. */
export class UsageError extends HarnessError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

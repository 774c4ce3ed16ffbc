/** The secret registry lives in harness/core/redaction.ts (the subprocess runner needs it too); reports use it from here. */
export { redact, registerSecrets } from '../core/redaction.js';

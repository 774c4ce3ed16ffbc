/**
 * Passwords are random per run and must never reach a report or a log. Fixtures register them;
 * every attachment passes through redact().
 */
import { redactSecrets } from '../core/redaction.js';

const secrets = new Set<string>();

export function registerSecrets(...values: (string | undefined)[]): void {
  for (const value of values) if (value && value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  return redactSecrets(text, [...secrets]);
}

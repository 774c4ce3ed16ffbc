/** Database URLs carry passwords; every message, report and log goes through these first. */

/** postgres://user:secret@host/db -> postgres://user:***@host/db (unparseable input is masked wholesale after '//'). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const name of ['password', 'pwd', 'sslpassword']) if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Removes any password that appears in free text (driver error messages sometimes echo the connection string). */
export function redactSecrets(text: string, secrets: (string | undefined)[]): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
  for (const secret of secrets) if (secret && secret.length >= 3) out = out.split(secret).join('***');
  return out;
}

/**
 * Passwords are random per run and must never reach a report or a log. Fixtures register them;
 * every attachment, and every subprocess error, passes through redact().
 */
const secrets = new Set<string>();

export function registerSecrets(...values: (string | undefined)[]): void {
  for (const value of values) if (value && value.length >= 4) secrets.add(value);
}

/** Text with URL passwords and every registered (and extra) secret masked. */
export function redact(text: string, extra: (string | undefined)[] = []): string {
  return redactSecrets(text, [...secrets, ...extra]);
}

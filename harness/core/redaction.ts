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

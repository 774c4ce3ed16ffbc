/**
 * Allure evidence. runbookStep(title, body) is one runbook step: an Allure step that returns the
 * body's value, so a scenario reads like its runbook section. Attachments are redacted.
 */
import * as allure from 'allure-js-commons';
import { redact } from './secrets.js';

export async function runbookStep<T>(title: string, body: () => Promise<T> | T): Promise<T> {
  let result: T | undefined;
  await allure.step(redact(title), async () => {
    result = await body();
  });
  return result as T;
}

export async function attachJson(name: string, value: unknown): Promise<void> {
  await allure.attachment(redact(name), redact(JSON.stringify(value, null, 2)), { contentType: 'application/json' });
}

export async function attachText(name: string, text: string): Promise<void> {
  await allure.attachment(redact(name), redact(text), { contentType: 'text/plain' });
}

export async function attachSql(name: string, sql: string): Promise<void> {
  await allure.attachment(redact(name), redact(sql), { contentType: 'text/plain', fileExtension: 'sql' });
}

/** Lag samples as CSV, which Allure renders as a table. */
export async function attachSamples(name: string, rows: Record<string, string | number>[]): Promise<void> {
  if (rows.length === 0) return attachText(name, '(no samples)');
  const header = Object.keys(rows[0]!);
  const csv = [header.join(','), ...rows.map((r) => header.map((h) => String(r[h])).join(','))].join('\n');
  await allure.attachment(redact(name), redact(csv), { contentType: 'text/csv' });
}

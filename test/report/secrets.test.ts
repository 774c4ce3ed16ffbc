import { describe, expect, test } from 'vitest';
import { redact, registerSecrets } from '../../harness/report/secrets.js';

describe('redact', () => {
  test('removes registered passwords wherever they appear and the password part of URLs', () => {
    registerSecrets('s3cr3t-value');
    const text = JSON.stringify({ 'database.password': 's3cr3t-value', url: 'postgres://postgres:other@127.0.0.1:1/db' });
    const out = redact(text);
    expect(out).not.toContain('s3cr3t-value');
    expect(out).not.toContain(':other@');
    expect(out).toContain('postgres://postgres:***@127.0.0.1:1/db');
  });
});

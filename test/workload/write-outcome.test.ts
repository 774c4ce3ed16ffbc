/** What an error proves about a write: only a rejecting SQLSTATE (or SQL Server number) makes it failed. */
import { describe, expect, it } from 'vitest';
import { HarnessError } from '../../harness/cli/errors.js';
import { classifyWriteError } from '../../harness/workload/write-outcome.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
const wrapped = (cause: unknown) => new HarnessError('source database postgres://…: failed', { cause });

describe('classifyWriteError', () => {
  it.each(['23505', '23514', '22001', '42703', '42P01', '40001', '40P01', '55P03', '57014', '25006'])('%s proves the statement did not apply: failed', (code) => {
    expect(classifyWriteError(wrapped(pgError(code)))).toEqual({ outcome: 'failed', code });
  });

  it.each(['57P01', '08006', 'XX000', '53300'])('%s does not prove it: indeterminate', (code) => {
    expect(classifyWriteError(wrapped(pgError(code)))).toEqual({ outcome: 'indeterminate', code });
  });

  it('a client-side timeout, a dropped connection or an error without a code is indeterminate', () => {
    expect(classifyWriteError(wrapped(new Error('Query read timeout')))).toEqual({ outcome: 'indeterminate' });
    expect(classifyWriteError(wrapped(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })))).toEqual({ outcome: 'indeterminate' });
    expect(classifyWriteError(wrapped(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })))).toEqual({ outcome: 'indeterminate', code: 'EPIPE' });
    expect(classifyWriteError('something')).toEqual({ outcome: 'indeterminate' });
  });

  it('SQL Server: a duplicate key or deadlock victim is failed, a timeout of the driver indeterminate', () => {
    const mssql = (number: number, code = 'EREQUEST') => wrapped(Object.assign(new Error('mssql'), { number, code }));
    expect(classifyWriteError(mssql(2627))).toEqual({ outcome: 'failed', code: '2627' });
    expect(classifyWriteError(mssql(1205))).toEqual({ outcome: 'failed', code: '1205' });
    expect(classifyWriteError(wrapped(Object.assign(new Error('Timeout: Request failed to complete in 15000ms'), { code: 'ETIMEOUT' })))).toEqual({ outcome: 'indeterminate' });
    expect(classifyWriteError(mssql(64, 'ESOCKET'))).toEqual({ outcome: 'indeterminate', code: '64' });
  });
});

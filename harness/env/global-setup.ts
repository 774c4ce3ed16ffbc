/**
 * vitest globalSetup for the scenarios project: one real stack for the whole run, started here and
 * stopped in teardown (also on a failing run). Workers attach to it through the state file whose
 * folder is provided as `stackStateDir`. A stack orphaned by a runner killed with -9 is cleaned up
 * when the next run starts here.
 */
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { clearFindings, readFindings, summarizeFindings } from '../report/findings-ledger.js';
import { clearSectionsRan, sectionsRanPath } from '../runbook/sections-ran.js';
import { startStack } from './select.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stackStateDir: string;
    sourceDialect: 'postgres' | 'sqlserver';
    /** Where runbookSection() records which sections' tests ran (read by `coverage --ran`). */
    sectionsRanLedger: string;
  }
}

/** RUNBOOK_HARNESS_TEST_STATE_DIR lets two suites run side by side in one checkout, each with its own stack. */
export const TEST_STATE_DIR = path.resolve(process.env.RUNBOOK_HARNESS_TEST_STATE_DIR ?? path.join('.runbook-harness', 'test-run'));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  clearFindings();
  clearSectionsRan();
  process.stderr.write('runbook-harness: starting the stack for the scenario suite\n');
  const stack = await startStack({ stateDir: TEST_STATE_DIR });
  process.stderr.write(`runbook-harness: stack (${stack.endpoints.env}) up in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  project.provide('stackStateDir', TEST_STATE_DIR);
  project.provide('sourceDialect', stack.endpoints.source.dialect);
  project.provide('sectionsRanLedger', sectionsRanPath());
  // Ctrl-C: vitest exits 1 ms after the signal, so the stack is killed synchronously here.
  const onSignal = () => stack.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stack.stop();
    // The run summary: what the harness did on its own is a finding, printed whether the run passed or not.
    for (const line of summarizeFindings(readFindings())) process.stderr.write(`runbook-harness: ${line}\n`);
  };
}

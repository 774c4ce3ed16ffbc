/**
 * The ledger of runbook sections whose tests actually ran: one JSON line per event, written by scenario workers
 * (section.ts), cleared by the scenarios' globalSetup, read by `runbook-harness coverage --ran`. A section named
 * by a test file is `declared` when the file is collected; it `ran` when a test in the scope of that
 * `runbookSection()` call (its file, or the describe block it was called in) finished, passed or failed. A test
 * skipped statically (`test.skip`, `test.skipIf(true)`) leaves no line; one skipped while running (`ctx.skip()`)
 * leaves a `skipped` line.
 * No vitest imports here, so the CLI can read it.
 */
import { jsonlLedger } from '../core/jsonl-ledger.js';

export interface SectionRunEvent {
  /** `skipped`: a test that started and skipped itself (`ctx.skip()`). */
  event: 'declared' | 'ran' | 'skipped';
  runbook: string;
  sectionId: string;
  /** The test file, relative to the working directory. */
  file: string;
  /** For `ran`: the test's full name and how it ended. */
  test?: string;
  state?: string;
}

const ledger = jsonlLedger<SectionRunEvent>('RUNBOOK_HARNESS_SECTIONS_RAN', 'runbook-sections-ran.jsonl');

/** RUNBOOK_HARNESS_SECTIONS_RAN moves the ledger (two suites side by side); default under reports/. */
export const sectionsRanPath = ledger.path;
export const clearSectionsRan = ledger.clear;
export const appendSectionRun = ledger.append;
/** undefined when there is no ledger (no scenario run wrote one). */
export const readSectionsRan = ledger.read;

/**
 * The ledger of runbook sections whose tests actually ran: one JSON line per event, written by scenario workers
 * (section.ts), cleared by the scenarios' globalSetup, read by `runbook-harness coverage --ran`. A section named
 * by a test file is `declared` when the file is collected; it `ran` when a test in the scope of that
 * `runbookSection()` call (its file, or the describe block it was called in) finished, passed or failed. A test
 * skipped statically (`test.skip`, `test.skipIf(true)`) leaves no line; one skipped while running (`ctx.skip()`)
 * leaves a `skipped` line.
 * No vitest imports here, so the CLI can read it.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

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

/** RUNBOOK_HARNESS_SECTIONS_RAN moves the ledger (two suites side by side); default under reports/. */
export function sectionsRanPath(): string {
  return path.resolve(process.env.RUNBOOK_HARNESS_SECTIONS_RAN ?? path.join('reports', 'runbook-sections-ran.jsonl'));
}

export function clearSectionsRan(file = sectionsRanPath()): void {
  rmSync(file, { force: true });
}

export function appendSectionRun(event: SectionRunEvent, file = sectionsRanPath()): void {
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, JSON.stringify(event) + '\n');
}

/** undefined when there is no ledger (no scenario run wrote one). */
export function readSectionsRan(file = sectionsRanPath()): SectionRunEvent[] | undefined {
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as SectionRunEvent);
}

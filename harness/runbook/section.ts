/**
 * `runbookSection(runbook, id)`: what a scenario test calls to get the runbook's section it covers. The coverage
 * gate reads these calls statically, so both arguments must be string literals.
 */
import * as allure from 'allure-js-commons';
import path from 'node:path';
import { beforeEach, expect, inject } from 'vitest';
import { loadRunbook, sectionTree } from './parse.js';
import type { Claim } from './claims.js';
import type { CodeBlock, Section, Side, SourceDialect, Step } from './model.js';
import { appendSectionRun } from './sections-ran.js';

export type SqlWhere = { side: 'source'; dialect: SourceDialect } | { side: 'target' };
export type BlockFilter = { lang?: string; side?: Side; dialect?: SourceDialect };

function pick(blocks: CodeBlock[], filter: BlockFilter): CodeBlock[] {
  return blocks.filter(
    (b) => (filter.lang === undefined || b.lang === filter.lang) && (filter.side === undefined || b.side === filter.side) && (filter.dialect === undefined || b.dialect === filter.dialect),
  );
}

export interface RunbookSection extends Section {
  runbook: string;
  file: string;
  /** This section and its sub-sections, in document order. */
  tree: Section[];
  /** Step `n` of this section, else of its `Procedure` sub-section, else of the one sub-section that has a step `n`. */
  step(n: number): Step;
  /** The SQL of step `n` for one side/dialect, blocks joined in order; throws if the step has none. */
  stepSql(n: number, where: SqlWhere): string;
  /** Every code block of the section tree, optionally filtered. */
  blocks(filter?: BlockFilter): CodeBlock[];
  /** The code blocks of step `n` (resolved as in `step`), optionally filtered, in order. */
  stepBlocks(n: number, filter?: BlockFilter): CodeBlock[];
  /** A `**Name**: value` line of the section as a claim (e.g. `Auto-Handled`, `Downtime`). */
  field(name: string): { value: string; claim: Claim };
}

function matches(block: CodeBlock, where: SqlWhere): boolean {
  if (block.lang !== 'sql' || block.side !== where.side) return false;
  return where.side === 'target' || block.dialect === where.dialect;
}

function tagAllure(runbookTitle: string, topLevel: string | undefined, section: Section, runbook: string): void {
  // Sub-sections label nothing of their own: the section a test file names is its story.
  if (section.id.includes('/')) return;
  const labels = [
    { name: 'epic', value: runbookTitle },
    { name: 'feature', value: topLevel ?? section.title },
    { name: 'story', value: section.title },
    { name: 'runbookSection', value: `${runbook}#${section.id}` },
  ];
  // Scenario files call runbookSection while vitest collects them, outside any test: label each test of
  // the file as it starts. Outside vitest (a script) beforeEach throws, and there is nothing to label.
  try {
    beforeEach(async () => {
      await allure.labels(...labels);
    });
  } catch {
    // not collecting tests
  }
}

/**
 * Scenario runs only (the scenarios' globalSetup provides the ledger): the section is declared now, while the
 * file is collected, and counted as run by each test of this scope that finishes. Skipped tests never run the
 * hook, so a section whose tests were all skipped is declared and never ran: `coverage --ran` fails on it.
 */
function recordRuns(runbook: string, sectionId: string): void {
  let ledger: string | undefined;
  try {
    ledger = inject('sectionsRanLedger');
  } catch {
    return; // not inside vitest
  }
  if (!ledger) return; // the unit project: nothing runs against a stack
  const state = expect.getState();
  const file = path.relative(process.cwd(), state.testPath ?? '(unknown file)');
  appendSectionRun({ event: 'declared', runbook, sectionId, file }, ledger);
  // Called inside a running test: that test is running it now.
  if (state.currentTestName) {
    appendSectionRun({ event: 'ran', runbook, sectionId, file, test: state.currentTestName, state: 'run' }, ledger);
    return;
  }
  // Destructured: with test.extend fixtures (harness/test.ts) vitest rejects a hook whose context is a plain name.
  beforeEach(({ onTestFinished }) => {
    onTestFinished(({ task }) => {
      // A test that called ctx.skip() finishes too, as 'skip': it did not run the section.
      const state = task.result?.state ?? 'run';
      appendSectionRun({ event: state === 'skip' ? 'skipped' : 'ran', runbook, sectionId, file, test: task.fullName, state }, ledger);
    });
  });
}

export function runbookSection(runbook: string, sectionId: string): RunbookSection {
  const parsed = loadRunbook(runbook);
  const section = parsed.sections.find((s) => s.id === sectionId);
  if (!section) {
    const near = parsed.sections.filter((s) => s.id.includes(sectionId.split('/').pop()!.split('-')[0])).slice(0, 5).map((s) => s.id);
    throw new Error(
      `runbook '${runbook}' (${parsed.file}) has no section '${sectionId}'${near.length ? `; similar: ${near.join(', ')}` : ''}; run 'runbook-harness coverage' to list the ids`,
    );
  }
  const tree = sectionTree(parsed, sectionId);
  let top: Section | undefined = section;
  while (top?.parentId && top.depth > 2) top = parsed.sections.find((s) => s.id === top!.parentId);
  tagAllure(parsed.title, top?.title, section, runbook);
  recordRuns(parsed.name, sectionId);

  const where = `${parsed.file} [${sectionId}]`;
  const view: RunbookSection = {
    ...section,
    runbook: parsed.name,
    file: parsed.file,
    tree,
    step(n) {
      const own = section.steps.find((s) => s.number === n);
      if (own) return own;
      const found = tree.slice(1).flatMap((s) => s.steps.filter((st) => st.number === n).map((st) => ({ s, st })));
      // A scenario's numbered steps are its Procedure's; its Rollback is asked for by its own id.
      const procedure = found.filter((f) => f.s.parentId === section.id && /(^|\/)procedure$/.test(f.s.id));
      if (procedure.length === 1) return procedure[0].st;
      if (found.length === 1) return found[0].st;
      if (found.length === 0) throw new Error(`${where} has no step ${n}`);
      throw new Error(`${where}: step ${n} exists in ${found.map((f) => f.s.id).join(' and ')}; name the sub-section instead`);
    },
    stepSql(n, filter) {
      const step = this.step(n);
      const blocks = step.codeBlocks.filter((b) => matches(b, filter));
      const label = filter.side === 'target' ? 'target' : `source=${filter.dialect}`;
      if (blocks.length === 0) throw new Error(`${where} step ${n} ('${step.title}') has no \`sql ${label}\` block`);
      return blocks.map((b) => b.value).join('\n');
    },
    blocks(filter = {}) {
      return pick(tree.flatMap((s) => s.codeBlocks), filter);
    },
    stepBlocks(n, filter = {}) {
      return pick(this.step(n).codeBlocks, filter);
    },
    field(name) {
      const key = name.toLowerCase();
      const owner = tree.find((s) => s.fields[key]);
      if (!owner) throw new Error(`${where} has no '**${name}**:' line`);
      const { value, line } = owner.fields[key];
      return { value, claim: { runbook: parsed.name, file: parsed.file, sectionId, sectionTitle: section.title, line, text: `${name}: ${value}` } };
    },
  };
  return view;
}

/**
 * The coverage gate: every scenario, emergency, troubleshooting and procedure section of every runbook maps to at
 * least one scenario test, and every section a test names exists. Tests name their section with a literal call
 * `runbookSection('<runbook>', '<section-id>')`, read here statically. Sections whose tests are not written yet sit
 * in one explicit pending list (runbooks/coverage-pending.json) and are reported as pending, never as covered.
 * The pending list only shrinks: a covered section still listed is an error (remove it), and a section that loses
 * its test is a gap, never a pending entry again (the project test pins the list). What this static gate cannot
 * know (whether a test that names a section actually ran) the run gate checks: `coverageOfRun` with the ledger
 * the scenario run writes (sections-ran.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { HarnessError } from '../core/errors.js';
import { parseRunbook, REPO_ROOT } from './parse.js';
import { RunbookError } from './errors.js';
import { TESTED_KINDS, type Runbook, type SectionKind } from './model.js';

export const PENDING_FILE = 'runbooks/coverage-pending.json';

export interface TestReference {
  file: string;
  line: number;
  runbook: string;
  sectionId: string;
  /** False when every test call in the file is `.skip` or `.todo`: such a file covers nothing. */
  runnable?: boolean;
}

export interface SectionCoverage {
  id: string;
  title: string;
  kind: SectionKind;
  line: number;
  status: 'covered' | 'pending' | 'gap';
  tests: TestReference[];
}

export interface RunbookCoverage {
  runbook: string;
  file: string;
  sections: SectionCoverage[];
  counts: { total: number; covered: number; pending: number; gaps: number };
}

export interface CoverageProblem {
  file: string;
  line: number;
  reason: string;
}

export interface CoverageReport {
  runbooks: RunbookCoverage[];
  /** Test references to a runbook or section that does not exist, and calls that are not string literals. */
  dangling: CoverageProblem[];
  /** Pending entries that name no tested section, and change-log tests that neither exist nor are pending. */
  errors: CoverageProblem[];
  /** Pending entries that are already covered or already written: errors, so the list shrinks when a test lands. */
  stale: CoverageProblem[];
  /** References from files whose every test is statically skipped: they cover nothing. */
  skippedOnly: CoverageProblem[];
  /** Test files under scenarios/<runbook>/ that name no section (they count for nothing). */
  unlinked: string[];
  changeLogTests: { named: number; written: number; pending: number };
  /** No gap, dangling reference, error or stale pending entry (pending sections may remain). */
  ok: boolean;
  /** ok, and nothing pending: the only state printed as "coverage OK". */
  complete: boolean;
}

interface PendingList {
  sections: Record<string, string[]>;
  tests: string[];
}

function walk(dir: string, accept: (f: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : walk(full, accept);
    return accept(entry.name) ? [full] : [];
  });
}

const LITERAL_CALL = /runbookSection\s*\(\s*(['"`])([^'"`$]+)\1\s*,\s*(['"`])([^'"`$]+)\3\s*[,)]/y;

/** A `test(`/`it(` call, with its modifiers (`.skip`, `.skipIf(…)`, `.each(…)`): `.skip` and `.todo` never run. */
const TEST_CALL = /\b(?:test|it)((?:\s*\.\s*\w+)*)\s*[(`]/g;

/** `runbookSection(...)` calls in a test file; calls without two literal arguments come back as problems. */
export function scanTestFile(text: string, file: string): { refs: TestReference[]; problems: CoverageProblem[] } {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const runnable = [...code.matchAll(TEST_CALL)].some((m) => !/\.\s*(skip|todo)\b(?!If)/.test(m[1]));
  const refs: TestReference[] = [];
  const problems: CoverageProblem[] = [];
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(/\brunbookSection\s*\(/g)) {
    const before = text.slice(Math.max(0, m.index - 40), m.index);
    if (/function\s+$/.test(before)) continue; // the definition, not a call
    LITERAL_CALL.lastIndex = m.index;
    const literal = LITERAL_CALL.exec(text);
    if (literal) refs.push({ file, line: lineAt(m.index), runbook: literal[2], sectionId: literal[4], runnable });
    else problems.push({ file, line: lineAt(m.index), reason: 'runbookSection() needs two string literals (the coverage gate reads them statically)' });
  }
  return { refs, problems };
}

function readPending(root: string): PendingList {
  const file = path.join(root, PENDING_FILE);
  if (!existsSync(file)) return { sections: {}, tests: [] };
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new HarnessError(`${PENDING_FILE}: not valid JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  const d = data as Partial<PendingList>;
  const ok =
    typeof d === 'object' && d !== null &&
    typeof d.sections === 'object' && d.sections !== null &&
    Object.values(d.sections).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string')) &&
    Array.isArray(d.tests) && d.tests.every((x) => typeof x === 'string');
  if (!ok) throw new HarnessError(`${PENDING_FILE}: expected { "sections": { "<runbook>": ["<section-id>", …] }, "tests": ["<path>", …] }`);
  return d as PendingList;
}

/** Test files a runbook's change log names in its "Proved by" column. */
export function changeLogTests(runbook: Runbook): { path: string; line: number }[] {
  const out: { path: string; line: number }[] = [];
  for (const section of runbook.sections) {
    for (const table of section.tables) {
      const col = table.header.findIndex((h) => h.toLowerCase() === 'proved by');
      if (col < 0) continue;
      table.rows.forEach((row, r) => {
        for (const m of (row[col] ?? '').matchAll(/(?:scenarios|test)\/[\w./-]+\.test\.ts/g)) out.push({ path: m[0], line: table.rowLines[r] });
      });
    }
  }
  return out;
}

export function loadRunbooks(root = REPO_ROOT): Runbook[] {
  const rel = (f: string) => path.relative(root, f);
  return walk(path.join(root, 'runbooks'), (f) => f.endsWith('.md')).sort().map((f) => {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (error) {
      throw new RunbookError(rel(f), 0, `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    return parseRunbook(text, rel(f));
  });
}

export function computeCoverage(root = REPO_ROOT): CoverageReport {
  const rel = (f: string) => path.relative(root, f);
  const runbooks = loadRunbooks(root);
  const pending = readPending(root);

  const refs: TestReference[] = [];
  const dangling: CoverageProblem[] = [];
  const unlinked: string[] = [];
  const runbookNames = new Set(runbooks.map((r) => r.name));
  for (const file of walk(path.join(root, 'scenarios'), (f) => f.endsWith('.test.ts')).sort()) {
    const scanned = scanTestFile(readFileSync(file, 'utf8'), rel(file));
    refs.push(...scanned.refs);
    dangling.push(...scanned.problems);
    const dir = path.basename(path.dirname(file));
    if (runbookNames.has(dir) && scanned.refs.length === 0 && scanned.problems.length === 0) unlinked.push(rel(file));
  }

  const byName = new Map(runbooks.map((r) => [r.name, r]));
  const unitRefs = new Map<string, TestReference[]>();
  for (const ref of refs) {
    const runbook = byName.get(ref.runbook);
    const section = runbook?.sections.find((s) => s.id === ref.sectionId);
    if (!runbook) dangling.push({ file: ref.file, line: ref.line, reason: `no runbook '${ref.runbook}' (runbooks/${ref.runbook}.md)` });
    else if (!section) dangling.push({ file: ref.file, line: ref.line, reason: `runbook '${ref.runbook}' has no section '${ref.sectionId}'` });
    else if (section.unitId) {
      const key = `${ref.runbook}#${section.unitId}`;
      unitRefs.set(key, [...(unitRefs.get(key) ?? []), ref]);
    }
  }

  const errors: CoverageProblem[] = [];
  const stale: CoverageProblem[] = [];
  const skippedOnly: CoverageProblem[] = [];
  for (const [name, ids] of Object.entries(pending.sections)) {
    const runbook = byName.get(name);
    for (const id of ids) {
      const section = runbook?.sections.find((s) => s.id === id);
      if (!runbook) errors.push({ file: PENDING_FILE, line: 0, reason: `pending list names runbook '${name}', which does not exist` });
      else if (!section || section.unitId !== section.id || !TESTED_KINDS.includes(section.kind!)) {
        errors.push({ file: PENDING_FILE, line: 0, reason: `pending list names '${name}#${id}', which is not a tested section of that runbook` });
      }
    }
  }

  const report: RunbookCoverage[] = runbooks.map((runbook) => {
    const pendingIds = new Set(pending.sections[runbook.name] ?? []);
    const sections = runbook.sections
      .filter((s) => s.unitId === s.id && TESTED_KINDS.includes(s.kind!))
      .map((s): SectionCoverage => {
        const named = unitRefs.get(`${runbook.name}#${s.id}`) ?? [];
        const tests = named.filter((t) => t.runnable !== false);
        for (const t of named.filter((t) => t.runnable === false)) {
          skippedOnly.push({ file: t.file, line: t.line, reason: `names '${runbook.name}#${s.id}', but every test in the file is skipped (.skip/.todo): it covers nothing` });
        }
        if (tests.length && pendingIds.has(s.id)) {
          stale.push({ file: PENDING_FILE, line: 0, reason: `'${runbook.name}#${s.id}' is covered by ${tests[0].file}; remove it from the pending list` });
        }
        const status = tests.length ? 'covered' : pendingIds.has(s.id) ? 'pending' : 'gap';
        return { id: s.id, title: s.title, kind: s.kind!, line: s.line, status, tests };
      });
    const count = (st: SectionCoverage['status']) => sections.filter((s) => s.status === st).length;
    return { runbook: runbook.name, file: runbook.file, sections, counts: { total: sections.length, covered: count('covered'), pending: count('pending'), gaps: count('gap') } };
  });

  const pendingTests = new Set(pending.tests);
  let named = 0;
  let written = 0;
  const seen = new Set<string>();
  for (const runbook of runbooks) {
    for (const t of changeLogTests(runbook)) {
      if (seen.has(t.path)) continue;
      seen.add(t.path);
      named++;
      const exists = existsSync(path.join(root, t.path));
      if (exists) written++;
      if (exists && pendingTests.has(t.path)) stale.push({ file: PENDING_FILE, line: 0, reason: `${t.path} exists now; remove it from the pending tests` });
      if (!exists && !pendingTests.has(t.path)) {
        errors.push({ file: runbook.file, line: t.line, reason: `change log names ${t.path}, which does not exist and is not in ${PENDING_FILE}` });
      }
    }
  }
  const pendingCount = [...seen].filter((p) => !existsSync(path.join(root, p))).length;

  const gaps = report.reduce((n, r) => n + r.counts.gaps, 0);
  const pendingSections = report.reduce((n, r) => n + r.counts.pending, 0);
  const ok = gaps === 0 && dangling.length === 0 && errors.length === 0 && stale.length === 0;
  return {
    runbooks: report,
    dangling,
    errors,
    stale,
    skippedOnly,
    unlinked,
    changeLogTests: { named, written, pending: pendingCount },
    ok,
    complete: ok && pendingSections === 0 && pendingCount === 0,
  };
}

/** "database-migration: 0 of 30 tested sections covered, 30 pending" (and the gaps, when there are any). */
export function runbookSummary(r: RunbookCoverage): string {
  const c = r.counts;
  return `${r.runbook}: ${c.covered} of ${c.total} tested sections covered, ${c.pending} pending${c.gaps ? `, ${c.gaps} GAP${c.gaps === 1 ? '' : 'S'} (no test, not pending)` : ''}`;
}

export function formatCoverage(report: CoverageReport): string {
  const lines: string[] = [];
  const where = (p: CoverageProblem) => (p.line > 0 ? `${p.file}:${p.line}` : p.file);
  for (const r of report.runbooks) {
    lines.push(`${runbookSummary(r)}  (${r.file})`);
    for (const s of r.sections) {
      const label = s.status === 'gap' ? 'GAP' : s.status;
      lines.push(`  ${label.padEnd(8)} ${s.kind.padEnd(15)} ${s.id}  (${s.tests.length} test${s.tests.length === 1 ? '' : 's'})`);
      for (const t of s.tests) lines.push(`           ${t.file}:${t.line}${t.sectionId !== s.id ? ` via ${t.sectionId}` : ''}`);
    }
  }
  const cl = report.changeLogTests;
  lines.push(`change-log tests: ${cl.named} named, ${cl.written} written, ${cl.pending} pending`);
  for (const p of report.dangling) lines.push(`dangling: ${where(p)}: ${p.reason}`);
  for (const p of report.errors) lines.push(`error: ${where(p)}: ${p.reason}`);
  for (const p of report.stale) lines.push(`error: stale pending entry: ${p.reason}`);
  for (const p of report.skippedOnly) lines.push(`skipped only: ${where(p)}: ${p.reason}`);
  for (const f of report.unlinked) lines.push(`unlinked test: ${f} names no section with runbookSection(); it counts for nothing`);
  for (const r of report.runbooks) lines.push(runbookSummary(r));
  const gaps = report.runbooks.reduce((n, r) => n + r.counts.gaps, 0);
  const pending = report.runbooks.reduce((n, r) => n + r.counts.pending, 0);
  const total = report.runbooks.reduce((n, r) => n + r.counts.total, 0);
  if (!report.ok) {
    lines.push(`coverage FAILED: ${gaps} gaps, ${report.dangling.length} dangling references, ${report.errors.length} errors, ${report.stale.length} stale pending entries`);
  } else if (!report.complete) {
    const which = report.runbooks.filter((r) => r.counts.pending > 0).map((r) => `${r.runbook}: ${r.counts.pending}`);
    lines.push(
      `coverage INCOMPLETE: no gaps and no dangling references, but ${pending} of ${total} tested sections have no test yet (${which.join(', ') || 'none'})` +
        `${cl.pending ? ` and ${cl.pending} change-log tests are not written` : ''}; listed in ${PENDING_FILE}, which may only shrink`,
    );
  } else {
    lines.push(`coverage OK: all ${total} tested sections of ${report.runbooks.length} runbooks have a test; nothing pending`);
  }
  return lines.join('\n');
}

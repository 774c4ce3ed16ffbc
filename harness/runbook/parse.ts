/**
 * Markdown → Runbook model, with remark (mdast) + GFM tables. Sections get a stable id from their heading
 * (the heading's slug; a slug used twice in the file is qualified by its parent's id: `scenario-1-…/rollback`).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkGfm from 'remark-gfm';
import type { Code, Heading, List, Nodes, Paragraph, Root, RootContent, Table as MdTable } from 'mdast';
import { RunbookError } from './errors.js';
import { slugify } from './slug.js';
import type { CodeBlock, Runbook, Section, SectionKind, Step, Table } from './model.js';

/** Languages whose blocks are run (or pasted into a client); other fences (text, markdown) are illustrations. */
export const EXECUTABLE_LANGS = new Set(['bash', 'sh', 'shell', 'console', 'sql', 'json', 'properties']);
const KINDS = new Set<SectionKind>(['scenario', 'emergency', 'troubleshooting', 'procedure', 'reference']);
const KIND_MARKER = /^<!--\s*kind:\s*([a-z-]+)\s*-->$/;

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RUNBOOKS_DIR = path.join(REPO_ROOT, 'runbooks');

/** Plain text of an mdast node (inline code and link text included). */
export function nodeText(node: Nodes): string {
  if ('value' in node && typeof node.value === 'string' && node.type !== 'html') return node.value;
  if ('children' in node) return (node.children as Nodes[]).map(nodeText).join('');
  return '';
}

function lineOf(node: Nodes): number {
  return node.position?.start.line ?? 0;
}

function kindFromHeading(title: string): SectionKind | undefined {
  if (/^scenario\s+\d+\s*:/i.test(title)) return 'scenario';
  if (/^emergency\s+\d+\s*:/i.test(title) || /^p[0-3]\s*:/i.test(title)) return 'emergency';
  if (/^issue\s*:/i.test(title)) return 'troubleshooting';
  return undefined;
}

function parseTags(meta: string, file: string, line: number): Record<string, string | true> {
  const tags: Record<string, string | true> = {};
  for (const token of meta.split(/\s+/).filter(Boolean)) {
    const eq = token.indexOf('=');
    if (eq === 0) throw new RunbookError(file, line, `code block tag '${token}' has no name`);
    if (eq < 0) tags[token] = true;
    else tags[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return tags;
}

function codeBlock(node: Code, sectionId: string, file: string, stepNumber?: number): CodeBlock {
  const line = lineOf(node);
  const lang = (node.lang ?? '').toLowerCase();
  const meta = node.meta ?? '';
  const tags = parseTags(meta, file, line);
  const block: CodeBlock = { lang, meta, tags, value: node.value, line, sectionId, stepNumber };
  if (lang === 'sql') {
    if (tags.source !== undefined && tags.target !== undefined) {
      throw new RunbookError(file, line, 'a sql block is either source=<dialect> or target, not both');
    }
    if (tags.source !== undefined) {
      if (tags.source !== 'postgres' && tags.source !== 'sqlserver') {
        throw new RunbookError(file, line, `unknown source dialect '${String(tags.source)}' (use source=postgres or source=sqlserver)`);
      }
      block.side = 'source';
      block.dialect = tags.source;
    } else if (tags.target !== undefined) {
      block.side = 'target';
      block.dialect = 'postgres';
    }
  }
  if (typeof tags.connector === 'string') block.connector = tags.connector;
  return block;
}

/** Every code node below `node`, in document order. */
function codeNodes(node: Nodes): Code[] {
  if (node.type === 'code') return [node];
  if (!('children' in node)) return [];
  return (node.children as Nodes[]).flatMap(codeNodes);
}

function expectedLines(blocks: CodeBlock[]): string[] {
  const out: string[] = [];
  for (const block of blocks) {
    for (const raw of block.value.split('\n')) {
      const m = /^\s*(?:#|--)\s*Expected:\s*(.+)$/.exec(raw);
      if (m) out.push(m[1].trim());
    }
  }
  return out;
}

function stepsOf(list: List, sectionId: string, file: string): Step[] {
  const start = list.start ?? 1;
  return list.children.map((item, index) => {
    const first = item.children.find((c): c is Paragraph => c.type === 'paragraph');
    const strong = first?.children.find((c) => c.type === 'strong');
    const title = (strong ? nodeText(strong) : first ? nodeText(first).split('\n')[0] : '').trim();
    const number = start + index;
    const blocks = codeNodes(item).map((c) => codeBlock(c, sectionId, file, number));
    return { number, title, text: nodeText(item), line: lineOf(item), codeBlocks: blocks, expected: expectedLines(blocks) };
  });
}

function tableOf(node: MdTable): Table {
  const [head, ...body] = node.children;
  return {
    header: head ? head.children.map((cell) => nodeText(cell).trim()) : [],
    rows: body.map((row) => row.children.map((cell) => nodeText(cell).trim())),
    line: lineOf(node),
    rowLines: body.map(lineOf),
  };
}

/** `**Name**: value` pairs of a paragraph (one per line). */
function fieldsOf(paragraph: Paragraph, into: Section['fields']): void {
  const children = paragraph.children;
  for (let i = 0; i < children.length; i++) {
    const node = children[i];
    const next = children[i + 1];
    if (node.type !== 'strong' || next?.type !== 'text' || !next.value.startsWith(':')) continue;
    let value = next.value.slice(1);
    // The value may continue in inline nodes (code, links) up to the end of the line.
    for (let j = i + 2; !value.includes('\n') && j < children.length && children[j].type !== 'strong'; j++) {
      value += nodeText(children[j]);
    }
    into[nodeText(node).trim().toLowerCase()] = { value: value.split('\n')[0].trim(), line: lineOf(node) };
  }
}

interface Draft {
  section: Section;
  ownKind?: SectionKind;
  explicitKind: boolean;
  content: RootContent[];
}

export function parseRunbook(text: string, file: string): Runbook {
  const root = unified().use(remarkParse).use(remarkGfm).parse(text) as Root;
  const headings = root.children.filter((n): n is Heading => n.type === 'heading');
  const title = headings.find((h) => h.depth === 1);
  if (!title) throw new RunbookError(file, 1, 'a runbook starts with a level-1 heading (its title)');

  const slugCount = new Map<string, number>();
  for (const h of headings) {
    const slug = slugify(nodeText(h));
    slugCount.set(slug, (slugCount.get(slug) ?? 0) + 1);
  }

  const drafts: Draft[] = [];
  const byId = new Map<string, Draft>();
  const stack: Draft[] = [];
  let current: Draft | undefined;
  for (const node of root.children) {
    if (node.type !== 'heading') {
      if (!current) {
        if (node.type === 'code') throw new RunbookError(file, lineOf(node), 'code block before the first heading');
        continue;
      }
      current.content.push(node);
      continue;
    }
    const heading = nodeText(node).trim();
    const slug = slugify(heading);
    if (!slug) throw new RunbookError(file, lineOf(node), `heading '${heading}' gives an empty section id`);
    while (stack.length && stack[stack.length - 1].section.depth >= node.depth) stack.pop();
    const parent = stack[stack.length - 1];
    const id = (slugCount.get(slug) ?? 0) > 1 && parent ? `${parent.section.id}/${slug}` : slug;
    if (byId.has(id)) {
      throw new RunbookError(file, lineOf(node), `section id '${id}' is used twice (first at line ${byId.get(id)!.section.line}); rename one heading`);
    }
    const section: Section = {
      id,
      title: heading,
      depth: node.depth,
      line: lineOf(node),
      endLine: 0,
      parentId: parent?.section.id,
      childIds: [],
      fields: {},
      steps: [],
      codeBlocks: [],
      tables: [],
    };
    parent?.section.childIds.push(id);
    const ownKind = kindFromHeading(heading);
    current = { section, ownKind, explicitKind: false, content: [] };
    drafts.push(current);
    byId.set(id, current);
    stack.push(current);
  }

  for (const draft of drafts) fillContent(draft, file);
  assignKinds(drafts, byId);

  const totalLines = text.split('\n').length;
  for (let i = 0; i < drafts.length; i++) {
    const s = drafts[i].section;
    const next = drafts.slice(i + 1).find((d) => d.section.depth <= s.depth);
    s.endLine = next ? next.section.line - 1 : totalLines;
  }
  return { name: path.basename(file).replace(/\.md$/, ''), file, title: nodeText(title).trim(), sections: drafts.map((d) => d.section) };
}

function fillContent(draft: Draft, file: string): void {
  const { section } = draft;
  for (const node of draft.content) {
    if (node.type === 'html') {
      const m = KIND_MARKER.exec(node.value.trim());
      if (!m) continue;
      if (!KINDS.has(m[1] as SectionKind)) {
        throw new RunbookError(file, lineOf(node), `unknown section kind '${m[1]}' (one of ${[...KINDS].join(', ')})`);
      }
      draft.ownKind = m[1] as SectionKind;
      draft.explicitKind = true;
    } else if (node.type === 'list' && node.ordered) {
      const steps = stepsOf(node, section.id, file);
      section.steps.push(...steps);
      section.codeBlocks.push(...steps.flatMap((s) => s.codeBlocks));
    } else if (node.type === 'table') {
      section.tables.push(tableOf(node));
    } else {
      if (node.type === 'paragraph') fieldsOf(node, section.fields);
      section.codeBlocks.push(...codeNodes(node).map((c) => codeBlock(c, section.id, file)));
    }
  }
}

/**
 * A heading pattern (Scenario N:, Emergency N:, P0–P3:, Issue:) or a `<!-- kind: … -->` marker gives a section
 * its kind; a section with runnable code and no kinded ancestor is a procedure. Sub-sections belong to the
 * nearest kinded ancestor (a scenario's Procedure and Rollback are parts of the scenario), except that a
 * procedure-shaped sub-section of a reference section is its own tested unit.
 */
function assignKinds(drafts: Draft[], byId: Map<string, Draft>): void {
  for (const draft of drafts) {
    const s = draft.section;
    const parent = s.parentId ? byId.get(s.parentId)?.section : undefined;
    // "reference" says "nothing here to run": it does not silence a procedure placed under it. A sub-section
    // with its own heading kind (Scenario 8: …) or with numbered steps that carry runnable code is tested on its
    // own, unless its own `<!-- kind: reference -->` marker says otherwise.
    const procedureUnderReference = parent?.kind === 'reference' && !draft.explicitKind && (draft.ownKind !== undefined || hasRunnableSteps(s));
    if (procedureUnderReference) {
      s.kind = draft.ownKind ?? 'procedure';
      s.unitId = s.id;
    } else if (parent?.unitId && !draft.explicitKind) {
      s.kind = parent.kind;
      s.unitId = parent.unitId;
    } else if (draft.ownKind) {
      s.kind = draft.ownKind;
      s.unitId = s.id;
    } else if (s.depth > 1 && s.codeBlocks.some((b) => EXECUTABLE_LANGS.has(b.lang))) {
      s.kind = 'procedure';
      s.unitId = s.id;
    }
  }
}

/** Numbered steps at least one of which has a block to run: the shape of a procedure. */
function hasRunnableSteps(section: Section): boolean {
  return section.steps.some((step) => step.codeBlocks.some((b) => EXECUTABLE_LANGS.has(b.lang)));
}

const cache = new Map<string, { mtimeMs: number; runbook: Runbook }>();

/** Resolves `schema-evolution` to runbooks/schema-evolution.md; a path is used as given. */
export function runbookPath(nameOrPath: string): string {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.md') || nameOrPath.endsWith('.txt')) return path.resolve(nameOrPath);
  return path.join(RUNBOOKS_DIR, `${nameOrPath}.md`);
}

/** Reads and parses a runbook (cached until the file changes). Missing or unreadable file → RunbookError. */
export function loadRunbook(nameOrPath: string): Runbook {
  const file = runbookPath(nameOrPath);
  const shown = path.relative(process.cwd(), file) || file;
  let mtimeMs: number;
  let text: string;
  try {
    mtimeMs = statSync(file).mtimeMs;
    const cached = cache.get(file);
    if (cached && cached.mtimeMs === mtimeMs) return cached.runbook;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such runbook' : code === 'EISDIR' ? 'is a directory, not a runbook' : `cannot read: ${code ?? String(error)}`;
    throw new RunbookError(shown, 0, reason);
  }
  if (text.includes('\u0000')) throw new RunbookError(shown, 1, 'binary file, not a markdown runbook');
  const runbook = parseRunbook(text, shown);
  cache.set(file, { mtimeMs, runbook });
  return runbook;
}

export function findSection(runbook: Runbook, id: string): Section | undefined {
  return runbook.sections.find((s) => s.id === id);
}

/** A section and all its sub-sections, in document order. */
export function sectionTree(runbook: Runbook, id: string): Section[] {
  const root = findSection(runbook, id);
  if (!root) return [];
  return runbook.sections.filter((s) => s === root || (s.line > root.line && s.line <= root.endLine));
}

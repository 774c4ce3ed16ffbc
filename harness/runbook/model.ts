/**
 * The parsed shape of a runbook: sections with stable ids, numbered steps, code blocks with their
 * dialect tags and line numbers, and tables. Plain data, so a scenario can attach it to a report.
 */
export type SectionKind = 'scenario' | 'emergency' | 'troubleshooting' | 'procedure' | 'reference';
/** The kinds the coverage gate requires a test for. */
export const TESTED_KINDS: readonly SectionKind[] = ['scenario', 'emergency', 'troubleshooting', 'procedure'];

export type SourceDialect = 'postgres' | 'sqlserver';
export type Side = 'source' | 'target';

export interface CodeBlock {
  lang: string;
  /** The info string after the language, e.g. `source=sqlserver`. */
  meta: string;
  tags: Record<string, string | true>;
  /** For SQL: which database it runs on; target SQL is PostgreSQL. */
  side?: Side;
  dialect?: SourceDialect;
  /** `connector=<name>` on a JSON connector config. */
  connector?: string;
  value: string;
  /** Line of the opening fence (1-based); the content starts on the next line. */
  line: number;
  sectionId: string;
  stepNumber?: number;
}

export interface Step {
  number: number;
  title: string;
  text: string;
  line: number;
  codeBlocks: CodeBlock[];
  /** `Expected: …` lines from the step's code blocks, comment markers removed. */
  expected: string[];
}

export interface Table {
  header: string[];
  rows: string[][];
  line: number;
  rowLines: number[];
}

export interface Section {
  id: string;
  title: string;
  depth: number;
  line: number;
  /** Last line that belongs to this section including its sub-sections. */
  endLine: number;
  parentId?: string;
  childIds: string[];
  /** Own kind (from the heading or a `<!-- kind: … -->` marker) or the kind inherited from an ancestor. */
  kind?: SectionKind;
  /** The section the coverage gate counts this one under (itself when it is a kinded root). */
  unitId?: string;
  /** `**Name**: value` lines of the section's own text, keyed by lower-case name. */
  fields: Record<string, { value: string; line: number }>;
  steps: Step[];
  /** Code blocks of the section's own content (not its sub-sections). */
  codeBlocks: CodeBlock[];
  tables: Table[];
}

export interface Runbook {
  /** File stem, e.g. `schema-evolution`. */
  name: string;
  file: string;
  title: string;
  sections: Section[];
}

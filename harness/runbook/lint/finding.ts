export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  file: string;
  line: number;
  /** Section id, or `-` before the first section. */
  section: string;
  severity: Severity;
  /** Short rule name, e.g. `json-syntax`, `debezium-1x-property`, `sql-not-checked`. */
  rule: string;
  message: string;
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.severity} [${f.section}] ${f.message} (${f.rule})`;
}

/** Where a block's content starts: findings add their 0-based line offset inside the block. */
export interface BlockContext {
  file: string;
  section: string;
  /** File line of the block's first content line. */
  firstLine: number;
}

export function at(ctx: BlockContext, offset: number, severity: Severity, rule: string, message: string): Finding {
  return { file: ctx.file, line: ctx.firstLine + offset, section: ctx.section, severity, rule, message };
}

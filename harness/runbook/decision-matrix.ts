/**
 * The schema change decision matrix as typed records. The matrix may give one `Auto-Handled?` column or one per
 * source dialect (`Auto-Handled? (PostgreSQL source)`, `Auto-Handled? (SQL Server source)`).
 */
import { RunbookError } from './errors.js';
import { loadRunbook } from './parse.js';
import type { Claim } from './claims.js';
import type { Runbook, Section, SourceDialect, Table } from './model.js';

export type AutoHandled = 'yes' | 'no' | 'partial';

export interface DecisionRow {
  changeType: string;
  autoHandled: Record<SourceDialect, AutoHandled>;
  actionRequired: string;
  downtime: boolean;
  riskLevel: string;
  line: number;
  /** Claims a scenario asserts: the Auto-Handled? cell for a dialect, and the Downtime? cell. */
  autoHandledClaim(dialect: SourceDialect): Claim;
  downtimeClaim(): Claim;
}

function autoHandledValue(cell: string, file: string, line: number): AutoHandled {
  const text = cell.toLowerCase();
  if (/\byes\b/.test(text)) return 'yes';
  if (/\bpartial\b/.test(text)) return 'partial';
  if (/\bno\b/.test(text)) return 'no';
  throw new RunbookError(file, line, `decision matrix: Auto-Handled? cell '${cell}' is not Yes, No or Partial`);
}

function yesNo(cell: string, file: string, line: number): boolean {
  if (/^\W*yes\b/i.test(cell)) return true;
  if (/^\W*no\b/i.test(cell)) return false;
  throw new RunbookError(file, line, `decision matrix: Downtime? cell '${cell}' is not Yes or No`);
}

function findMatrix(runbook: Runbook): { section: Section; table: Table } | undefined {
  for (const section of runbook.sections) {
    const table = section.tables.find((t) => t.header[0]?.toLowerCase() === 'change type');
    if (table) return { section, table };
  }
  return undefined;
}

export function decisionMatrix(runbookName: string): DecisionRow[] {
  const runbook = loadRunbook(runbookName);
  const found = findMatrix(runbook);
  if (!found) throw new RunbookError(runbook.file, 0, "no decision matrix (a table whose first column is 'Change Type')");
  const { section, table } = found;
  const col = (test: (h: string) => boolean, what: string) => {
    const index = table.header.findIndex((h) => test(h.toLowerCase()));
    if (index < 0) throw new RunbookError(runbook.file, table.line, `decision matrix has no '${what}' column`);
    return index;
  };
  const autoCols = table.header
    .map((h, i) => ({ h: h.toLowerCase(), i }))
    .filter(({ h }) => h.startsWith('auto-handled'));
  if (autoCols.length === 0) throw new RunbookError(runbook.file, table.line, "decision matrix has no 'Auto-Handled?' column");
  const autoColFor = (dialect: SourceDialect) => {
    const key = dialect === 'postgres' ? 'postgresql' : 'sql server';
    return (autoCols.find(({ h }) => h.includes(key)) ?? autoCols.find(({ h }) => !h.includes('('))) ?? autoCols[0];
  };
  const actionCol = col((h) => h.startsWith('action'), 'Action Required');
  const downtimeCol = col((h) => h.startsWith('downtime'), 'Downtime?');
  const riskCol = col((h) => h.startsWith('risk'), 'Risk Level');

  return table.rows.map((cells, r) => {
    const line = table.rowLines[r];
    const changeType = cells[0];
    const claim = (text: string): Claim => ({
      runbook: runbook.name,
      file: runbook.file,
      sectionId: section.id,
      sectionTitle: section.title,
      line,
      text,
    });
    const autoHandled = {
      postgres: autoHandledValue(cells[autoColFor('postgres').i] ?? '', runbook.file, line),
      sqlserver: autoHandledValue(cells[autoColFor('sqlserver').i] ?? '', runbook.file, line),
    };
    return {
      changeType,
      autoHandled,
      actionRequired: cells[actionCol] ?? '',
      downtime: yesNo(cells[downtimeCol] ?? '', runbook.file, line),
      riskLevel: cells[riskCol] ?? '',
      line,
      autoHandledClaim: (dialect: SourceDialect) => {
        const c = autoColFor(dialect);
        return claim(`${changeType}: ${table.header[c.i]} = ${autoHandled[dialect]}`);
      },
      downtimeClaim: () => claim(`${changeType}: Downtime? = ${cells[downtimeCol]}`),
    };
  });
}

/** One row by its Change Type text (case-insensitive), e.g. `ADD COLUMN (nullable)`. */
export function decisionRow(runbookName: string, changeType: string): DecisionRow {
  const rows = decisionMatrix(runbookName);
  const row = rows.find((r) => r.changeType.toLowerCase() === changeType.toLowerCase());
  if (!row) {
    throw new Error(`runbook '${runbookName}' decision matrix has no change type '${changeType}'; it has: ${rows.map((r) => r.changeType).join(', ')}`);
  }
  return row;
}

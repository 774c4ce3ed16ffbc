/**
 * A runbook's Change Log rows as claims: the one builder scenarios use when a test proves a row.
 * The Change Log is the table whose first column is `#` and that has a "This runbook does" column.
 */
import type { Claim } from './claims.js';
import { loadRunbook } from './parse.js';

export interface ChangeLogClaim extends Claim {
  /** The row's cells by column header. */
  row: Record<string, string>;
}

/**
 * Row `n` of the runbook's Change Log as a claim. Without `statement` the claim is the row's whole "This runbook
 * does" cell; with it, one statement of that cell (throws when the row no longer says it, so an edited row
 * cannot leave a test proving a sentence the runbook dropped).
 */
export function changeLogClaim(runbookName: string, n: number, statement?: string): ChangeLogClaim {
  const runbook = loadRunbook(runbookName);
  for (const section of runbook.sections) {
    for (const table of section.tables) {
      const does = table.header.map((h) => h.trim().toLowerCase()).indexOf('this runbook does');
      if (table.header[0]?.trim() !== '#' || does < 0) continue;
      const r = table.rows.findIndex((row) => row[0]?.trim() === String(n));
      if (r < 0) throw new Error(`${runbook.file}: the Change Log has no row ${n}`);
      const cells = table.rows[r]!;
      const says = cells[does] ?? '';
      if (statement !== undefined && !says.includes(statement)) {
        throw new Error(`${runbook.file}:${table.rowLines[r]}: Change Log row ${n} no longer says "${statement}"`);
      }
      return {
        runbook: runbook.name,
        file: runbook.file,
        sectionId: section.id,
        sectionTitle: section.title,
        line: table.rowLines[r]!,
        text: `Change Log #${n} (${cells[1] ?? ''}): ${statement ?? says}`,
        row: Object.fromEntries(table.header.map((h, i) => [h, cells[i] ?? ''])),
      };
    }
  }
  throw new Error(`${runbook.file}: no Change Log table (columns '# | … | This runbook does | …')`);
}

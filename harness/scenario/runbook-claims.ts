/**
 * A runbook's prose, a step's sentence or a code block's comment as a claim a scenario can assert with its file:line
 * (change-log rows have their builder in harness/runbook/change-log.ts).
 */
import { readFileSync } from 'node:fs';
import { type Claim } from '../runbook/claims.js';
import { type CodeBlock } from '../runbook/model.js';
import { type RunbookSection } from '../runbook/section.js';

/** A sentence of a step's prose as a claim a scenario can assert (throws if the runbook no longer says it). */
export function proseClaim(section: RunbookSection, n: number, sentence: string): Claim {
  const step = section.step(n);
  const flat = step.text.replace(/\s+/g, ' ');
  if (!flat.includes(sentence)) throw new Error(`${section.file} [${section.id}] step ${n} no longer says "${sentence}"`);
  return { runbook: section.runbook, file: section.file, sectionId: section.id, sectionTitle: section.title, line: step.line, text: sentence };
}

/** A statement in a section's text (any line of it, bullets included) as a claim; throws if the runbook no longer says it. */
export function textClaim(section: RunbookSection, statement: string): Claim {
  const lines = readFileSync(section.file, 'utf8').split('\n');
  for (let i = section.line - 1; i < section.endLine; i++) {
    if (lines[i]!.includes(statement)) return { runbook: section.runbook, file: section.file, sectionId: section.id, sectionTitle: section.title, line: i + 1, text: statement };
  }
  throw new Error(`${section.file} [${section.id}] no longer says "${statement}"`);
}

/** A statement inside a section's code block (a `# …` comment line, say) as a checkable claim, with its line. */
export function blockClaim(section: { runbook: string; file: string; id: string; title: string }, block: CodeBlock, text: string): Claim {
  const first = text.split(/\s+/).slice(0, 4).join(' ');
  const index = block.value.split('\n').findIndex((l) => l.replace(/^\s*#\s*/, '').replace(/\s+/g, ' ').includes(first));
  return { runbook: section.runbook, file: section.file, sectionId: section.id, sectionTitle: section.title, line: block.line + 1 + Math.max(index, 0), text };
}

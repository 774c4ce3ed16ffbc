/**
 * `.properties` blocks: Java properties have no inline comments (`key=value  # note` makes the note part of the
 * value), and Debezium 1.x names are reported as in JSON configs.
 */
import { at, type BlockContext, type Finding } from './finding.js';
import { renamedProperty } from './connector-rules.js';

const ANY_DEBEZIUM_SOURCE = 'io.debezium.connector.any';

export function lintProperties(text: string, ctx: BlockContext): Finding[] {
  const findings: Finding[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) return;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) return;
    const [, key, value] = m;
    if (/\s[#!]/.test(value)) {
      findings.push(at(ctx, i, 'warning', 'properties-inline-comment', `'${key}': a .properties value has no inline comments; the value is '${value}'`));
    }
    const current = renamedProperty(ANY_DEBEZIUM_SOURCE, key);
    if (current) findings.push(at(ctx, i, 'error', 'debezium-1x-property', `'${key}' is a Debezium 1.x name, ignored since 2.0; use '${current}'`));
  });
  return findings;
}

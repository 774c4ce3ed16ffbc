/**
 * A runbook's connector JSON block (```json connector=NAME```) saved as the deploy file the section tells the operator
 * to save (`config/<name>.json` in the shell's working directory), as written but for the runbook's pipeline names:
 * the topic prefix (`warehouse`), slot (`debezium_warehouse`) and publication (`dbz_warehouse`) become the scenario's
 * own, so that its topics and slot are its own on the shared stack. `${...}` placeholders stay for
 * `runbook-harness connector deploy --file` to fill, as in the runbook.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_PIPELINE, type PipelineNames } from '../env/connector-variables.js';
import { type ConnectorDefinition } from '../pipeline/connector-config.js';
import { type CodeBlock } from '../runbook/model.js';

export interface SavedConnector {
  /** The path the section names, relative to the shell's working directory. */
  relative: string;
  file: string;
  definition: ConnectorDefinition;
  /** Each setting changed from the runbook's text: key → [runbook value, saved value]. */
  renamed: Record<string, [string, string]>;
}

/** The runbook's topic prefix where it stands as a prefix: alone, or before `.` / `\.` (not inside warehouse_source). */
const RUNBOOK_PREFIX = new RegExp(`(?<![\\w])${DEFAULT_PIPELINE.topicPrefix}(?=$|\\.|\\\\\\.)`, 'g');

/** The runbook block's config with the scenario's names in place of the runbook's; everything else as written. */
export function withScenarioNames(definition: ConnectorDefinition, names: Pick<PipelineNames, 'topicPrefix' | 'slotName' | 'publicationName'>): { definition: ConnectorDefinition; renamed: Record<string, [string, string]> } {
  const renamed: Record<string, [string, string]> = {};
  const config = Object.fromEntries(
    Object.entries(definition.config).map(([key, value]) => {
      let next = value === DEFAULT_PIPELINE.slotName ? names.slotName : value === DEFAULT_PIPELINE.publicationName ? names.publicationName : value;
      next = next.replace(RUNBOOK_PREFIX, names.topicPrefix);
      if (next !== value) renamed[key] = [value, next];
      return [key, next];
    }),
  );
  return { definition: { name: definition.name, config }, renamed };
}

/** Saves the block as `config/<connector>.json` under `cwd` with the scenario's names (see withScenarioNames). */
export function saveRunbookConnector(block: CodeBlock, cwd: string, names: Pick<PipelineNames, 'topicPrefix' | 'slotName' | 'publicationName'>): SavedConnector {
  if (block.lang !== 'json' || !block.connector) throw new Error(`runbook block at line ${block.line} is not a \`json connector=NAME\` block`);
  const parsed = JSON.parse(block.value) as ConnectorDefinition;
  if (parsed.name !== block.connector) throw new Error(`runbook block at line ${block.line}: connector=${block.connector} but the JSON names '${parsed.name}'`);
  const { definition, renamed } = withScenarioNames(parsed, names);
  const relative = path.join('config', `${definition.name}.json`);
  const file = path.join(cwd, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(definition, null, 2), { mode: 0o600 });
  return { relative, file, definition, renamed };
}

/**
 * Connector configs come from the JSON templates in fixtures/connectors/. `${UPPER_CASE}` placeholders
 * are filled from variables; lower-case ones such as the sink's `${source.table}` belong to Debezium
 * and are left as they are.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../core/errors.js';
import type { ConnectorConfig } from './connect-client.js';

export const CONNECTOR_TEMPLATES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'connectors');

export interface ConnectorDefinition {
  name: string;
  config: ConnectorConfig;
}

const PLACEHOLDER = /\$\{([A-Z][A-Z0-9_]*)\}/g;

export function fillTemplate(definition: ConnectorDefinition, variables: Record<string, string>, origin = definition.name): ConnectorDefinition {
  const config: ConnectorConfig = {};
  for (const [key, value] of Object.entries(definition.config)) {
    config[key] = value.replace(PLACEHOLDER, (_, variable: string) => {
      const replacement = variables[variable];
      if (replacement === undefined) throw new HarnessError(`${origin}: '${key}' uses \${${variable}}, which has no value; known: ${Object.keys(variables).sort().join(', ')}`);
      return replacement;
    });
  }
  return { name: definition.name, config };
}

/** Reads a connector file ({ name, config }) and fills its placeholders. */
export function loadConnectorFile(file: string, variables: Record<string, string> = {}): ConnectorDefinition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new HarnessError(`connector config ${file}: ${reason}; give a JSON file of the form {"name": …, "config": {…}}`);
  }
  const definition = parsed as Partial<ConnectorDefinition>;
  if (typeof definition.name !== 'string' || typeof definition.config !== 'object' || definition.config === null) {
    throw new HarnessError(`connector config ${file}: expected {"name": string, "config": {…}}`);
  }
  return fillTemplate({ name: definition.name, config: definition.config }, variables, file);
}

/** One of the templates in fixtures/connectors, by connector name. */
export function loadConnectorTemplate(name: string, variables: Record<string, string>): ConnectorDefinition {
  return loadConnectorFile(path.join(CONNECTOR_TEMPLATES, `${name}.json`), variables);
}

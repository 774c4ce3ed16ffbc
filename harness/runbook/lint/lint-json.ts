/**
 * JSON blocks (and JSON bodies of shell heredocs): they must parse as JSON; a connector config must name an
 * installed class and current Debezium property names.
 */
import { at, type BlockContext, type Finding } from './finding.js';
import { CLASS_REPLACEMENTS, renamedProperty } from './connector-rules.js';

export interface ConnectorConfig {
  name?: string;
  config: Record<string, string>;
  ctx: BlockContext;
  /** 0-based line inside the block of each key, for findings. */
  keyLine: (key: string) => number;
}

/** `//` comments outside strings, per line (0-based line numbers). */
function commentLines(text: string): number[] {
  const lines: number[] = [];
  text.split('\n').forEach((line, i) => {
    let inString = false;
    for (let j = 0; j < line.length; j++) {
      const c = line[j];
      if (c === '\\' && inString) j++;
      else if (c === '"') inString = !inString;
      else if (!inString && c === '/' && line[j + 1] === '/') {
        lines.push(i);
        return;
      }
    }
  });
  return lines;
}

function stripComments(text: string, lines: number[]): string {
  const set = new Set(lines);
  return text
    .split('\n')
    .map((line, i) => (set.has(i) ? line.replace(/(^|[^:"])\/\/.*$/, '$1').replace(/^\s*\/\/.*$/, '') : line))
    .join('\n');
}

function positionLine(text: string, message: string): number {
  const m = /position (\d+)/.exec(message);
  return m ? text.slice(0, Number(m[1])).split('\n').length - 1 : 0;
}

/** Parses the block; returns findings and, for a connector config, the config to check further. */
export function lintJson(text: string, ctx: BlockContext, installed: string[]): { findings: Finding[]; connector?: ConnectorConfig } {
  const findings: Finding[] = [];
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const comments = commentLines(text);
    for (const line of comments) findings.push(at(ctx, line, 'error', 'json-syntax', "JSON has no comments: '//' makes the config unparseable"));
    try {
      data = JSON.parse(stripComments(text, comments));
    } catch (inner) {
      const message = (inner as Error).message.split('\n')[0];
      findings.push(at(ctx, positionLine(text, message), 'error', 'json-syntax', `not valid JSON: ${message}`));
      return { findings };
    }
    if (comments.length === 0) {
      const message = (error as Error).message.split('\n')[0];
      findings.push(at(ctx, positionLine(text, message), 'error', 'json-syntax', `not valid JSON: ${message}`));
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { findings };
  const obj = data as Record<string, unknown>;
  const nested = typeof obj.config === 'object' && obj.config !== null ? (obj.config as Record<string, unknown>) : undefined;
  const raw = nested ?? obj;
  const connectorClass = raw['connector.class'];
  if (typeof connectorClass !== 'string') return { findings };

  const lines = text.split('\n');
  const lineOfKey = (key: string) => lines.findIndex((l) => l.includes(`"${key}"`));
  // A key the config lacks (e.g. one Connect says is required) is reported at the connector class.
  const keyLine = (key: string) => Math.max(0, lineOfKey(key) >= 0 ? lineOfKey(key) : lineOfKey('connector.class'));
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string') config[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') {
      config[key] = String(value);
      findings.push(at(ctx, keyLine(key), 'warning', 'connector-value-type', `'${key}' is a JSON ${typeof value}; Kafka Connect config values are strings`));
    } else findings.push(at(ctx, keyLine(key), 'error', 'connector-value-type', `'${key}' must be a string`));
  }

  if (!installed.includes(connectorClass)) {
    const instead = CLASS_REPLACEMENTS[connectorClass];
    findings.push(
      at(ctx, keyLine('connector.class'), 'error', 'connector-class-not-installed',
        `connector class ${connectorClass} is not installed on this stack${instead ? `; use ${instead}` : ` (installed: ${installed.join(', ')})`}`),
    );
  }
  for (const key of Object.keys(config)) {
    const current = renamedProperty(connectorClass, key);
    if (current) {
      findings.push(at(ctx, keyLine(key), 'error', 'debezium-1x-property', `'${key}' is a Debezium 1.x name, ignored since 2.0; use '${current}'`));
    }
  }
  const name = typeof obj.name === 'string' ? obj.name : undefined;
  return { findings, connector: { name, config, ctx, keyLine } };
}

/**
 * Placeholders the reader replaces: `<table_name>`, `<migration-id>`. They are swapped for a neutral identifier
 * of the same kind before parsing, so a template is checked as the statement it will become.
 */
export const PLACEHOLDER = /<([a-z][a-z0-9]*(?:[_-][a-z0-9]+)*)>/gi;

export function replacePlaceholders(text: string, prefix = 'ph_'): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => `${prefix}${name.replace(/-/g, '_')}`);
}

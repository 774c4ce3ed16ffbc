/** A section id from a heading: lower case, runs of anything but letters and digits become one hyphen. */
export function slugify(heading: string): string {
  return heading
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

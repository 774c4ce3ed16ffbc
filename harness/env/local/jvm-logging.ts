import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Loggers to raise to DEBUG, for diagnosis: RUNBOOK_HARNESS_DEBUG_LOGGERS=a.b.C,d.e.F (the sink-stall
 * reproductions use WorkerSinkTask and the JDBC sink task).
 */
function debugLoggers(): string[] {
  const names = (process.env.RUNBOOK_HARNESS_DEBUG_LOGGERS ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  return names.flatMap((logger, i) => [`logger.debug${i}.name = ${logger}`, `logger.debug${i}.level = DEBUG`]);
}

/** Kafka 4 logs through log4j2; INFO to stdout (the component's log file), chatty loggers at WARN. */
export function writeLog4jConfig(dataDir: string, name: string): string {
  const file = path.join(dataDir, `${name}-log4j2.properties`);
  writeFileSync(
    file,
    [
      'status = warn',
      'appender.out.type = Console',
      'appender.out.name = OUT',
      'appender.out.layout.type = PatternLayout',
      'appender.out.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.out.ref = OUT',
      'logger.kafka.name = kafka',
      'logger.kafka.level = WARN',
      'logger.kafkaorg.name = org.apache.kafka',
      'logger.kafkaorg.level = WARN',
      'logger.connect.name = org.apache.kafka.connect',
      'logger.connect.level = INFO',
      'logger.reflections.name = org.reflections',
      'logger.reflections.level = ERROR',
      ...debugLoggers(),
      '',
    ].join('\n'),
  );
  return file;
}

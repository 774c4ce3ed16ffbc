import { writeFileSync } from 'node:fs';
import path from 'node:path';

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
      '',
    ].join('\n'),
  );
  return file;
}

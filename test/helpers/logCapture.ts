import type { Logger } from 'pino';
import { createLogger } from '../../server/logger.js';

export interface LogCapture {
  logger: Logger;
  /** Everything written so far, exactly as it would reach stdout. */
  text(): string;
  /** The JSON log lines parsed. */
  entries(): Record<string, unknown>[];
}

/** The production logger (same redaction) writing into memory, so a test can read what would be logged. */
export function captureLogs(level = 'debug'): LogCapture {
  const chunks: string[] = [];
  const logger = createLogger(level, { write: (chunk: string) => void chunks.push(chunk) });
  return {
    logger,
    text: () => chunks.join(''),
    entries: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

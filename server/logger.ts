import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * Structured JSON logs. Secrets never reach them: cookies, passwords and
 * session ids are redacted by path as a second line of defence; the code
 * itself only logs short session tags.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      redact: {
        paths: ['password', '*.password', 'newPassword', 'currentPassword', 'cookie', '*.cookie', 'headers.cookie', '*.headers.cookie', 'headers["set-cookie"]'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

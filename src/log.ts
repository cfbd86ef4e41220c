// Structured JSON logs (pino) that carry secretId and runId and pass through redaction.
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { scrub } from './redact.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** @defaultValue process.env.ROTOR_LOG_LEVEL ?? 'info' */
  level?: string;
  /** Where lines go. @defaultValue standard error, so command output on stdout stays clean */
  destination?: DestinationStream;
}

const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'value',
  '*.value',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.ROTOR_LOG_LEVEL ?? 'info',
      base: { service: 'rotor' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Last line of defence: any tracked secret value is scrubbed from the serialized line.
      hooks: { streamWrite: (line: string) => scrub(line) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for library callers and tests that do not care. */
export const silentLogger: Logger = pino({ level: 'silent' });

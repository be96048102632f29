import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { type GatehouseOptions, MIN_KEY_LENGTH } from './options.js';
import { storeUrlProblem } from './store/storeUrl.js';

export type RuntimeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The reference server's settings, read from the environment once and frozen. */
export interface ReferenceConfig {
  readonly env: RuntimeEnv;
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  /** True when `SESSION_KEYS` was unset and a key was generated (development only). */
  readonly keysGenerated: boolean;
  /**
   * `METRICS_PORT` (and `METRICS_HOST`, default 127.0.0.1): where the
   * reference server serves Prometheus's `GET /metrics`, never on the
   * public port. Unset: no metrics endpoint.
   */
  readonly metrics?: { readonly port: number; readonly host: string };
  /** What `createGatehouse` gets (add a `logger`). */
  readonly gatehouse: Readonly<GatehouseOptions & { store: string; storeNamespace: string; storeTimeout: number }>;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const duration = (name: string, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a positive duration in seconds or with a unit (e.g. 1800, 30m, 12h), got "${text}"`,
        });
        return z.NEVER;
      }
      return ms;
    });

const positiveInt = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a whole number` })
    .int({ error: `${name} must be a whole number` })
    .positive({ error: `${name} must be greater than 0` })
    .default(fallback);

const boolFlag = (name: string) =>
  z
    .enum(['0', '1', 'true', 'false'], { error: `${name} must be 1 or 0` })
    .default('0')
    .transform((v) => v === '1' || v === 'true');

const onOff = (name: string) =>
  z
    .string()
    .default('on')
    .transform((text, ctx) => {
      const value = text.trim().toLowerCase();
      if (['on', 'true', '1'].includes(value)) return true;
      if (['off', 'false', '0'].includes(value)) return false;
      ctx.addIssue({ code: 'custom', message: `${name} must be on or off, got "${text}"` });
      return z.NEVER;
    });

/**
 * The longest `SESSION_STAY_SIGNED_IN`: browsers cap a cookie's lifetime at 400 days (RFC 6265bis, Chrome since
 * 104), so a longer `sid-remember` would end at 400 days anyway, earlier than the setting says.
 */
const MAX_STAY_SIGNED_IN_DAYS = 400;
const DAY_MS = 86_400_000;

/**
 * `SESSION_STAY_SIGNED_IN`: `off`, `on` (the library's 30 days), or the device credential's lifetime with its
 * unit (`14d`), at most 400 days. `1` and `0` are on and off, as for the other flags; any other bare number is
 * refused (is `30` seconds or days?).
 */
const staySignedIn = z
  .string()
  .default('on')
  .transform((text, ctx): number | boolean => {
    const value = text.trim().toLowerCase();
    if (['on', 'true', '1'].includes(value)) return true;
    if (['off', 'false', '0'].includes(value)) return false;
    if (/^\d+(?:\.\d+)?$/.test(value)) {
      ctx.addIssue({ code: 'custom', message: `SESSION_STAY_SIGNED_IN needs a unit: ${value}d for days, ${value}h for hours (got "${text}")` });
      return z.NEVER;
    }
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `SESSION_STAY_SIGNED_IN must be off, on (30 days), or the device credential's lifetime with a unit (e.g. 14d, 720h), got "${text}"`,
      });
      return z.NEVER;
    }
    if (ms > MAX_STAY_SIGNED_IN_DAYS * DAY_MS) {
      ctx.addIssue({
        code: 'custom',
        message: `SESSION_STAY_SIGNED_IN must be at most ${MAX_STAY_SIGNED_IN_DAYS}d, got "${text}": browsers cap a cookie's lifetime at ${MAX_STAY_SIGNED_IN_DAYS} days, so a longer one would end earlier than it says. Use ${MAX_STAY_SIGNED_IN_DAYS}d or less`,
      });
      return z.NEVER;
    }
    return ms;
  });

const envSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'], {
      error: 'NODE_ENV must be development, production or test',
    })
    .default('development'),
  PORT: z.coerce
    .number({ error: 'PORT must be a number' })
    .int({ error: 'PORT must be a whole number' })
    .min(0, { error: 'PORT must be between 0 and 65535' })
    .max(65535, { error: 'PORT must be between 0 and 65535' })
    .default(3000),
  HOST: z.string().min(1, { error: 'HOST must not be empty' }).default('127.0.0.1'),
  METRICS_PORT: z.coerce
    .number({ error: 'METRICS_PORT must be a number (the port of the Prometheus endpoint, e.g. 9464)' })
    .int({ error: 'METRICS_PORT must be a whole number' })
    .min(0, { error: 'METRICS_PORT must be between 0 and 65535' })
    .max(65535, { error: 'METRICS_PORT must be between 0 and 65535' })
    .optional(),
  METRICS_HOST: z.string().min(1, { error: 'METRICS_HOST must not be empty (default 127.0.0.1: only this machine scrapes)' }).default('127.0.0.1'),
  SESSION_STORE_URL: z
    .string()
    .default('sqlite://data/gatehouse.sqlite')
    .superRefine((url, ctx) => {
      const problem = storeUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: `SESSION_STORE_URL ${problem}` });
    }),
  SESSION_STORE_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'SESSION_STORE_NAMESPACE must be 1–64 characters of letters, digits, "_", "." and "-"' })
    .default('gatehouse'),
  SESSION_KEYS: z.string().optional(),
  SESSION_IDLE_TIMEOUT: duration('SESSION_IDLE_TIMEOUT', '30m'),
  SESSION_ABSOLUTE_TIMEOUT: duration('SESSION_ABSOLUTE_TIMEOUT', '12h'),
  SESSION_STORE_TIMEOUT: duration('SESSION_STORE_TIMEOUT', '1000ms'),
  SESSION_FRESH_LOGIN_WINDOW: duration('SESSION_FRESH_LOGIN_WINDOW', '10m'),
  SESSION_MAX_PER_USER: positiveInt('SESSION_MAX_PER_USER', 10).refine((n) => n <= 1000, {
    error: 'SESSION_MAX_PER_USER must be at most 1000',
  }),
  SESSION_BEARER: onOff('SESSION_BEARER'),
  SESSION_STAY_SIGNED_IN: staySignedIn,
  SESSION_COOKIE_SAMESITE: z
    .enum(['lax', 'strict', 'Lax', 'Strict'], { error: 'SESSION_COOKIE_SAMESITE must be lax or strict' })
    .default('lax')
    .transform((v) => v.toLowerCase() as 'lax' | 'strict'),
  TRUST_PROXY: boolFlag('TRUST_PROXY'),
  ALLOWED_ORIGINS: z.string().default(''),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .optional(),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveInt('LOGIN_MAX_FAILURES_PER_ACCOUNT', 5),
  LOGIN_MAX_FAILURES_PER_ADDRESS: positiveInt('LOGIN_MAX_FAILURES_PER_ADDRESS', 100),
  REGISTER_MAX_PER_ADDRESS: positiveInt('REGISTER_MAX_PER_ADDRESS', 20),
  LOGIN_THROTTLE_WINDOW: duration('LOGIN_THROTTLE_WINDOW', '15m'),
});

function parseOrigins(text: string): { origins: string[]; bad: string[] } {
  const origins: string[] = [];
  const bad: string[] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    try {
      const url = new URL(raw);
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== raw.replace(/\/$/, '')) {
        bad.push(raw);
      } else {
        origins.push(url.origin);
      }
    } catch {
      bad.push(raw);
    }
  }
  return { origins, bad };
}

/**
 * The reference server's configuration from the environment: `PORT`,
 * `HOST`, `NODE_ENV`, `LOG_LEVEL`, and the `SESSION_*` (`SESSION_BEARER` and
 * `SESSION_STAY_SIGNED_IN` on by default here, off in the library), `TRUST_PROXY`,
 * `ALLOWED_ORIGINS` and throttle variables mapped onto `createGatehouse`'s
 * options (`config.gatehouse`). Reads and validates them once. Throws a `ConfigError` whose
 * message lists every problem, each naming the variable and the fix.
 *
 * @example loadConfig({ NODE_ENV: 'test', SESSION_STORE_URL: 'memory://' })
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ReferenceConfig {
  const parsed = envSchema.safeParse(withoutBlanks(env));
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(issue.message);
    throw new ConfigError(formatProblems(problems));
  }
  const e = parsed.data;

  let sessionKeys = (e.SESSION_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  let sessionKeysGenerated = false;
  if (sessionKeys.length === 0 && e.NODE_ENV !== 'production') {
    sessionKeys = [randomBytes(32).toString('base64url')];
    sessionKeysGenerated = true;
  }
  if (sessionKeys.length === 0 || sessionKeys.some((k) => k.length < MIN_KEY_LENGTH)) {
    problems.push(
      e.NODE_ENV === 'production'
        ? `SESSION_KEYS must hold at least one key of ${MIN_KEY_LENGTH}+ characters in production (comma-separated, newest first). Generate one with: openssl rand -base64 48`
        : `SESSION_KEYS: every key must be at least ${MIN_KEY_LENGTH} characters. Generate one with: openssl rand -base64 48`,
    );
  }
  if (e.SESSION_ABSOLUTE_TIMEOUT < e.SESSION_IDLE_TIMEOUT) {
    problems.push('SESSION_ABSOLUTE_TIMEOUT must be at least SESSION_IDLE_TIMEOUT');
  }
  if (typeof e.SESSION_STAY_SIGNED_IN === 'number' && e.SESSION_STAY_SIGNED_IN <= e.SESSION_IDLE_TIMEOUT) {
    problems.push(
      `SESSION_STAY_SIGNED_IN (the device credential's lifetime) must be longer than SESSION_IDLE_TIMEOUT: a credential that ends before the session idles out never resumes one. Use e.g. 30d, or off`,
    );
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    problems.push('METRICS_PORT must differ from PORT: the metrics endpoint has a port of its own, never the public one');
  }
  const { origins, bad } = parseOrigins(e.ALLOWED_ORIGINS);
  if (bad.length > 0) {
    problems.push(
      `ALLOWED_ORIGINS must be a comma-separated list of origins like https://app.example.com (no path); bad: ${bad.join(', ')}`,
    );
  }
  if (problems.length > 0) throw new ConfigError(formatProblems(problems));

  const production = e.NODE_ENV === 'production';
  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    keysGenerated: sessionKeysGenerated,
    ...(e.METRICS_PORT === undefined ? {} : { metrics: Object.freeze({ port: e.METRICS_PORT, host: e.METRICS_HOST }) }),
    gatehouse: Object.freeze({
      keys: Object.freeze(sessionKeys),
      store: e.SESSION_STORE_URL,
      storeNamespace: e.SESSION_STORE_NAMESPACE,
      storeTimeout: e.SESSION_STORE_TIMEOUT,
      idleTimeout: e.SESSION_IDLE_TIMEOUT,
      absoluteTimeout: e.SESSION_ABSOLUTE_TIMEOUT,
      maxSessionsPerUser: e.SESSION_MAX_PER_USER,
      freshLoginWindow: e.SESSION_FRESH_LOGIN_WINDOW,
      // Secure, __Host- cookies in production; plain HTTP on a development machine. The reference server is the
      // only app on its site, so a logout may clear every cookie of it (Clear-Site-Data), the stronger default.
      cookie: Object.freeze({ sameSite: e.SESSION_COOKIE_SAMESITE, secure: production, clearSiteData: true }),
      // The reference server shows every client kind: bearer sessions for CLIs and native apps, and the demo page's
      // "stay signed in on this device" checkbox (each login still opts in).
      bearer: e.SESSION_BEARER,
      staySignedIn: typeof e.SESSION_STAY_SIGNED_IN === 'number' ? Object.freeze({ lifetime: e.SESSION_STAY_SIGNED_IN }) : e.SESSION_STAY_SIGNED_IN,
      trustProxy: e.TRUST_PROXY,
      allowedOrigins: Object.freeze(origins),
      throttle: Object.freeze({
        perAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT,
        perAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS,
        registerPerAddress: e.REGISTER_MAX_PER_ADDRESS,
        window: e.LOGIN_THROTTLE_WINDOW,
      }),
    }),
  });
}

/**
 * The environment with each value trimmed and an empty one dropped: `SESSION_IDLE_TIMEOUT=` (a template left
 * blank, `VAR=${UNSET}` in a compose file) means "not set, use the default", never an empty value (which
 * `PORT` would read as 0) or a stray space that fails to parse.
 */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const trimmed = value?.trim();
    if (trimmed) kept[name] = trimmed;
  }
  return kept;
}

function formatProblems(problems: string[]): string {
  return `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}

/**
 * `loadConfig()` for process entries: on a bad environment, prints the one
 * readable message (no stack trace) and exits with status 1.
 */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): ReferenceConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

import type * as Api from '@opentelemetry/api';
import { errorMessages } from '../../shared/errors.js';
import type { SessionEvent } from '../session/sessionEvents.js';
import type { StoreKind } from '../store/keyValueStore.js';
import { isStoreUnavailable, isStoreUnconfirmed } from '../store/storeErrors.js';
import { NO_TELEMETRY, type AttemptOutcome, type SpanName, type Telemetry, type ThrottleReason } from './telemetry.js';

/**
 * Bucket boundaries of the store operation histogram, in seconds: a memory
 * store answers in microseconds, Redis in a fraction of a millisecond, a
 * store in trouble in up to its deadline (a second by default).
 */
export const STORE_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** `db.system.name` (OpenTelemetry's database conventions) where a backend has one. */
const DB_SYSTEM: Partial<Record<StoreKind, string>> = { redis: 'redis', postgres: 'postgresql', sqlite: 'sqlite' };

const SCOPE = 'koa-gatehouse';

/**
 * `error.type` of a failed store operation or span: a closed set, so a metric never grows a series per
 * message. `unconfirmed`: a durable write made, but not acknowledged by its replicas in time (`waitReplicas`);
 * `timeout`: no answer within the deadline; `unavailable`: the store answered with an error; `_OTHER`
 * (OpenTelemetry's value for an unknown type): anything else, a bug rather than an outage.
 */
export type StoreErrorType = 'unconfirmed' | 'timeout' | 'unavailable' | '_OTHER';

export function storeErrorType(error: unknown): StoreErrorType {
  // Unconfirmed first: it is a kind of StoreUnavailableError, and a store that answered is not one that is down.
  if (isStoreUnconfirmed(error)) return 'unconfirmed';
  if (isStoreUnavailable(error)) return error.timedOut ? 'timeout' : 'unavailable';
  return '_OTHER';
}

/** What Gatehouse uses of `@opentelemetry/api`. */
export type OpenTelemetryApi = Pick<typeof Api, 'metrics' | 'trace' | 'context' | 'createNoopMeter' | 'ProxyTracerProvider' | 'SpanStatusCode'>;

/**
 * Telemetry through `@opentelemetry/api`. With neither a meter provider nor
 * a tracer provider registered, Gatehouse records nothing and wraps nothing
 * (`NO_TELEMETRY`): the API's no-op calls are not even made.
 */
export function openTelemetry(api: OpenTelemetryApi): Telemetry {
  const meter = api.metrics.getMeter(SCOPE);
  const metering = !(meter instanceof (api.createNoopMeter().constructor as new () => Api.Meter));
  const provider = api.trace.getTracerProvider();
  const tracing = !(provider instanceof api.ProxyTracerProvider) || provider.getDelegateTracer(SCOPE) !== undefined;
  if (!metering && !tracing) return NO_TELEMETRY;
  const tracer = api.trace.getTracer(SCOPE);

  const started = meter.createCounter('gatehouse.session.started', { unit: '{session}', description: 'Sessions started (login, registration, a stay-signed-in resume).' });
  const rotated = meter.createCounter('gatehouse.session.rotated', { unit: '{session}', description: 'Session ids replaced, by gatehouse.reason (rotate, reauthenticate).' });
  const ended = meter.createCounter('gatehouse.session.ended', { unit: '{session}', description: 'Sessions ended, by gatehouse.reason.' });
  const replays = meter.createCounter('gatehouse.device_credential.replays', { unit: '{event}', description: 'Copied stay-signed-in credentials caught: every session of that user ended.' });
  const logins = meter.createCounter('gatehouse.login.attempts', { unit: '{attempt}', description: 'Login attempts, by gatehouse.outcome.' });
  const reauthentications = meter.createCounter('gatehouse.reauthentication.attempts', {
    unit: '{attempt}',
    description: "Signed-in users' password checks (re-authentication, password change), by gatehouse.outcome.",
  });
  const refusals = meter.createCounter('gatehouse.throttle.refusals', { unit: '{attempt}', description: 'Attempts the throttle refused (429), by gatehouse.reason.' });
  const durations = meter.createHistogram('gatehouse.store.operation.duration', {
    unit: 's',
    description: "Duration of Gatehouse's store operations, by gatehouse.store.operation and gatehouse.store.backend.",
    advice: { explicitBucketBoundaries: STORE_DURATION_BUCKETS },
  });
  const storeErrors = meter.createCounter('gatehouse.store.errors', { unit: '{error}', description: 'Store operations that failed, by error.type (unconfirmed, timeout, unavailable, _OTHER).' });
  const unavailable = meter.createCounter('gatehouse.responses.unavailable', { unit: '{response}', description: '503 answers: the store failed or did not answer in time.' });
  const streams = meter.createUpDownCounter('gatehouse.streams.open', { unit: '{stream}', description: 'Streamed answers (subscriptions) open on this instance.' });

  const reasons = new Map<string, Api.Attributes>();
  const byReason = (reason: string) => {
    let attributes = reasons.get(reason);
    if (!attributes) reasons.set(reason, (attributes = Object.freeze({ 'gatehouse.reason': reason })));
    return attributes;
  };
  const outcomes = new Map<string, Api.Attributes>();
  const byOutcome = (outcome: AttemptOutcome) => {
    let attributes = outcomes.get(outcome);
    if (!attributes) outcomes.set(outcome, (attributes = Object.freeze({ 'gatehouse.outcome': outcome })));
    return attributes;
  };
  const storeAttributes = new Map<string, Api.Attributes>();
  const ofOperation = (backend: StoreKind, operation: string, errorType?: StoreErrorType) => {
    const key = `${backend} ${operation} ${errorType ?? ''}`;
    let attributes = storeAttributes.get(key);
    if (!attributes) {
      const system = DB_SYSTEM[backend];
      attributes = Object.freeze({
        'gatehouse.store.operation': operation,
        'gatehouse.store.backend': backend,
        ...(system ? { 'db.system.name': system } : {}),
        ...(errorType ? { 'error.type': errorType } : {}),
      });
      storeAttributes.set(key, attributes);
    }
    return attributes;
  };
  const counted = new WeakSet<object>();
  /**
   * Whether Gatehouse's spans would be recorded: not when the app's request span was not sampled (its
   * children would not be either), so an unsampled request costs no span objects and no context switch.
   */
  const tracingHere = () => {
    if (!tracing) return false;
    const parent = api.trace.getSpan(api.context.active());
    return parent === undefined || parent.isRecording();
  };

  /** Ends a span that failed: the error's type and Gatehouse's own message, never a driver's text (it may hold a key or an address). */
  const failSpan = (span: Api.Span, error: unknown, errorType: StoreErrorType) => {
    const message = isStoreUnconfirmed(error) ? errorMessages.storeUnconfirmed : isStoreUnavailable(error) ? errorMessages.storeUnavailable : 'internal error';
    span.recordException({ name: error instanceof Error ? error.name : 'Error', message });
    span.setAttribute('error.type', errorType);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message });
    span.end();
  };

  return {
    enabled: true,
    sessionEvent(event: SessionEvent) {
      if (!metering) return;
      switch (event.type) {
        case 'created':
          return started.add(1);
        case 'rotated':
          return rotated.add(1, byReason('rotate'));
        case 'refreshed':
          return rotated.add(1, byReason('reauthenticate'));
        case 'ended':
          return ended.add(1, byReason(event.reason));
        case 'device-credential-replayed':
          return replays.add(1);
      }
    },
    attempt(kind, outcome) {
      (kind === 'login' ? logins : reauthentications).add(1, byOutcome(outcome));
    },
    throttleRefused(reason: ThrottleReason) {
      refusals.add(1, byReason(reason));
    },
    storeOperation(backend, operation, run) {
      const attributes = ofOperation(backend, operation);
      const span = tracingHere() ? tracer.startSpan(`gatehouse.store.${operation}`, { attributes }) : undefined;
      const start = performance.now();
      // The span is the active one while the driver works: an instrumented driver's own span is its child.
      const pending = span ? api.context.with(api.trace.setSpan(api.context.active(), span), run) : run();
      return pending.then(
        (value) => {
          durations.record((performance.now() - start) / 1000, attributes);
          span?.end();
          return value;
        },
        (error: unknown) => {
          const errorType = storeErrorType(error);
          const failed = ofOperation(backend, operation, errorType);
          durations.record((performance.now() - start) / 1000, failed);
          storeErrors.add(1, failed);
          if (span) failSpan(span, error, errorType);
          throw error;
        },
      );
    },
    unavailableAnswer(key) {
      if (counted.has(key)) return;
      counted.add(key);
      unavailable.add(1);
    },
    streamOpened() {
      streams.add(1);
      let open = true;
      return () => {
        if (!open) return;
        open = false;
        streams.add(-1);
      };
    },
    inSpan(name: SpanName, run) {
      if (!tracingHere()) return run();
      return tracer.startActiveSpan(name, (span) =>
        run().then(
          (value) => {
            span.end();
            return value;
          },
          (error: unknown) => {
            failSpan(span, error, storeErrorType(error));
            throw error;
          },
        ),
      );
    },
  };
}

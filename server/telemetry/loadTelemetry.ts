import type { OpenTelemetryApi } from './openTelemetry.js';
import { NO_TELEMETRY, type Telemetry } from './telemetry.js';

/**
 * Gatehouse's telemetry for this process: through `@opentelemetry/api` (an
 * optional peer) when it is installed and an SDK is registered, else
 * nothing. Loaded once, when the first Gatehouse is created: a team without
 * OpenTelemetry installs nothing and pays one failed import at start-up.
 * Register the SDK before `createGatehouse` (OpenTelemetry's own rule: the
 * SDK starts first); a meter provider registered later is not seen.
 */
export async function loadTelemetry(): Promise<Telemetry> {
  let api: OpenTelemetryApi;
  try {
    api = await import('@opentelemetry/api');
  } catch (error) {
    if (isMissing(error)) return NO_TELEMETRY;
    throw error;
  }
  const { openTelemetry } = await import('./openTelemetry.js');
  return openTelemetry(api);
}

function isMissing(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown };
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

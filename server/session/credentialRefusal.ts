import { TRPCError } from '@trpc/server';

export const BOTH_CREDENTIALS = 'This request carries both a session cookie and a bearer token: send one of them (native clients the token, browsers the cookie).';
export const TOKEN_IN_URL = 'A session token in the URL is refused (logs, proxies and browser history keep URLs): send it as Authorization: Bearer <token>.';

/**
 * A request whose credentials Gatehouse will not take as they are (both a
 * cookie and a bearer token; a token in the URL): 400 with RFC 6750's
 * `invalid_request`, on the tRPC prefix in tRPC's error shape, elsewhere as
 * Koa answers an exposed client error.
 */
export function credentialRefusal(message: string): TRPCError & { status: 400; expose: true; headers: Record<string, string> } {
  return Object.assign(new TRPCError({ code: 'BAD_REQUEST', message }), {
    status: 400 as const,
    expose: true as const,
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' },
  });
}

/** Whether `error` is a credential refusal (the session middleware's 400). */
export const isCredentialRefusal = (error: unknown): error is ReturnType<typeof credentialRefusal> =>
  error instanceof TRPCError && error.code === 'BAD_REQUEST' && typeof (error as { headers?: unknown }).headers === 'object';

/** Raw HTTP for tests that must see exactly what a browser would. */
export interface RawResponse {
  status: number;
  headers: Headers;
  setCookies: string[];
  body: string;
  json: unknown;
}

export interface RawRequest {
  method?: string;
  cookie?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function request(url: string, options: RawRequest = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, setCookies: res.headers.getSetCookie(), body: text, json };
}

export interface ParsedCookie {
  name: string;
  value: string;
  /** Attribute names lower-cased; flag attributes map to ''. */
  attributes: Map<string, string>;
}

export function parseSetCookie(line: string): ParsedCookie {
  const [pair = '', ...rest] = line.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const part of rest) {
    const [key = '', ...value] = part.trim().split('=');
    attributes.set(key.toLowerCase(), value.join('='));
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

/** The `name=value` pair of the session cookie a response set, for the next request's Cookie header. */
export function sessionCookie(res: RawResponse, name = 'sid'): string {
  const line = res.setCookies.find((c) => c.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie in ${JSON.stringify(res.setCookies)}`);
  const parsed = parseSetCookie(line);
  return `${parsed.name}=${parsed.value}`;
}

export const errorCode = (res: RawResponse) => (res.json as { error?: { data?: { code?: string } } })?.error?.data?.code;

/** Registers (or logs in) over raw HTTP and returns the session cookie pair. */
export async function signUp(url: string, username: string, password = 'correct horse battery'): Promise<string> {
  const res = await request(`${url}/trpc/auth.register`, { body: { username, password } });
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${res.body}`);
  return sessionCookie(res);
}

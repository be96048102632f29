/**
 * Every value the `Cookie` header carries for `name`. Browsers send one per
 * name; more than one means a planted or tossed cookie (cookie tossing from
 * a sibling subdomain), which Gatehouse treats as no session at all.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  const prefix = `${name}=`;
  for (const part of header.split(';')) {
    const pair = part.trim();
    if (pair.startsWith(prefix)) values.push(pair.slice(prefix.length));
  }
  return values;
}

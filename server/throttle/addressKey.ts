import { isIPv6 } from 'node:net';

/**
 * The client address as the throttle counts it: an IPv4 address as it is;
 * an IPv6 address by its /64, the block one subscriber gets (RFC 6177), so
 * a client cannot take a fresh address of its own prefix for every guess;
 * an IPv4-mapped IPv6 address as the IPv4 address it maps.
 */
export function addressKey(address: string): string {
  if (!isIPv6(address)) return address;
  const mapped = /^(?:0{0,4}:){0,5}(?:0{0,4}:)?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address) ?? /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (`…:1.2.3.4`) stands for two groups; it lies past the /64 either way.
  const count = (groups: string[]) => groups.reduce((n, group) => n + (group.includes('.') ? 2 : 1), 0);
  const groups = address.includes('::') ? [...headGroups, ...Array<string>(8 - count(headGroups) - count(tailGroups)).fill('0'), ...tailGroups] : headGroups;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

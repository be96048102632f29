import { describe, expect, it } from 'vitest';
import { OffHeapStrings } from '../server/store/offHeapStrings.js';

describe('OffHeapStrings (the memory store keeps its values outside the V8 heap)', () => {
  it('gives back exactly the string it was given: empty, ASCII, Latin-1, emoji, a lone surrogate, a NUL', () => {
    const strings = new OffHeapStrings();
    const values = ['', 'v1.abc.DEF_-', 'café ñ ÿ', '👩‍💻 日本語', 'broken \ud800 pair', 'a\u0000b', 'x'.repeat(100_000)];
    const handles = values.map((value, i) => strings.put(value, 1_000 + i));
    values.forEach((value, i) => {
      expect(strings.get(handles[i]!)).toBe(value);
      expect(strings.expires(handles[i]!)).toBe(1_000 + i);
    });
  });

  it('keeps a never-expiring value as Infinity', () => {
    const strings = new OffHeapStrings();
    expect(strings.expires(strings.put('forever', Number.POSITIVE_INFINITY))).toBe(Number.POSITIVE_INFINITY);
  });

  it('reuses a freed slot for the next value of its size, leaving the others intact', () => {
    const strings = new OffHeapStrings();
    const a = strings.put('a'.repeat(300), 1);
    const b = strings.put('b'.repeat(300), 2);
    strings.free(a);
    const c = strings.put('c'.repeat(310), 3);
    expect(c).toBe(a);
    expect(strings.get(c)).toBe('c'.repeat(310));
    expect(strings.get(b)).toBe('b'.repeat(300));
  });

  it('holds many values across slabs', () => {
    const strings = new OffHeapStrings();
    const handles = Array.from({ length: 20_000 }, (_, i) => strings.put(`session-${i}-${'z'.repeat(i % 700)}`, i));
    for (const i of [0, 1, 4_999, 12_345, 19_999]) {
      expect(strings.get(handles[i]!)).toBe(`session-${i}-${'z'.repeat(i % 700)}`);
      expect(strings.expires(handles[i]!)).toBe(i);
    }
  });

  it('refuses a value beyond its largest slot with a RangeError naming the limit', () => {
    const strings = new OffHeapStrings();
    expect(() => strings.put('x'.repeat(30_000_000), 1)).toThrow(/the memory store keeps values up to \d+ bytes, not 30000000/);
  });

  it('after clear(), an old handle is an error, not another value', () => {
    const strings = new OffHeapStrings();
    const handle = strings.put('gone', 1);
    strings.clear();
    expect(() => strings.get(handle)).toThrow('OffHeapStrings: no slot 0 (a handle used after free or clear)');
  });
});

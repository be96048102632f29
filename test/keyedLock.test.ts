import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../server/store/keyedLock.js';

/** A promise and the function that settles it: a task the test finishes when it chooses. */
function held() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { done, release };
}

describe('the per-key lock of single-instance stores', () => {
  it('runs the tasks of one key one at a time, in the order they came', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const first = held();
    const a = lock.run('k', async () => {
      order.push('a starts');
      await first.done;
      order.push('a ends');
    });
    const b = lock.run('k', async () => {
      order.push('b runs');
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual(['a starts']);
    first.release();
    await Promise.all([a, b]);
    expect(order).toEqual(['a starts', 'a ends', 'b runs']);
  });

  it('never makes a task on another key wait', async () => {
    const lock = new KeyedLock();
    const blocker = held();
    const blocked = lock.run('a', () => blocker.done);
    await expect(lock.run('b', () => Promise.resolve('b done'))).resolves.toBe('b done');
    blocker.release();
    await blocked;
  });

  it('a task that fails, even synchronously, passes its error on and releases the key', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(
      lock.run('k', () => {
        throw new Error('sync boom');
      }),
    ).rejects.toThrow('sync boom');
    await expect(lock.run('k', () => Promise.resolve(42))).resolves.toBe(42);
  });

  it('holds nothing once every task has settled', async () => {
    const lock = new KeyedLock();
    await Promise.all(Array.from({ length: 100 }, (_, i) => lock.run(`k${i % 7}`, () => Promise.resolve(i))));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(lock.size).toBe(0);
  });
});

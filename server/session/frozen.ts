/**
 * A session's user or data as Gatehouse hands them out: deeply frozen at
 * run time (an opened record is shared by every request that reads it), so
 * deeply read-only in its type — an assignment that would throw (a 500) is
 * a compile error instead. Change the data with `session.update()`.
 *
 * Read-only properties still pass where your own types expect plain
 * objects (TypeScript does not tell them apart when assigning), and arrays
 * are `FrozenArray`s, which pass where `T[]` is expected: returning
 * `ctx.session.current.data` from a procedure whose output schema is your
 * data schema, or handing `ctx.user` to a function that takes your user,
 * compiles as before.
 */
export type Frozen<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly unknown[]
    ? number extends T['length']
      ? FrozenArray<Frozen<T[number]>>
      : { readonly [K in keyof T]: Frozen<T[K]> }
    : T extends object
      ? { readonly [K in keyof T]: Frozen<T[K]> }
      : T;

/**
 * An array frozen at run time: reading, iterating, `map` and the spread
 * work; writing an item and the methods that change it in place (`push`,
 * `splice`, `sort`, …) do not compile. It is still an `Array`, so it
 * passes where your types expect `T[]` (`readonly T[]` would not).
 */
export interface FrozenArray<T> extends Array<T> {
  readonly [n: number]: T;
  readonly length: number;
  /** Frozen: build a new array (`[...items, item]`) in `session.update((data) => …)`. */
  push: never;
  /** Frozen: build a new array in `session.update((data) => …)`. */
  pop: never;
  /** Frozen: build a new array in `session.update((data) => …)`. */
  shift: never;
  /** Frozen: build a new array in `session.update((data) => …)`. */
  unshift: never;
  /** Frozen: build a new array (`toSpliced`) in `session.update((data) => …)`. */
  splice: never;
  /** Frozen: `toSorted()` gives a sorted copy. */
  sort: never;
  /** Frozen: `toReversed()` gives a reversed copy. */
  reverse: never;
  /** Frozen: build a new array in `session.update((data) => …)`. */
  fill: never;
  /** Frozen: build a new array in `session.update((data) => …)`. */
  copyWithin: never;
}

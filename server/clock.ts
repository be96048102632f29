/** Time as an input: production reads the wall clock, tests move a manual one. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

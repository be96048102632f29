import { describe, expect, it } from 'vitest';
import { errorMessages } from '../shared/errors.js';
import { confirmAtEnd } from '../server/store/confirmAtEnd.js';
import { StoreUnavailableError, StoreUnconfirmedError } from '../server/store/storeErrors.js';

/** A durable write the master made (answering `result`) whose replicas did not confirm it. */
const unconfirmed = <T>(operation: string, result: T) => Promise.reject<T>(new StoreUnconfirmedError(operation, 0, 1, result));

describe('confirmAtEnd', () => {
  it('every step confirmed: the flow resolves its result', async () => {
    const steps: string[] = [];
    const result = await confirmAtEnd(async (step) => {
      steps.push(await step(Promise.resolve('one')));
      steps.push(await step(Promise.resolve('two')));
      return steps.length;
    });
    expect(result).toBe(2);
    expect(steps).toEqual(['one', 'two']);
  });

  it('a step not confirmed: it answers the write’s result, the later steps run, then the flow rejects with one StoreUnconfirmedError carrying the flow’s result', async () => {
    const steps: unknown[] = [];
    const outcome = await confirmAtEnd(async (step) => {
      steps.push(await step(unconfirmed('take', 'taken value')));
      steps.push(await step(Promise.resolve('after')));
      steps.push(await step(unconfirmed('delete', true)));
      return 'the flow’s result';
    }).catch((error: unknown) => error);
    expect(steps).toEqual(['taken value', 'after', true]);
    expect(outcome).toBeInstanceOf(StoreUnconfirmedError);
    const error = outcome as StoreUnconfirmedError;
    expect(error.message).toBe(errorMessages.storeUnconfirmed);
    expect(error.operation).toBe('take');
    expect(error.acknowledged).toBe(0);
    expect(error.wanted).toBe(1);
    expect(error.result).toBe('the flow’s result');
  });

  it('a flow inside another is one step of it: the outer flow goes on with the inner one’s result', async () => {
    const inner = () =>
      confirmAtEnd(async (step) => {
        const taken = await step(unconfirmed('take', 3));
        return taken * 2;
      });
    const outcome = await confirmAtEnd(async (step) => (await step(inner())) + 1).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(StoreUnconfirmedError);
    expect((outcome as StoreUnconfirmedError).result).toBe(7);
  });

  it('any other error stops the flow at once, and wins over a confirmation owed before it', async () => {
    const down = new StoreUnavailableError('get');
    const steps: string[] = [];
    const outcome = await confirmAtEnd(async (step) => {
      await step(unconfirmed('increment', 1));
      steps.push('before');
      await step(Promise.reject(down));
      steps.push('never');
      return 'unreached';
    }).catch((error: unknown) => error);
    expect(outcome).toBe(down);
    expect(steps).toEqual(['before']);
  });
});

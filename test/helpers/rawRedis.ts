import { createClient } from 'redis';

/** A bare Redis connection for tests that must look at what is really stored. */
export interface RawRedis {
  command(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

export async function rawRedis(url: string): Promise<RawRedis> {
  const client = createClient({ url }) as unknown as {
    connect(): Promise<unknown>;
    sendCommand(args: string[]): Promise<unknown>;
    close(): Promise<unknown>;
    on(event: 'error', listener: () => void): unknown;
  };
  client.on('error', () => undefined);
  await client.connect();
  return {
    command: (args) => client.sendCommand(args),
    close: async () => {
      await client.close();
    },
  };
}

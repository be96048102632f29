import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real server (here: the machine's
 * PostgreSQL), so a test can make that server look frozen (bytes stop
 * flowing, connections stay open) or stopped (connections cut, port
 * closed) without touching the shared service itself.
 */
export class TcpProxy {
  #server: Server | undefined;
  readonly #pairs = new Set<[Socket, Socket]>();
  #frozen = false;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(port, target);
    await proxy.listen();
    return proxy;
  }

  async listen(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      const pair: [Socket, Socket] = [client, upstream];
      this.#pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      if (this.#frozen) this.#pause(pair);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#pairs.delete(pair);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address === 'object' && address) (this as { port: number }).port = address.port;
    this.#server = server;
  }

  #pause([client, upstream]: [Socket, Socket]): void {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  }

  /** Bytes stop flowing both ways; sockets stay open (like SIGSTOP on the server). */
  freeze(): void {
    this.#frozen = true;
    for (const pair of this.#pairs) this.#pause(pair);
  }

  thaw(): void {
    this.#frozen = false;
    for (const [client, upstream] of this.#pairs) {
      client.pipe(upstream);
      upstream.pipe(client);
    }
  }

  /** Cuts every connection and closes the port (like a stopped server). */
  async stop(): Promise<void> {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

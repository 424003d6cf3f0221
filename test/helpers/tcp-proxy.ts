import type { Socket, TCPSocketListener } from "bun";

/**
 * A TCP relay to a real server that a test can cut and restore, to make the server
 * "unreachable" without stopping it: cut() drops every connection and stops listening.
 */
export class TcpProxy {
  private listener: TCPSocketListener<{ upstream?: Socket<unknown>; pending: Uint8Array[] }> | undefined;
  private readonly sockets = new Set<Socket<unknown>>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  open(): this {
    const target = this.target;
    const sockets = this.sockets;
    this.listener = Bun.listen<{ upstream?: Socket<unknown>; pending: Uint8Array[] }>({
      hostname: "127.0.0.1",
      port: this.port,
      socket: {
        async open(client) {
          client.data = { pending: [] };
          sockets.add(client);
          try {
            const upstream = await Bun.connect({
              hostname: target.host,
              port: target.port,
              socket: {
                data: (_s, chunk) => void client.write(chunk),
                close: () => void client.end(),
                error: () => void client.end(),
              },
            });
            sockets.add(upstream);
            client.data.upstream = upstream;
            for (const chunk of client.data.pending) upstream.write(chunk);
          } catch {
            client.end();
          }
        },
        data(client, chunk) {
          if (client.data.upstream) client.data.upstream.write(chunk);
          else client.data.pending.push(new Uint8Array(chunk));
        },
        close(client) {
          client.data.upstream?.end();
          sockets.delete(client);
        },
      },
    });
    this.port = this.listener.port;
    return this;
  }

  cut(): void {
    this.listener?.stop(true);
    this.listener = undefined;
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
  }
}

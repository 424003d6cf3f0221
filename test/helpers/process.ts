import { createServer } from "node:net";

export interface StartedProcess {
  pid: number;
  output(): string;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number>;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a process and waits until its stdout or stderr matches `ready` (30 s at most). */
export async function startProcess(command: string[], ready: RegExp, env: Record<string, string> = {}): Promise<StartedProcess> {
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, ...env } });
  let output = "";
  let resolveReady!: () => void;
  const isReady = new Promise<void>((resolve) => (resolveReady = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      if (ready.test(output)) resolveReady();
    }
  };
  void pump(child.stdout);
  void pump(child.stderr);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${command.join(" ")} not ready in 30 s:\n${output}`)), 30_000));
  const exited = child.exited.then((code) => {
    throw new Error(`${command.join(" ")} exited with ${code} before it was ready:\n${output}`);
  });
  try {
    await Promise.race([isReady, timeout, exited]);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  exited.catch(() => undefined);
  return { pid: child.pid, output: () => output, kill: (signal = "SIGTERM") => child.kill(signal), exited: child.exited };
}

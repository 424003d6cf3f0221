/*
 * Who writes a chain. Every process start gets a chain of its own (so a chain has exactly one
 * writer and replicas never share a lock); the instance name ties a restart to its previous runs.
 */

/** A chain id: instance, start time and a random suffix, so every process start has its own chain. */
export function newChainId(instance: string): string {
  const started = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const random = crypto.getRandomValues(new Uint8Array(4)).reduce((hex, byte) => hex + byte.toString(16).padStart(2, "0"), "");
  return `${instance}.${started}.${random}`;
}

/** The host name as an instance name: the characters chain ids allow, at most 64. */
export function instanceFromHost(host: string): string {
  return host.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 64) || "mcpgw";
}

/** The instance of a CLI process's chain (`mcpgw call`, the operator's own records): `cli.` and the gateway's instance or host name. */
export function cliInstance(configured: string | undefined, host: string): string {
  return `cli.${configured ?? instanceFromHost(host)}`.slice(0, 64);
}

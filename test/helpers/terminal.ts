import { join } from "node:path";
import { REPO_ROOT, cleanEnv } from "./cli.ts";

/**
 * Runs the real program on a pseudo-terminal (util-linux `script`), typing `keys` once it asks:
 * stdin is then a TTY, as for a person at a terminal.
 */
export async function onTerminal(args: string[], keys: string): Promise<{ code: number; output: string }> {
  const line = [process.execPath, join(REPO_ROOT, "cli", "main.ts"), ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
  const child = Bun.spawn(["script", "-qfec", line, "/dev/null"], { cwd: REPO_ROOT, env: cleanEnv(), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  let output = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) output += decoder.decode(chunk);
  })();
  for (let waited = 0; !output.includes("?") && waited < 20_000; waited += 50) await Bun.sleep(50);
  child.stdin.write(keys);
  await child.stdin.flush();
  const code = await child.exited;
  child.stdin.end();
  await reading;
  return { code, output };
}

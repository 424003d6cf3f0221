import { chownSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./process.ts";
import { tempDir } from "./temp-dir.ts";

/**
 * A PostgreSQL cluster of a test's own: initdb into a fresh temporary folder, its own port, its
 * own socket folder. Unlike the shared test server, a test may stop and start it (an outage) or
 * crash it without disturbing anyone. Always destroy() it: stops the server, removes the folder.
 */
export interface ThrowawayPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust auth). */
  url: string;
  port: number;
  /** `pg_ctl start -w`: resolves once the server accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -w -m MODE`: fast ends sessions cleanly, immediate is a crash (recovery at the next start). */
  stop(mode: "fast" | "immediate"): Promise<void>;
  /** Stops the server if it runs and removes its folder; safe to call twice. */
  destroy(): Promise<void>;
}

const INSTALL_HINT =
  "install the PostgreSQL server binaries (Debian/Ubuntu: apt-get install postgresql; they land in /usr/lib/postgresql/<version>/bin), or put initdb and pg_ctl on PATH";

/** The folder holding initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin, else PATH. */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => existsSync(join(root, name, "bin", "initdb")) && existsSync(join(root, name, "bin", "pg_ctl")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], "bin");
  }
  const initdb = Bun.which("initdb");
  if (initdb !== null && Bun.which("pg_ctl") !== null) return join(initdb, "..");
  throw new Error(`initdb and pg_ctl were not found, so this test cannot start a PostgreSQL cluster of its own: ${INSTALL_HINT}`);
}

/** The uid and gid of the OS user "postgres" (the server package creates it). */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Bun.spawnSync(["id", flag, "postgres"]);
  const uid = id("-u");
  const gid = id("-g");
  if (uid.exitCode !== 0 || gid.exitCode !== 0) {
    throw new Error(
      `running as root, this test starts PostgreSQL as the OS user "postgres", which does not exist: ${INSTALL_HINT} (the package creates the user)`,
    );
  }
  return { uid: Number(uid.stdout.toString().trim()), gid: Number(gid.stdout.toString().trim()) };
}

/** Runs a PostgreSQL tool; as root, as the postgres OS user (initdb and postgres refuse to run as root). */
async function run(command: string[], cwd: string): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  if (asRoot && Bun.which("runuser") === null)
    throw new Error("running as root, this test needs runuser (util-linux) to start PostgreSQL as the postgres user");
  const argv = asRoot ? ["runuser", "-u", "postgres", "--", ...command] : command;
  const child = Bun.spawn(argv, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${command.join(" ")} exited with ${code}:\n${stdout}${stderr}`);
}

/** initdb + pg_ctl start on a free port; the caller must destroy() it (in a finally or afterAll). */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : undefined;
  const dir = tempDir("mcpgw-pg-");
  // mkdtemp makes the folder 0700 for its creator: the server's user must own it.
  if (owner) chownSync(dir.path, owner.uid, owner.gid);
  const data = join(dir.path, "data");
  const logFile = join(dir.path, "server.log");
  const port = await freePort();
  let running = false;
  let destroyed = false;
  // A start that failed half-way (pg_ctl timed out) may still have left a postmaster running.
  const mayRun = () => running || existsSync(join(data, "postmaster.pid"));
  // A worker that dies before destroy() must not leave a server behind.
  const stopOnExit = () => {
    if (mayRun())
      Bun.spawnSync(
        asRoot
          ? ["runuser", "-u", "postgres", "--", join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]
          : [join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
      );
    dir.remove();
  };
  process.once("exit", stopOnExit);

  const cluster: ThrowawayPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      // -k: the socket goes in the test's folder, not /var/run/postgresql (shared, and may be absent).
      try {
        await run(
          [join(bin, "pg_ctl"), "-D", data, "-l", logFile, "-w", "-t", "30", "-o", `-p ${port} -k ${dir.path} -c listen_addresses=127.0.0.1`, "start"],
          dir.path,
        );
      } catch (err) {
        const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-4_000) : "(no server log)";
        throw new Error(`${(err as Error).message}\nserver log (${logFile}):\n${log}`);
      }
      running = true;
    },
    async stop(mode) {
      await run([join(bin, "pg_ctl"), "-D", data, "-w", "-t", "30", "-m", mode, "stop"], dir.path);
      running = false;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        if (mayRun()) await cluster.stop("immediate");
      } finally {
        process.off("exit", stopOnExit);
        dir.remove();
      }
    },
  };
  try {
    // --no-sync: a throwaway cluster need not survive a power cut; it saves seconds on a busy disk.
    await run([join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"], dir.path);
    await cluster.start();
  } catch (err) {
    await cluster.destroy().catch(() => undefined);
    throw err;
  }
  return cluster;
}

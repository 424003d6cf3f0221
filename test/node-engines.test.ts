/**
 * The Node versions package.json and the README promise are ones every installed package accepts:
 * `npm install` on a promised version prints no EBADENGINE warning. Checked against the engines
 * each package declares in package-lock.json, over every major.minor from 18 to 30.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";

interface LockEntry {
  engines?: { node?: string } | string[];
  optional?: boolean;
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };

/** Every package's node range (optional packages are skipped by npm where they do not fit). */
const ranges = Object.entries(lock.packages).flatMap(([path, entry]) =>
  !entry.optional && entry.engines && !Array.isArray(entry.engines) && entry.engines.node ? [{ path, range: entry.engines.node }] : [],
);
const candidates = Array.from({ length: 13 }, (_, i) => 18 + i).flatMap((major) => Array.from({ length: 31 }, (_, minor) => `${major}.${minor}.0`));

test("every Node version package.json's engines admit is one every dependency admits", () => {
  const promised = candidates.filter((version) => Bun.semver.satisfies(version, pkg.engines.node));
  expect(promised.length).toBeGreaterThan(0);
  const refused = promised.flatMap((version) =>
    ranges.filter(({ range }) => !Bun.semver.satisfies(version, range)).map(({ path, range }) => `${version}: ${path} needs ${range}`),
  );
  expect(refused).toEqual([]);
});

test("the README states the lowest Node version the engines admit", () => {
  const lowest = candidates.find((version) => Bun.semver.satisfies(version, pkg.engines.node))!;
  const [major, minor] = lowest.split(".");
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const quickstart = readme.slice(readme.indexOf("## Quickstart"));
  expect(quickstart).toContain(`Node ${major} (${major}.${minor} or later)`);
  expect(readme.slice(readme.indexOf("## Development"))).toContain(`Node ${major} (${major}.${minor} or later)`);
});

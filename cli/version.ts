import pkg from "../package.json" with { type: "json" };

/** The program's version, from package.json (inlined by the bundler into the binary). */
export const VERSION: string = pkg.version;

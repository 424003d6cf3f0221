// With `{ type: "file" }` (embedded-console-assets.ts), Bun evaluates these imports to the file's path. The files are
// scripts/build.ts's bundle of the console, in dist/console/ (absent until a build).
declare module "*/dist/console/app.js" {
  const path: string;
  export default path;
}
declare module "*/dist/console/app.css" {
  const path: string;
  export default path;
}

// With `{ type: "file" }` (embedded-docs-assets.ts), Bun evaluates these imports to the file's path.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}

/**
 * Files imported as text: wrangler.toml's `rules` make them Text modules (a string). The browser
 * files are checked as what they are by tsconfig.browser.json; the Worker sees only their text.
 */
declare module "redoc/bundles/redoc.standalone.js" {
  const source: string;
  export default source;
}
declare module "*.browser.js" {
  const source: string;
  export default source;
}
declare module "*.css" {
  const source: string;
  export default source;
}

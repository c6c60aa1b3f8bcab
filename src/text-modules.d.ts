/** Files imported as text: wrangler.toml's `rules` make them Text modules (a string). */
declare module "redoc/bundles/redoc.standalone.js" {
  const source: string;
  export default source;
}

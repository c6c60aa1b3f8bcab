// @ts-check
/**
 * /docs's own script, served as written (wrangler.toml bundles it as text): starts Redoc, which
 * /docs/redoc.standalone.js loads just before it, on /openapi.json.
 */

/** @typedef {{ init(specUrl: string, options: object, element: HTMLElement | null): void }} Redoc */
/** The standalone bundle's global. */
const page = /** @type {typeof window & { Redoc: Redoc }} */ (window);

/** Show the scope extension, expand success answers, and take every font from this device. */
const OPTIONS = {
  showExtensions: ["x-required-scope"],
  expandResponses: "200,201",
  requiredPropsFirst: true,
  jsonSampleExpandLevel: 3,
  theme: {
    typography: {
      fontFamily: "system-ui, sans-serif",
      headings: { fontFamily: "system-ui, sans-serif" },
      code: { fontFamily: "ui-monospace, monospace" },
    },
  },
};

page.Redoc.init("/openapi.json", OPTIONS, document.getElementById("reference"));

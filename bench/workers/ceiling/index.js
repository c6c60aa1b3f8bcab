// @ts-check
/**
 * Runtime ceiling: the fastest a Worker can answer under `wrangler dev` on this
 * machine. No bindings, no parsing, no allocation beyond the response.
 */

const TARGET = "https://example.qualtrics.com/jfe/form/SV_demo";

export default {
  /** @returns {Response} */
  fetch() {
    return new Response(null, {
      status: 302,
      headers: { Location: TARGET, "Cache-Control": "no-store" },
    });
  },
};

/**
 * The service's own endpoints, which answer whatever the configuration: `/`, `/docs`,
 * `/healthz`, the OpenAPI entries of the non-JSON routes, and the answer while misconfigured.
 */
export { docsRoutes } from "./docs";
export { healthCheck } from "./health";
export { homeRoutes } from "./home";
export { answerMisconfigured } from "./misconfigured";
export { registerPublicPaths } from "./public-paths";
export { shardCountRefusal } from "./shard-count-guard";

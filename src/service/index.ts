/**
 * The service's own endpoints, which answer whatever else is misconfigured: `/`, `/docs`,
 * `/openapi.json`, `/healthz` and `/.well-known/jwks.json`; and the answer while misconfigured.
 */
export { docsRoutes } from "./docs";
export { healthCheck } from "./health";
export { homeRoutes } from "./home";
export { answerMisconfigured } from "./misconfigured";
export { serveOpenApiDocument } from "./openapi-document";
export { publicKeys } from "./public-keys";
export { shardCountRefusal } from "./shard-count-guard";

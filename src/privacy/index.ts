/** The privacy feature's public face: the lookup, erasure and audit-trail API. */
export { privacyRoutes } from "./routes";

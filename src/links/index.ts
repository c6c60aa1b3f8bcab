/**
 * The links feature's public face: its routes for the app, and what other features share of it:
 * how an invite's values travel on the survey link (the tap redirects with them, reconcile checks
 * them) and the request vocabulary (channels, ids).
 */
export { linkRoutes } from "./routes";
export { CHANNELS, CustomerIdSchema, IdParamSchema } from "./schema";
export { inviteValues, linkValueSourceFromRow, surveyRedirectUrl } from "./survey-link";
export { webserviceRoutes } from "./webservice-data";

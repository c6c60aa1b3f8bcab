/** The stats feature's public face: the analysts' API and the dashboard. */
export { dashboardRoutes } from "./dashboard";
export { statsRoutes } from "./routes";

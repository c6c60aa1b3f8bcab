/** The retention feature's public face: the scheduled purge. */
export { purgeExpiredPersonalData } from "./purge";

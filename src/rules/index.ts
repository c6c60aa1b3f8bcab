/**
 * Who gets invited, the feature's public face: the contact decision the links API makes on each
 * issue call (opt-out, sample, frequency rules, daily cap), the suppression records it replays,
 * and the opt-out API.
 */
export { recordContactActivity } from "./activity";
export {
  eraseContactRecords,
  findContactRecords,
  purgeContactRecords,
} from "./customer-records";
export {
  type ContactDecision,
  decideContacts,
  type HomeReservation,
  settleReservations,
} from "./decide";
export { optOutRoutes } from "./routes";
export {
  ContactRecordsSchema,
  type SuppressedAnswer,
  SuppressedAnswerSchema,
  suppressedAnswer,
} from "./schema";
export type { SuppressionRow } from "./suppression-rows";
export { findSuppressions, recordSuppressions } from "./suppressions";

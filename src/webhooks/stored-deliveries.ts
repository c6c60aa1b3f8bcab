/**
 * Stored event bodies under retention and erasure: a delivery record keeps the event it failed to
 * deliver, and the event carries the transaction id, personal data. The retention job deletes
 * records last updated more than RETENTION_DAYS ago; a customer's erasure deletes the records of
 * their invites (before the ledger forgets which invites were theirs).
 */
import { controlDb, type Store } from "../store/store";
import { deleteDeliveriesBefore, deleteDeliveriesOfInvites } from "./storage/deliveries";

/** Delivery records one retention run deletes at most (one statement). */
const PURGE_LIMIT = 1000;

/** Deletes delivery records last updated before `before`; returns how many. */
export function purgeStoredDeliveries(store: Store, before: number): Promise<number> {
  return deleteDeliveriesBefore(controlDb(store), before, PURGE_LIMIT);
}

/** Deletes the delivery records of these invites. */
export function forgetDeliveriesOfInvites(
  store: Store,
  inviteIds: readonly string[],
): Promise<void> {
  return deleteDeliveriesOfInvites(controlDb(store), inviteIds);
}

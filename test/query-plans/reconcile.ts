/** Reconcile's statements on the ledger (src/reconcile/storage/): push, completions, stamps. */

import {
  markCompleted,
  oldestAwaitingInShard,
  selectInvitesAwaitingCompletion,
} from "../../src/reconcile/storage/completion-rows";
import {
  markImportedInvitesPushed,
  pushedCustomersInShard,
  pushQueueCounts,
  releaseInvites,
  reserveInvites,
  selectPushCandidates,
  settleImportedInvites,
} from "../../src/reconcile/storage/push-rows";
import { clearRefusals } from "../../src/reconcile/storage/refused-invites";
import {
  clearStampRef,
  markJobStampsRefused,
  markStamped,
  markStampsRefused,
  selectStampCandidatesInShard,
  setStampRef,
} from "../../src/reconcile/storage/stamp-rows";
import { registerStatements } from "../helpers/query-plans";

const ID = "AAplanaudit0000000000000";
const IDS = [ID, "AAplanaudit0000000000001"];

registerStatements("reconcile", {
  "oldest awaiting response": (db) => oldestAwaitingInShard(db, ["demo", "demo-eed"], 1),
  "invites awaiting completion": (db) => selectInvitesAwaitingCompletion(db, "demo", IDS),
  "mark completed": (db) =>
    markCompleted(db, "demo", [{ id: ID, responseId: "R_1", at: 1, tampered: 0 }]),
  "push candidates": (db) => selectPushCandidates(db, 100, 3),
  "reserve invites": (db) => reserveInvites(db, "imp-1", IDS),
  "release invites": (db) => releaseInvites(db, "imp-1"),
  "settle imported invites": (db) => settleImportedInvites(db, "imp-1", IDS, 1),
  "mark imported invites pushed": (db) => markImportedInvitesPushed(db, "imp-1", IDS, 1),
  "pushed customers": (db) => pushedCustomersInShard(db, ["c-1", "c-2"]),
  "push queue counts": (db) => pushQueueCounts(db, 3),
  "clear refusals": (_db, store) => clearRefusals(store, ID, 3),
  "stamp candidates": (db) => selectStampCandidatesInShard(db, ["demo"], 100),
  "set stamp ref": (db) => setStampRef(db, "p-1", IDS),
  "mark stamped": (db) => markStamped(db, "p-1", 1),
  "mark stamps refused": (db) => markStampsRefused(db, [{ id: ID, reason: "r" }]),
  "mark job stamps refused": (db) =>
    markJobStampsRefused(db, "p-1", [{ responseId: "R_1", reason: "r" }]),
  "clear stamp ref": (db) => clearStampRef(db, "p-1"),
});

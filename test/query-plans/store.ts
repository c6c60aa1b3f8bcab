/** The shared invite core's statements (src/store/): issue, look-up, claim, taps, revoke. */

import {
  claimInviteRow,
  insertInviteRows,
  keepDeviceRow,
  recordTaps,
  releaseClaimRow,
  revokeInviteRow,
  selectInvite,
  selectInvitesByTransaction,
} from "../../src/store/invite-rows";
import { registerStatements } from "../helpers/query-plans";

const ID = "AAplanaudit0000000000000";
const tap = { at: 1, uaClass: "mobile" as const, country: "FR" };

registerStatements("store", {
  "insert invites": (db) =>
    insertInviteRows(db, [
      {
        id: ID,
        survey: "demo",
        transactionId: "t-1",
        customerRef: "c-1",
        trigger: "t",
        channel: null,
        language: null,
        embeddedData: "{}",
        requestHash: "h",
        issuedAt: 1,
        expiresAt: 2,
        sig: "x",
      },
    ]),
  "select by transaction": (db) =>
    selectInvitesByTransaction(db, [{ survey: "demo", transactionId: "t-1" }]),
  "select invite": (db) => selectInvite(db, ID),
  claim: (db) => claimInviteRow(db, ID, { tap, nonce: "n", claimableSurveys: ["demo"] }),
  "keep device": (db) => keepDeviceRow(db, ID, "n", { hash: "h", until: 2 }),
  "release claim": (db) => releaseClaimRow(db, ID, "n"),
  "record taps": (db) =>
    recordTaps(db, [
      { ...tap, inviteId: ID, outcome: "blocked" },
      { ...tap, inviteId: ID, outcome: "cross_browser" },
    ]),
  revoke: (db) => revokeInviteRow(db, ID, 1),
});

/** The privacy feature's statements on the ledger (src/privacy/): find and erase a customer. */

import {
  eraseInvites,
  findCustomerInvites,
  findInvitesToErase,
} from "../../src/privacy/customer-invites";
import { registerStatements } from "../helpers/query-plans";

registerStatements("privacy", {
  "customer invites, first page": (db) => findCustomerInvites(db, "c-1", null, 50),
  "customer invites, next page": (db) =>
    findCustomerInvites(db, "c-1", { issuedAt: 1, id: "AAplanaudit0000000000000" }, 50),
  "invites to erase": (db) => findInvitesToErase(db, "c-1", 50),
  "erase invites": (db) => eraseInvites(db, ["AAplanaudit0000000000000"], 1),
});

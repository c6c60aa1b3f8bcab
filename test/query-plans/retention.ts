/** The retention job's statements (src/retention/): rows that leave, personal data, rotation. */

import { readRotationStart, saveRotationStart } from "../../src/retention/rotation";
import {
  findInvitesToPurge,
  purgePersonalData,
  removeLeavingInvites,
} from "../../src/retention/shard-queries";
import { registerStatements } from "../helpers/query-plans";

const cutoffs = { issuedBefore: 3, now: 4, openedBefore: 2 };

registerStatements("retention", {
  "remove leaving invites, clear device windows": (db) => removeLeavingInvites(db, cutoffs, 10, 10),
  "find invites to purge": (db) => findInvitesToPurge(db, 3, 10),
  "purge personal data": (db) => purgePersonalData(db, ["AAplanaudit0000000000000"], 4),
  "read rotation": (db) => readRotationStart(db),
  "save rotation": (db) => saveRotationStart(db, 1, 4),
});

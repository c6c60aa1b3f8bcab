/** The stats feature's statements (src/stats/): every grouping, with every filter and none. */

import { readShardStats, type StatsDimension } from "../../src/stats/shard-queries";
import { registerStatements } from "../helpers/query-plans";

const DIMENSIONS: StatsDimension[] = ["day", "survey", "trigger", "channel"];
const allOff = { fromDay: 20_000, beforeDay: 20_030, now: 20_029 * 86_400_000 };
const allOn = { ...allOff, survey: "demo", trigger: "t", channel: "email" };

registerStatements(
  "stats",
  Object.fromEntries(
    DIMENSIONS.flatMap((groupBy) => [
      [`by ${groupBy}, no filter`, (db: D1Database) => readShardStats(db, allOff, groupBy)],
      [`by ${groupBy}, every filter`, (db: D1Database) => readShardStats(db, allOn, groupBy)],
    ]),
  ),
);

/** The zod models of the stats API: the query string and the answer, with their OpenAPI names. */
import { z } from "@hono/zod-openapi";
import { CHANNELS } from "../links";

const GROUP_BY = ["day", "survey", "trigger", "channel"] as const;

/** The channel value that selects (and names the group of) invites issued without a channel. */
export const NO_CHANNEL = "unspecified";

/** Survey keys and triggers are both made of these characters (see LinkRequest). */
const key = (name: string, example: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1-64 of A-Z a-z 0-9 _ . : -")
    .optional()
    .openapi({ param: { name, in: "query" }, example });

const day = (name: string, description: string) =>
  z.iso
    .date({ message: "must be a date as YYYY-MM-DD" })
    .optional()
    .openapi({ param: { name, in: "query" }, description, example: "2026-11-01" });

export const StatsQuerySchema = z
  .object({
    from: day("from", "First issue day (UTC), inclusive. Default: 29 days before `to`."),
    to: day("to", "Last issue day (UTC), inclusive. Default: today. At most 366 days in all."),
    survey: key("survey", "demo"),
    trigger: key("trigger", "ticket_scanned"),
    channel: z
      .enum([...CHANNELS, NO_CHANNEL])
      .optional()
      .openapi({
        param: { name: "channel", in: "query" },
        description: `\`${NO_CHANNEL}\` selects invites issued without a channel.`,
      }),
    groupBy: z
      .enum(GROUP_BY)
      .default("day")
      .openapi({ param: { name: "groupBy", in: "query" }, example: "day" }),
    format: z
      .enum(["json", "csv"])
      .optional()
      .openapi({
        param: { name: "format", in: "query" },
        description:
          "`csv` or `json`. Without it, the `Accept` type with the higher q-value (`text/csv` or `application/json`); default JSON.",
      }),
  })
  .strict();

export type StatsQuery = z.infer<typeof StatsQuerySchema>;

const count = (description: string) => z.number().int().min(0).openapi({ description });
const rate = (description: string) =>
  z
    .number()
    .min(0)
    .nullable()
    .openapi({ description: `${description} Null when issued is 0.` });

const seconds = (description: string) =>
  z
    .number()
    .min(0)
    .nullable()
    .openapi({ description: `${description} Null when nothing was opened.` });

const StatsTotalsSchema = z
  .object({
    issued: count("Invites issued in the range (by issue time)."),
    opened: count("Of those, claimed by a tap; an invite revoked after its open stays opened."),
    reopened: count(
      "Extra opens from the browser that claimed the invite, or from another browser on the same device (surveys with `sameDeviceMinutes`).",
    ),
    crossBrowser: count(
      "Of the re-opens, those from another browser on the device that first opened the invite, inside its same-device window.",
    ),
    previews: count("HEAD requests and link-preview bots; they never open an invite."),
    blocked: count("Taps refused because the invite was already used."),
    expired: count("Never opened, not revoked, and past expiry now."),
    revoked: count("Revoked before anyone opened them."),
    completed: count("Marked completed by reconciliation with Qualtrics."),
    suppressed: count(
      "Issue requests answered `suppressed` (no link), by request day (added in 0.2.0). Never " +
        "counted in issued, nor in any rate.",
    ),
    suppressedByReason: z
      .object({
        opted_out: count("Opted out."),
        sampled_out: count("Outside the survey's sample."),
        frequency: count("Over a contact rule."),
        cap: count("Over the survey's daily cap."),
      })
      .openapi({ description: "`suppressed` by reason (added in 0.2.0)." }),
    openRate: rate("opened / issued, 4 decimals."),
    completionRate: rate("completed / issued, 4 decimals."),
    medianSecondsToOpen: seconds(
      "Median of (open time - issue time) over opened invites, in seconds (ms precision), " +
        "within 1 % of the exact value (from a sketch).",
    ),
    p90SecondsToOpen: seconds(
      "90th percentile of (open time - issue time) over opened invites, in seconds (ms " +
        "precision), within 1 % of the exact value (from a sketch).",
    ),
  })
  .openapi("StatsTotals");

export type StatsTotals = z.infer<typeof StatsTotalsSchema>;

const StatsRowSchema = StatsTotalsSchema.extend({
  key: z.string().openapi({
    description: `The group: a day (YYYY-MM-DD), survey, trigger or channel (\`${NO_CHANNEL}\` for none).`,
    example: "2026-11-28",
  }),
}).openapi("StatsRow");

export type StatsRow = z.infer<typeof StatsRowSchema>;

export const StatsSchema = z
  .object({
    from: z.string().openapi({ example: "2026-10-30" }),
    to: z.string().openapi({ example: "2026-11-28" }),
    groupBy: z.enum(GROUP_BY),
    rows: z.array(StatsRowSchema).openapi({
      description: "By day: every day of the range, in order, zeros included. Otherwise by key.",
    }),
    totals: StatsTotalsSchema,
  })
  .openapi("Stats");

export type Stats = z.infer<typeof StatsSchema>;

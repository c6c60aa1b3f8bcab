/**
 * The scheduled sweep that turns the ledger's state into events, shard by shard: opens (the
 * claim's own 'opened' row), completions reconcile recorded (an outbox a trigger fills),
 * unopened links past their expiry, and reminders due. The tap and reconcile do nothing more
 * than before; no event depends on a request living past its answer. Each shard costs two
 * storage calls per run: one batch reads up to `SWEEP_LIMIT` rows of each kind, the events go
 * to the queue, and one batch moves the shard's positions past them. A run that dies between
 * the two sends the same events again next time, with the same ids (receivers deduplicate by
 * `webhook-id`); a run never skips one.
 */
import type { Config } from "../config/config";
import type { Env } from "../config/env";
import { getWebhooks } from "../config/webhooks";
import { onEveryShard, type Store } from "../store/store";
import { enqueueMessages } from "./enqueue";
import { inviteEvent, type WebhookEvent } from "./events";
import { reminderDueAt, reminderExclusion } from "./reminders";
import { advanceShardSweep, type ReminderWindow, readShardSweep } from "./storage/sweep-rows";

/** Rows of each kind per shard and run. */
const SWEEP_LIMIT = 100;
/** Storage calls one shard's sweep makes: one batch to read, one to move its positions. */
const CALLS_PER_SHARD = 2;
/** How often the scheduled job runs (wrangler.toml). */
const RUN_INTERVAL_MS = 10 * 60_000;
/** Expiry is swept a minute late, so no tap in flight at the instant of expiry is contradicted. */
const EXPIRY_MARGIN_MS = 60_000;

interface SweepReport {
  events: number;
  shards: number;
  /** Shards not swept this run (a failure, or the storage budget): the next run does them. */
  shardsLeft: number;
  [key: string]: string | number | boolean | null;
}

/** The events of one shard's sweep, in the order they happened within each kind. */
function eventsOf(
  swept: Awaited<ReturnType<typeof readShardSweep>>,
  windows: readonly (ReminderWindow & { minutes: number })[],
  now: number,
): WebhookEvent[] {
  const events: WebhookEvent[] = [];
  for (const row of swept.opened) {
    // A claim undone since (its token did not verify) is no open.
    if (!row.gone && row.consumed_at !== null)
      events.push(inviteEvent("invite.opened", row, row.at));
  }
  for (const row of swept.completed) {
    if (!row.gone) events.push(inviteEvent("invite.completed", row, row.at));
  }
  for (const row of swept.expired) {
    if (!row.gone) events.push(inviteEvent("invite.expired", row, row.at));
  }
  windows.forEach((window, i) => {
    for (const row of swept.reminders[i] ?? []) {
      if (reminderExclusion(row, now) !== null) continue;
      const due = reminderDueAt(row.issued_at, window.minutes);
      events.push(inviteEvent("invite.reminder_due", row, due));
    }
  });
  return events;
}

/**
 * One run of the sweep at `now`. WEBHOOKS not set: the positions still move (nothing is sent),
 * so setting it later does not send a backlog of old events. Set but invalid: events are sent
 * all the same and wait in the queue until it is fixed.
 */
export async function sweepWebhookEvents(
  env: Env,
  config: Config,
  store: Store,
  now: number,
): Promise<SweepReport> {
  const setup = getWebhooks(env);
  const queue = env.WEBHOOK_QUEUE;
  if (setup.state !== "none" && !queue) {
    throw new Error("WEBHOOKS is set but no WEBHOOK_QUEUE is bound (wrangler.toml)");
  }
  const windows = [...config.surveys.values()].flatMap((survey) =>
    survey.reminderAfterMinutes === undefined
      ? []
      : [
          {
            survey: survey.key,
            minutes: survey.reminderAfterMinutes,
            issuedUpTo: now - survey.reminderAfterMinutes * 60_000,
          },
        ],
  );
  const report: SweepReport = { events: 0, shards: 0, shardsLeft: 0 };
  const failures: unknown[] = [];
  const count = store.shards.length;
  // Two calls per shard: when the budget cannot cover every shard, each run starts one shard
  // further, so every shard is swept every few runs however many there are.
  const affordable = Math.min(count, Math.floor(store.limits.remaining / CALLS_PER_SHARD));
  const first = Math.floor(now / RUN_INTERVAL_MS) % count;
  const inThisRun = (shard: number) => (shard - first + count) % count < affordable;
  report.shardsLeft = count - affordable;
  await onEveryShard(store, async (db, shard) => {
    if (!inThisRun(shard)) return;
    try {
      const swept = await readShardSweep(db, {
        expiredUpTo: now - EXPIRY_MARGIN_MS,
        reminders: windows,
        limit: SWEEP_LIMIT,
      });
      const events = eventsOf(swept, windows, now);
      if (setup.state !== "none" && queue) {
        await enqueueMessages(
          store,
          queue,
          events.map((event) => ({ event })),
        );
      }
      await advanceShardSweep(db, swept, windows);
      report.events += setup.state === "none" ? 0 : events.length;
      report.shards += 1;
    } catch (error) {
      report.shardsLeft += 1;
      failures.push(error);
    }
  });
  if (failures.length > 0) {
    throw new AggregateError(failures, `webhook sweep failed on ${failures.length} shard(s)`);
  }
  return report;
}

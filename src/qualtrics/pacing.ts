/**
 * The client's call budget and pacing. Every request sent (retries and token requests included)
 * takes one slot: past `maxCalls` a slot is refused with `QualtricsBudgetError`; while the last
 * minute already holds `maxCallsPerMinute` sends, the slot waits. Slots are handed out one at a
 * time, so concurrent callers cannot overrun the window.
 */
import { QualtricsBudgetError } from "./errors";

const PACING_WINDOW_MS = 60_000;

interface Pacer {
  /** Slots taken so far: requests sent. */
  readonly calls: number;
  takeSlot(): Promise<void>;
}

export function createPacer(options: {
  maxCalls: number;
  maxCallsPerMinute: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}): Pacer {
  const { maxCalls, maxCallsPerMinute, sleep, now } = options;
  let calls = 0;
  const sentAt: number[] = [];
  let queue: Promise<void> = Promise.resolve();

  return {
    get calls() {
      return calls;
    },
    takeSlot() {
      const slot = queue.then(async () => {
        if (calls >= maxCalls) throw new QualtricsBudgetError(maxCalls);
        if (sentAt.length >= maxCallsPerMinute) {
          const oldest = sentAt[sentAt.length - maxCallsPerMinute] ?? 0;
          const wait = oldest + PACING_WINDOW_MS - now();
          // One wait, not a loop: an injected clock that does not move must not spin forever.
          if (wait > 0) await sleep(wait);
        }
        calls += 1;
        sentAt.push(now());
        if (sentAt.length > maxCallsPerMinute) sentAt.splice(0, sentAt.length - maxCallsPerMinute);
      });
      queue = slot.catch(() => undefined);
      return slot;
    },
  };
}

/**
 * The client's pacing, in plain Node with an injected clock: each endpoint is held to its own
 * per-minute limit (update-responses to 10 while others go on), the brand-wide pace over all of
 * them, a Retry-After holds its endpoint alone, a hold longer than the run will wait is refused at
 * once, and the call budget is never exceeded. Waits are recorded, never slept.
 */
import { describe, expect, it } from "vitest";
import { QualtricsBudgetError, QualtricsError } from "../../src/qualtrics/errors";
import {
  createPacer,
  ENDPOINT_CALLS_PER_MINUTE,
  type QualtricsEndpoint,
} from "../../src/qualtrics/pacing";

function pacerWithClock(options: { maxCalls?: number; maxCallsPerMinute?: number } = {}) {
  let now = 1_000_000;
  const waits: number[] = [];
  const pacer = createPacer({
    maxCalls: options.maxCalls ?? Number.POSITIVE_INFINITY,
    maxCallsPerMinute: options.maxCallsPerMinute ?? 3000,
    endpointCallsPerMinute: ENDPOINT_CALLS_PER_MINUTE,
    maxWaitMs: 60_000,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
  });
  const take = async (endpoint: QualtricsEndpoint, times = 1) => {
    for (let i = 0; i < times; i++) await pacer.takeSlot(endpoint);
  };
  return {
    pacer,
    waits,
    take,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("pacing per endpoint", () => {
  it("update-responses is held to 10 a minute while other endpoints go on", async () => {
    const { take, waits, advance } = pacerWithClock();
    expect(ENDPOINT_CALLS_PER_MINUTE.startUpdateResponses).toBe(10);
    await take("startUpdateResponses", 10);
    await take("getUpdateResponses", 50);
    await take("createTransactionBatch", 20);
    expect(waits).toEqual([]);
    advance(15_000);
    // The eleventh start waits until the first leaves the minute: 45 s more.
    await take("startUpdateResponses");
    expect(waits).toEqual([45_000]);
  });

  it("every endpoint has its own limit, and the brand's pace covers them all", async () => {
    const { take, waits } = pacerWithClock({ maxCallsPerMinute: 30 });
    await take("importTransactionContacts", 20);
    await take("getTransactionImport", 10);
    expect(waits).toEqual([]);
    await take("getResponseExport");
    expect(waits).toEqual([60_000]);
    for (const [endpoint, limit] of Object.entries(ENDPOINT_CALLS_PER_MINUTE)) {
      expect(limit, endpoint).toBeGreaterThan(0);
      expect(limit, endpoint).toBeLessThanOrEqual(3000);
    }
  });

  it("a Retry-After holds its endpoint alone, and a hold longer than a run waits is refused at once", async () => {
    const { pacer, take, waits } = pacerWithClock();
    pacer.hold("startResponseExport", 5_000);
    await take("getResponseExport");
    expect(waits).toEqual([]);
    await take("startResponseExport");
    expect(waits).toEqual([5_000]);

    pacer.hold("startUpdateResponses", 3_600_000);
    const refused = await pacer.takeSlot("startUpdateResponses").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(QualtricsError);
    expect(refused).toMatchObject({ status: 429, retryable: true });
    expect(waits).toEqual([5_000]);
    expect(pacer.calls).toBe(2);
  });

  it("no slot past the call budget", async () => {
    const { pacer, take } = pacerWithClock({ maxCalls: 3 });
    await take("getResponseExport", 3);
    await expect(pacer.takeSlot("getResponseExport")).rejects.toBeInstanceOf(QualtricsBudgetError);
    expect(pacer.calls).toBe(3);
  });
});

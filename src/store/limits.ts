/**
 * One invocation's share of Cloudflare's per-invocation limits, kept by the Worker itself so that
 * fan-out over many shards holds the same shape in production as locally (where nothing enforces
 * them): at most six storage calls in flight (a Worker invocation holds six connections at once,
 * and waits for a free one beyond that), and a budget of storage calls (D1 counts at most 1,000
 * queries per invocation). One is created per request and per scheduled run (`openStore`);
 * every D1 and KV call of that invocation goes through it, so no loop over shards can exceed it.
 *
 * A call beyond the budget fails with `QueryBudgetSpent` before it is sent; bounded jobs check
 * `remaining` between steps and stop cleanly, leaving the rest to the next run. Other
 * subrequests (the Qualtrics API) take a connection through `connection()` without spending the
 * storage budget: they have their own (QUALTRICS_MAX_CALLS_PER_RUN).
 */

/** Connections one invocation may hold at once (Workers platform limit). */
export const MAX_IN_FLIGHT = 6;

/**
 * Storage calls (D1 statements or batches, KV operations) one invocation may make: under D1's
 * 1,000 queries per invocation, with room for the Qualtrics calls of a reconcile run within
 * `limits.subrequests` (wrangler.toml).
 */
const QUERY_BUDGET = 900;

/** The invocation's storage budget is spent: stop, and leave the rest to the next run. */
export class QueryBudgetSpent extends Error {
  override name = "QueryBudgetSpent";
}

/** Connections and storage calls, shared by everything one invocation does. */
export class InvocationLimits {
  private inFlightNow = 0;
  private highest = 0;
  private readonly waiting: (() => void)[] = [];
  private spent = 0;

  /**
   * @param budget storage calls allowed (a share of `parent`'s, when given)
   * @param parent the invocation's limits this is a share of: same connections, both budgets
   */
  constructor(
    readonly budget = QUERY_BUDGET,
    private readonly parent?: InvocationLimits,
    readonly maxInFlight: number = parent?.maxInFlight ?? MAX_IN_FLIGHT,
  ) {}

  /** Storage calls this invocation (or share) may still make. */
  get remaining(): number {
    const own = this.budget - this.spent;
    return this.parent ? Math.min(own, this.parent.remaining) : own;
  }

  /** Calls in flight now, and the most ever at once (the invocation's, for a share). */
  get inFlight(): number {
    return this.parent ? this.parent.inFlight : this.inFlightNow;
  }

  get maxSeenInFlight(): number {
    return this.parent ? this.parent.maxSeenInFlight : this.highest;
  }

  /**
   * A share of this budget for one job of the invocation: it spends from both, shares the
   * connections, and cannot take more than `budget` however much is left here.
   */
  share(budget: number): InvocationLimits {
    return new InvocationLimits(Math.min(budget, this.remaining), this);
  }

  /** Spends one storage call of the budget and runs `call` on a free connection. */
  query<T>(call: () => Promise<T>): Promise<T> {
    if (this.remaining <= 0) {
      return Promise.reject(
        new QueryBudgetSpent(`this invocation's ${this.budget} storage calls are spent`),
      );
    }
    this.spend();
    return this.connection(call);
  }

  /** Runs `call` on a free connection (at once when one is free), without spending the budget. */
  connection<T>(call: () => Promise<T>): Promise<T> {
    if (this.parent) return this.parent.connection(call);
    if (this.inFlightNow < this.maxInFlight) {
      this.inFlightNow += 1;
      this.highest = Math.max(this.highest, this.inFlightNow);
      return this.release(call);
    }
    // The connection of a call that ends passes straight to the first one waiting.
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() =>
      this.release(call),
    );
  }

  private spend(): void {
    this.spent += 1;
    this.parent?.spend();
  }

  /** Runs `call` on a connection already taken, then frees it or hands it on. */
  private async release<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlightNow -= 1;
    }
  }
}

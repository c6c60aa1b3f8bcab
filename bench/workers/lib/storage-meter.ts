/**
 * Bench-only storage meter: wraps a Worker so that every KV and D1 call it makes is counted and,
 * when asked, delayed by a fixed time per round trip, the way production's network would delay
 * it. Only the bench's own entries use it (bench/workers/service-metered, floors/metered.js); the
 * service's entry (src/index.ts) never does, so nothing here runs in production or `npm start`.
 *
 * A round trip is one call that leaves the Worker: a KV get/getWithMetadata/put/delete/list, a D1
 * statement's first/all/run/raw, a D1 batch (one, however many statements), a D1 exec.
 * Rows come from each D1 result's `meta.rows_read` / `meta.rows_written` (what D1 bills);
 * `first()` runs as `all()` (D1's own first() runs the same query and drops the meta), `raw()`
 * and `exec()` report no rows and are counted apart.
 *
 * Connections: production holds at most six per invocation and queues the rest; locally nothing
 * does. `maxConnections` makes the meter queue round trips beyond it the same way, and
 * `maxInFlight` counts the most ever in flight at once. Both are per invocation when the entry
 * gives the meter `scopes` that tell invocations apart (the stats entry does, with
 * AsyncLocalStorage); else over the whole isolate.
 *
 * Control (bench only, never counted as requests):
 *   GET /__bench/counters[?reset=1]  the counters, once no storage call has been in flight for
 *                                    100 ms (waitUntil work included); reset=1 zeroes them after
 *   PUT /__bench/delay?ms=N          delay every round trip by N ms from now on (0: none)
 *   PUT /__bench/connections?max=N   at most N round trips in flight per invocation (0: no cap)
 * Both answer with the meter's `instance`: a new one means the Worker was reloaded and its
 * counters and delay were lost (the bench then discards the measurement).
 *
 * Types are structural (no Workers globals), so the module type-checks for Node and workerd.
 */

export interface Counters {
  /** Invocations of the wrapped Worker (fetch and scheduled), control requests excluded. */
  requests: number;
  kvReads: number;
  kvWrites: number;
  kvDeletes: number;
  kvLists: number;
  kvRoundTrips: number;
  d1RoundTrips: number;
  d1Statements: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  /** raw() and exec() calls: round trips whose rows D1 does not report. */
  d1Unmetered: number;
  /** The most round trips one invocation (or the isolate, without scopes) had in flight at once. */
  maxInFlight: number;
}

/** What one invocation has in flight, and the round trips waiting for a connection. */
export interface Invocation {
  inFlight: number;
  waiting: (() => void)[];
}

export const newInvocation = (): Invocation => ({ inFlight: 0, waiting: [] });

/** How an entry tells invocations apart: each request runs in its own. */
export interface InvocationScopes {
  /** Runs `handle` as one invocation. */
  run<T>(handle: () => T): T;
  /** The invocation the caller runs in, if any. */
  current(): Invocation | undefined;
}

const zero = (): Counters => ({
  requests: 0,
  kvReads: 0,
  kvWrites: 0,
  kvDeletes: 0,
  kvLists: 0,
  kvRoundTrips: 0,
  d1RoundTrips: 0,
  d1Statements: 0,
  d1RowsRead: 0,
  d1RowsWritten: 0,
  d1Unmetered: 0,
  maxInFlight: 0,
});

/** One meter per isolate: locally `wrangler dev` serves every request from one isolate. */
export class StorageMeter {
  counters: Counters = zero();
  delayMs = 0;
  /** Round trips one invocation may have in flight; the rest wait (0: no cap). */
  maxConnections = 0;
  /** Invocations, when the entry can tell them apart. */
  scopes: InvocationScopes | undefined;
  /** The isolate as one invocation, for entries without scopes. */
  private readonly isolate = newInvocation();
  private inFlight = 0;
  private lastActivity = 0;
  private id: string | undefined;

  /** Names this meter (this isolate's) in control answers; drawn on first use, not at load. */
  get instance(): string {
    this.id ??= Math.random().toString(36).slice(2, 10);
    return this.id;
  }

  reset(): void {
    this.counters = zero();
  }

  /**
   * Waits for one of the invocation's connections (when capped) and `delayMs`, then runs one round
   * trip, tracked until it settles.
   */
  async roundTrip<T>(call: () => Promise<T>): Promise<T> {
    const invocation = this.scopes?.current() ?? this.isolate;
    this.inFlight++;
    if (this.maxConnections > 0 && invocation.inFlight >= this.maxConnections) {
      // The connection of a round trip that ends passes straight to the first one waiting.
      await new Promise<void>((resolve) => invocation.waiting.push(resolve));
    } else invocation.inFlight++;
    this.counters.maxInFlight = Math.max(this.counters.maxInFlight, invocation.inFlight);
    try {
      if (this.delayMs > 0) await sleep(this.delayMs);
      return await call();
    } finally {
      const next = invocation.waiting.shift();
      if (next) next();
      else invocation.inFlight--;
      this.inFlight--;
      this.lastActivity = Date.now();
    }
  }

  /** Resolves once no round trip has been in flight for `quietMs` (at most `maxMs`). */
  async settled(quietMs = 100, maxMs = 10_000): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline) {
      if (this.inFlight === 0 && Date.now() - this.lastActivity >= quietMs) return;
      await sleep(20);
    }
  }

  recordRows(meta: unknown): void {
    const m = (meta ?? {}) as { rows_read?: unknown; rows_written?: unknown };
    if (typeof m.rows_read === "number") this.counters.d1RowsRead += m.rows_read;
    if (typeof m.rows_written === "number") this.counters.d1RowsWritten += m.rows_written;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type AnyFunction = (...args: unknown[]) => unknown;
type Binding = Record<string, unknown>;

const isFunction = (value: unknown): value is AnyFunction => typeof value === "function";

/**
 * The bindings metered, by name (the service's and the floors' alike): KV LINKS, D1 DB, DB_1, …
 * By name, not by shape: an RPC stub (a service binding) answers every property with a function.
 */
const KV_BINDING = /^LINKS$/;
const D1_BINDING = /^DB(?:_\d+)?$/;

const KV_KINDS = {
  get: "kvReads",
  getWithMetadata: "kvReads",
  put: "kvWrites",
  delete: "kvDeletes",
  list: "kvLists",
} as const;

/** KV: every listed operation is one round trip; a bulk get counts one read per key. */
function meterKv(kv: Binding, meter: StorageMeter): Binding {
  return new Proxy(kv, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (!isFunction(value)) return value;
      const kind = typeof prop === "string" ? KV_KINDS[prop as keyof typeof KV_KINDS] : undefined;
      if (!kind) return value.bind(target);
      return (...args: unknown[]) => {
        meter.counters[kind] += Array.isArray(args[0]) ? args[0].length : 1;
        meter.counters.kvRoundTrips++;
        return meter.roundTrip(async () => value.apply(target, args));
      };
    },
  });
}

interface D1ResultLike {
  results?: Record<string, unknown>[];
  meta?: unknown;
}

interface StatementLike {
  bind(...values: unknown[]): StatementLike;
  first(column?: string): Promise<unknown>;
  all(): Promise<D1ResultLike>;
  run(): Promise<D1ResultLike>;
  raw(options?: unknown): Promise<unknown[]>;
}

/** The real statement behind each metered one, for batch(). */
const innerStatements = new WeakMap<object, StatementLike>();

/** A prepared statement whose first/all/run/raw are each one metered round trip. */
class MeteredStatement {
  constructor(
    private readonly inner: StatementLike,
    private readonly meter: StorageMeter,
  ) {
    innerStatements.set(this, inner);
  }

  bind(...values: unknown[]): MeteredStatement {
    return new MeteredStatement(this.inner.bind(...values), this.meter);
  }

  private async query(run: "all" | "run"): Promise<D1ResultLike> {
    this.meter.counters.d1RoundTrips++;
    this.meter.counters.d1Statements++;
    const result = await this.meter.roundTrip(() => this.inner[run]());
    this.meter.recordRows(result.meta);
    return result;
  }

  all(): Promise<D1ResultLike> {
    return this.query("all");
  }

  run(): Promise<D1ResultLike> {
    return this.query("run");
  }

  /** D1's first(): the same query as all(), first row or one column of it (meta kept here). */
  async first(column?: string): Promise<unknown> {
    const row = (await this.query("all")).results?.[0];
    if (row === undefined) return null;
    if (column === undefined) return row;
    if (row[column] === undefined)
      throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
    return row[column];
  }

  raw(options?: unknown): Promise<unknown[]> {
    this.meter.counters.d1RoundTrips++;
    this.meter.counters.d1Statements++;
    this.meter.counters.d1Unmetered++;
    return this.meter.roundTrip(() => this.inner.raw(options));
  }
}

/** D1: statements are metered; a batch is one round trip whose results each carry rows. */
function meterD1(db: Binding, meter: StorageMeter): Binding {
  return new Proxy(db, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (!isFunction(value)) return value;
      switch (prop) {
        case "prepare":
          return (sql: string) =>
            new MeteredStatement(value.call(target, sql) as StatementLike, meter);
        case "batch":
          return async (statements: object[]) => {
            const inner = statements.map((s) => innerStatements.get(s) ?? s);
            meter.counters.d1RoundTrips++;
            meter.counters.d1Statements += inner.length;
            const results = (await meter.roundTrip(async () =>
              value.call(target, inner),
            )) as D1ResultLike[];
            for (const result of results) meter.recordRows(result.meta);
            return results;
          };
        case "exec":
          return (sql: string) => {
            meter.counters.d1RoundTrips++;
            meter.counters.d1Unmetered++;
            return meter.roundTrip(async () => value.call(target, sql));
          };
        case "withSession":
          return (...args: unknown[]) => meterD1(value.apply(target, args) as Binding, meter);
        default:
          return value.bind(target);
      }
    },
  });
}

/**
 * `env` with every KV and D1 binding metered; one copy per original `env` object, because the
 * service caches its parsed config and its store per env object.
 */
export function meteredEnvFactory(meter: StorageMeter) {
  const copies = new WeakMap<object, Binding>();
  return <E extends object>(env: E): E => {
    let copy = copies.get(env);
    if (!copy) {
      copy = { ...(env as Binding) };
      for (const [name, binding] of Object.entries(copy)) {
        if (typeof binding !== "object" || binding === null) continue;
        if (KV_BINDING.test(name)) copy[name] = meterKv(binding as Binding, meter);
        else if (D1_BINDING.test(name)) copy[name] = meterD1(binding as Binding, meter);
      }
      copies.set(env, copy);
    }
    return copy as E;
  };
}

/** The control routes: counters and delay. */
async function control(request: Request, meter: StorageMeter): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/__bench/counters" && request.method === "GET") {
    await meter.settled();
    const body = { instance: meter.instance, delayMs: meter.delayMs, counters: meter.counters };
    if (url.searchParams.get("reset") === "1") meter.reset();
    return Response.json(body);
  }
  if (url.pathname === "/__bench/connections" && request.method === "PUT") {
    const max = Number(url.searchParams.get("max"));
    if (!Number.isInteger(max) || max < 0) return new Response("max must be >= 0", { status: 400 });
    meter.maxConnections = max;
    return Response.json({ instance: meter.instance, maxConnections: max });
  }
  if (url.pathname === "/__bench/delay" && request.method === "PUT") {
    const ms = Number(url.searchParams.get("ms"));
    if (!Number.isFinite(ms) || ms < 0) return new Response("ms must be >= 0", { status: 400 });
    meter.delayMs = ms;
    return Response.json({ instance: meter.instance, delayMs: ms });
  }
  return new Response("not found", { status: 404 });
}

export interface WorkerLike<E, C, S> {
  fetch?: (request: Request, env: E, ctx: C) => Response | Promise<Response>;
  scheduled?: (controller: S, env: E, ctx: C) => unknown;
}

/**
 * `worker` with its storage metered by `meter`, plus the control routes under /__bench/. One
 * meter per isolate, shared by every request (locally, all of them).
 */
export function meterWorker<E extends object, C, S>(
  worker: WorkerLike<E, C, S>,
  meter: StorageMeter,
): Required<WorkerLike<E, C, S>> {
  const meteredEnv = meteredEnvFactory(meter);
  return {
    async fetch(request, env, ctx) {
      if (new URL(request.url).pathname.startsWith("/__bench/")) return control(request, meter);
      if (!worker.fetch) return new Response("no fetch handler", { status: 500 });
      meter.counters.requests++;
      const handle = () => worker.fetch?.(request, meteredEnv(env), ctx) as Promise<Response>;
      return meter.scopes ? meter.scopes.run(handle) : handle();
    },
    async scheduled(controller, env, ctx) {
      meter.counters.requests++;
      const handle = async () => {
        await worker.scheduled?.(controller, meteredEnv(env), ctx);
      };
      await (meter.scopes ? meter.scopes.run(handle) : handle());
    },
  };
}

/**
 * The D1 and KV bindings as the rest of the Worker sees them: every call that leaves the Worker
 * (a statement's first/all/run/raw, a batch, an exec, a KV operation) goes through the
 * invocation's limits (limits.ts), and nothing else is reachable. A call that finds a free
 * connection starts at once, so a tap's claim and its KV read still leave side by side.
 * Sessions (read replicas) are refused: counts must be read where they are written.
 */
import type { InvocationLimits } from "./limits";

/** The KV operations the store uses (links.ts): marks read, written and deleted by invite id. */
export interface LinkKv {
  getWithMetadata<M>(key: string): Promise<{ value: string | null; metadata: M | null }>;
  put(key: string, value: string, options: KVNamespacePutOptions): Promise<void>;
  delete(key: string): Promise<void>;
}

/** KV through the limits. */
export function limitedKv(kv: KVNamespace, limits: InvocationLimits): LinkKv {
  return {
    getWithMetadata: <M>(key: string) => limits.query(() => kv.getWithMetadata<M>(key)),
    put: (key, value, options) => limits.query(() => kv.put(key, value, options)),
    delete: (key) => limits.query(() => kv.delete(key)),
  };
}

/** The statement a limited one wraps, for batches. */
const unwrapped = new WeakMap<D1PreparedStatement, D1PreparedStatement>();

/** A prepared statement whose every run is one storage call through the limits. */
class LimitedStatement implements D1PreparedStatement {
  constructor(
    private readonly inner: D1PreparedStatement,
    private readonly limits: InvocationLimits,
  ) {
    unwrapped.set(this, inner);
  }

  bind(...values: unknown[]): D1PreparedStatement {
    return new LimitedStatement(this.inner.bind(...values), this.limits);
  }

  first<T = unknown>(colName: string): Promise<T | null>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  first<T>(colName?: string): Promise<T | null> {
    return this.limits.query(() =>
      colName === undefined ? this.inner.first<T>() : this.inner.first<T>(colName),
    );
  }

  run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.limits.query(() => this.inner.run<T>());
  }

  all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.limits.query(() => this.inner.all<T>());
  }

  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
  raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[] | [string[], ...T[]]> {
    if (options?.columnNames === true) {
      return this.limits.query(() => this.inner.raw<T>({ columnNames: true }));
    }
    return this.limits.query(() => this.inner.raw<T>({ columnNames: false }));
  }
}

/** A ledger shard through the limits: a batch, however many statements, is one call. */
class LimitedDatabase implements D1Database {
  constructor(
    private readonly inner: D1Database,
    private readonly limits: InvocationLimits,
  ) {}

  prepare(query: string): D1PreparedStatement {
    return new LimitedStatement(this.inner.prepare(query), this.limits);
  }

  batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    const inner = statements.map((s) => unwrapped.get(s) ?? s);
    return this.limits.query(() => this.inner.batch<T>(inner));
  }

  exec(query: string): Promise<D1ExecResult> {
    return this.limits.query(() => this.inner.exec(query));
  }

  withSession(): D1DatabaseSession {
    throw new Error("D1 sessions (read replicas) are not used: counts must not lag");
  }

  dump(): Promise<ArrayBuffer> {
    return Promise.reject(new Error("dump() is not available through the store"));
  }
}

/** A shard binding through the limits. */
export const limitedDatabase = (db: D1Database, limits: InvocationLimits): D1Database =>
  new LimitedDatabase(db, limits);

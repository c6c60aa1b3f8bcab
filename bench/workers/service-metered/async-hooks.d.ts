/** The part of Node's AsyncLocalStorage the stats entry uses (workerd: `nodejs_als` flag). */
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    run<R>(store: T, callback: () => R): R;
    getStore(): T | undefined;
  }
}

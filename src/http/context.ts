/** The Hono environment shared by every route: bindings plus per-request variables. */
import type { ApiKey, Config } from "../config/config";
import type { Env } from "../config/env";
import type { Store } from "../store/store";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    apiKey: ApiKey;
    requestId: string;
    /** This request's store: every D1 and KV call of the request goes through its limits. */
    store: Store;
  };
}

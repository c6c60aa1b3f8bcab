/** The Hono environment shared by every route: bindings plus per-request variables. */
import type { ApiKey, Config } from "../config/config";
import type { Env } from "../config/env";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    apiKey: ApiKey;
    requestId: string;
  };
}

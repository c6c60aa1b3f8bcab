// @ts-check
/**
 * Vitest globalSetup: one fake Qualtrics for the whole run, on a free loopback port. Its URL reaches
 * tests as `inject("fakeQualtricsUrl")`. Test files that need state or limits of their own create a
 * private instance with `POST {url}/_fake/instances` (see test/qualtrics-client.test.ts).
 */
import { startFakeQualtrics } from "./server.js";

/** @param {{ provide: (key: string, value: unknown) => void }} project */
export default async function setup({ provide }) {
  const fake = await startFakeQualtrics({ port: 0 });
  provide("fakeQualtricsUrl", fake.url);
  return async () => {
    await fake.close();
  };
}

/**
 * Same-device re-open, for surveys that turn it on (`sameDeviceMinutes`, docs/tap.md): an app
 * opens a link in its in-app browser, and later the phone's own browser opens it again, without
 * the claim cookie (the two share none). Within that many minutes of the first open, a tap from
 * another browser re-opens the survey when it comes from the same device: the same network
 * address (IPv4, or the IPv6 /64) and the same platform (OS family and device class,
 * device-platform.ts). Anything else is refused as for any other survey.
 *
 * The ledger keeps only a keyed hash of (invite id, address, platform), written after the first
 * open (in the background: the claim, and taps of surveys without a window, do no extra work),
 * and only for the window: the scheduled retention job clears it once the window is over, and
 * erasure and retention clear it with the invite's personal data. Keyed (HMAC, key derived from
 * COOKIE_SECRET for this use only) because addresses are few enough to hash them all; with the
 * invite id in it, one phone's hashes on two invites are unrelated.
 */
import type { Config } from "../config/config";
import { timingSafeEqual } from "../http/auth";
import { knownClientAddress } from "../http/client-address";
import type { InviteRow } from "../store/invite-rows";
import { keyedHash } from "../tokens/keyed-hash";
import { devicePlatform } from "./device-platform";

const PURPOSE = "invite-edge same device v1";
const MINUTE_MS = 60_000;
const encoder = new TextEncoder();

/** The window of the invite's survey in ms, 0 when its survey has none (or is not configured). */
const windowMs = (config: Config, row: InviteRow): number =>
  (config.surveys.get(row.survey)?.sameDeviceMinutes ?? 0) * MINUTE_MS;

/**
 * The invite's window is open: it was opened less than its survey's `sameDeviceMinutes` ago.
 * Then only the ledger can tell whose device a tap is (the KV mark cannot), even before the
 * first open's device is written.
 */
export function inDeviceWindow(config: Config, row: InviteRow, now: number): boolean {
  const window = windowMs(config, row);
  return window > 0 && row.consumed_at !== null && row.consumed_at + window > now;
}

/** This tap's device hash for invite `id`; null when the request names no address or platform. */
async function deviceHash(config: Config, id: string, request: Request): Promise<string | null> {
  const address = knownClientAddress(request);
  const platform = devicePlatform(request.headers.get("User-Agent") ?? "");
  if (address === null || platform === null) return null;
  return keyedHash(config.cookieSecret, PURPOSE, `${id}\n${address}\n${platform}`);
}

/**
 * The device of a first open, to keep with the invite until its window ends; null when the
 * survey has no window or the device cannot be told (such a device matches nothing).
 */
export async function firstOpenDevice(
  config: Config,
  row: InviteRow,
  request: Request,
): Promise<{ hash: string; until: number } | null> {
  const window = windowMs(config, row);
  if (window === 0 || row.consumed_at === null) return null;
  const hash = await deviceHash(config, row.id, request);
  return hash === null ? null : { hash, until: row.consumed_at + window };
}

/** True when this tap comes from the device that first opened `row`, inside its window. */
export async function isSameDevice(
  config: Config,
  row: InviteRow,
  request: Request,
  now: number,
): Promise<boolean> {
  if (row.device_hash === null || row.device_until === null || row.device_until <= now) {
    return false;
  }
  const hash = await deviceHash(config, row.id, request);
  return hash !== null && timingSafeEqual(encoder.encode(hash), encoder.encode(row.device_hash));
}

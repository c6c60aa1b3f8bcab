/**
 * Same-device re-open, for surveys that turn it on (`sameDeviceMinutes`, docs/tap.md): an app
 * opens a link in its in-app browser, and later the phone's own browser opens it again, without
 * the claim cookie (the two share none). Within that many minutes of the first open, a tap from
 * another browser re-opens the survey when it comes from the same device: the same network
 * address (IPv4, or the IPv6 /64) and the same platform (OS family and device class,
 * device-platform.ts). Anything else is refused as for any other survey.
 *
 * The ledger keeps only a keyed hash of (invite id, address, platform), written by the claim of
 * the first open, and only for the window: the scheduled retention job clears it once the window
 * is over, and erasure and retention clear it with the invite's personal data. Keyed (HMAC, key
 * derived from COOKIE_SECRET for this use only) because addresses are few enough to hash them
 * all; with the invite id in it, one phone's hashes on two invites are unrelated.
 */
import type { Config } from "../config/config";
import { timingSafeEqual } from "../http/auth";
import { knownClientAddress } from "../http/client-address";
import type { ClaimAttempt, InviteRow } from "../store/invite-rows";
import { keyedHash } from "../tokens/keyed-hash";
import { devicePlatform } from "./device-platform";

const PURPOSE = "invite-edge same device v1";
const encoder = new TextEncoder();

/** Survey key → window minutes, of the surveys that turn it on (per config, built once). */
const windowsByConfig = new WeakMap<Config, Readonly<Record<string, number>>>();

function sameDeviceWindows(config: Config): Readonly<Record<string, number>> {
  let windows = windowsByConfig.get(config);
  if (!windows) {
    windows = Object.fromEntries(
      [...config.surveys.values()]
        .filter((survey) => survey.sameDeviceMinutes > 0)
        .map((survey) => [survey.key, survey.sameDeviceMinutes]),
    );
    windowsByConfig.set(config, windows);
  }
  return windows;
}

/**
 * This tap's device for invite `id`, as a claim keeps it. Null, with no work at all, when no
 * survey has a window (the tap's path stays as it is); null too when the request names no
 * address or an unknown platform: such a device matches nothing.
 */
export async function tapDevice(
  config: Config,
  id: string,
  request: Request,
): Promise<ClaimAttempt["device"]> {
  const windows = sameDeviceWindows(config);
  if (Object.keys(windows).length === 0) return null;
  const address = knownClientAddress(request);
  const platform = devicePlatform(request.headers.get("User-Agent") ?? "");
  if (address === null || platform === null) return null;
  return {
    hash: await keyedHash(config.cookieSecret, PURPOSE, `${id}\n${address}\n${platform}`),
    windows,
  };
}

/** The invite's same-device window is open: only the ledger can tell whose device a tap is. */
export const inDeviceWindow = (row: InviteRow, now: number): boolean =>
  row.device_hash !== null && row.device_until !== null && row.device_until > now;

/** True when this tap comes from the device that first opened `row`, inside its window. */
export function isSameDevice(row: InviteRow, device: ClaimAttempt["device"], now: number): boolean {
  if (!device || !inDeviceWindow(row, now)) return false;
  return timingSafeEqual(encoder.encode(device.hash), encoder.encode(row.device_hash ?? ""));
}

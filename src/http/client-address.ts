/**
 * The client address a tap's rate limits are keyed on (`CF-Connecting-IP`, set by Cloudflare).
 * An IPv4 address is used as is. An IPv6 client usually holds a whole /64 (one per phone on
 * mobile networks, one per home on most ISPs) and can pick any address in it, so IPv6 addresses
 * are keyed by their /64 prefix; IPv4-mapped IPv6 addresses count as the IPv4 address.
 */

/** The eight 16-bit groups of an IPv6 address, or null when `text` is not one. */
function ipv6Groups(text: string): number[] | null {
  let address = text.toLowerCase().replace(/%.*$/, ""); // no zone id
  const ipv4Tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (ipv4Tail) {
    const bytes = ipv4Tail.slice(1).map(Number);
    if (bytes.some((b) => b > 255)) return null;
    const [a = 0, b = 0, c = 0, d = 0] = bytes;
    address = `${address.slice(0, ipv4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const head = parse(halves[0] ?? "");
  const tail = halves.length === 2 ? parse(halves[1] ?? "") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => Number.parseInt(g, 16));
}

export function addressKey(address: string): string {
  if (!address.includes(":")) return address;
  const groups = ipv6Groups(address);
  if (!groups) return address;
  const mappedIpv4 = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mappedIpv4) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The key of the client that sent `request`. */
export function clientAddress(request: Request): string {
  return addressKey(request.headers.get("CF-Connecting-IP")?.trim() || "unknown");
}

/**
 * The key of the client that sent `request` when it is a real address (an IPv4 address or an
 * IPv6 /64), else null: for matching one client's requests, where "unknown" must match nothing.
 */
export function knownClientAddress(request: Request): string | null {
  const key = clientAddress(request);
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(key) || key.endsWith("::/64") ? key : null;
}

/** The client key of the tap's rate limits: IPv4 as is, IPv6 by its /64, mapped IPv4 as IPv4. */
import { describe, expect, it } from "vitest";
import { addressKey, clientAddress } from "../../src/http/client-address";

describe("addressKey", () => {
  it.each([
    ["192.0.2.10", "192.0.2.10"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::7", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002:ffff:0:0:1", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::ffff:192.0.2.10", "192.0.2.10"],
    ["::ffff:c000:20a", "192.0.2.10"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["not:an:address:::", "not:an:address:::"],
    ["1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8:9"],
    ["unknown", "unknown"],
  ])("%s → %s", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });

  it("is the same for every spelling of one /64, and differs between /64s", () => {
    const a = addressKey("2001:db8:aa:bb::1");
    expect(addressKey("2001:0db8:00aa:00bb:0000:0000:0000:ffff")).toBe(a);
    expect(addressKey("2001:db8:aa:bc::1")).not.toBe(a);
  });

  it("reads CF-Connecting-IP, and groups requests without one", () => {
    const request = (ip?: string) =>
      new Request("https://x.test/", { headers: ip ? { "CF-Connecting-IP": ip } : {} });
    expect(clientAddress(request("2001:db8:1:2::3"))).toBe("2001:db8:1:2::/64");
    expect(clientAddress(request())).toBe("unknown");
  });
});

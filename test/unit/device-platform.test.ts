/**
 * The platform the same-device check compares (src/tap/device-platform.ts): the OS family and
 * the device class, the same for an app's in-app browser and the device's own browser.
 */
import { describe, expect, it } from "vitest";
import { devicePlatform } from "../../src/tap/device-platform";
import { DEVICE_AGENTS } from "../fixtures/user-agents";

describe("devicePlatform", () => {
  it.each([
    ["instagramIphone", "ios/phone"],
    ["facebookIphone", "ios/phone"],
    ["safariIphone", "ios/phone"],
    ["instagramIpad", "ios/tablet"],
    ["safariIpadDesktopMode", "macos/desktop"],
    ["instagramAndroid", "android/phone"],
    ["chromeAndroid", "android/phone"],
    ["firefoxAndroid", "android/phone"],
    ["chromeAndroidTablet", "android/tablet"],
    ["chromeWindows", "windows/desktop"],
    ["chromeOs", "chromeos/desktop"],
    ["firefoxLinux", "linux/desktop"],
    ["curl", null],
  ] as const)("%s: %s", (agent, platform) => {
    expect(devicePlatform(DEVICE_AGENTS[agent])).toBe(platform);
  });

  it("an app's in-app browser and the phone's own browser are one platform", () => {
    const iphone = devicePlatform(DEVICE_AGENTS.safariIphone);
    expect(devicePlatform(DEVICE_AGENTS.instagramIphone)).toBe(iphone);
    expect(devicePlatform(DEVICE_AGENTS.facebookIphone)).toBe(iphone);
    const android = devicePlatform(DEVICE_AGENTS.chromeAndroid);
    expect(devicePlatform(DEVICE_AGENTS.instagramAndroid)).toBe(android);
    expect(android).not.toBe(iphone);
  });

  it("an empty or unknown user agent names no platform", () => {
    expect(devicePlatform("")).toBeNull();
    expect(devicePlatform("Mozilla/5.0")).toBeNull();
    expect(devicePlatform("okhttp/4.12.0")).toBeNull();
  });
});

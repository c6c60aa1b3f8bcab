/**
 * The platform a user agent names, as the same-device check compares it (same-device.ts): the OS
 * family and the device class (`ios/phone`, `android/tablet`, `windows/desktop`), never the
 * browser, its version or the model. An app's in-app browser and the phone's own browser share
 * those two and little else, and nothing finer is sent reliably (Chrome's reduced user agent says
 * "Android 10; K" on every Android phone). Null when unknown: an unknown platform matches nothing.
 */

/**
 * @example devicePlatform("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) … Instagram 350.0") // "ios/phone"
 * @example devicePlatform("Mozilla/5.0 (Linux; Android 14; Pixel 8) … Chrome/130.0 Mobile Safari/537.36") // "android/phone"
 * @example devicePlatform("curl/8.5.0") // null
 */
export function devicePlatform(userAgent: string): string | null {
  if (/\b(?:iPhone|iPod)\b/.test(userAgent)) return "ios/phone";
  if (/\biPad\b/.test(userAgent)) return "ios/tablet";
  // Android phones say "Mobile" (Chrome, WebViews, Samsung Internet, Firefox); tablets do not.
  if (/\bAndroid\b/.test(userAgent)) {
    return /\bMobile\b/.test(userAgent) ? "android/phone" : "android/tablet";
  }
  if (/\bCrOS\b/.test(userAgent)) return "chromeos/desktop";
  if (/\bWindows NT\b/.test(userAgent)) return "windows/desktop";
  if (/\bMacintosh\b/.test(userAgent)) return "macos/desktop";
  if (/\b(?:X11|Linux)\b/.test(userAgent)) return "linux/desktop";
  return null;
}

/** Invite ids: 16 random bytes (128 bits) as unpadded base64url, 22 characters. */
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export function newInviteId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return base64url(bytes);
}

/** Cheap syntactic check so malformed ids never reach KV or D1. */
export function isInviteId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

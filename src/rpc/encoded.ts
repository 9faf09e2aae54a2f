/**
 * Results made once and sent many times (rpc.discover's document): a method
 * encodes one here, and the JSON-RPC door writes it without encoding or
 * measuring it again. In the method core, so a method need not reach up
 * into the door for it.
 */
const ENCODED = new WeakMap<object, { text: string; bytes: number }>();

/** Remembers `value`'s JSON text and its size in bytes. */
export function encodeOnce<T extends object>(value: T): T {
  const text = JSON.stringify(value);
  ENCODED.set(value, { text, bytes: Buffer.byteLength(text) });
  return value;
}

/** The JSON text of a result encoded once, if it was. */
export function encodedText(value: object): { text: string; bytes: number } | undefined {
  return ENCODED.get(value);
}

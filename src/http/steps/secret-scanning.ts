/**
 * The secret-scanning door's two steps (doors/secret-scanning.ts), which
 * takes no token: `admit`, before the body is read (its signature headers,
 * a known key, the client under its failure limit), and `serveSigned`,
 * once the body is read, where the door answers and the request ends: the
 * token check and the steps after it are not for it. Every other request
 * passes both with one comparison.
 */
import type { SecretScanningDoor } from '../doors/secret-scanning.js';
import type { Exchange, Step } from '../exchange.js';

export function admit(door: SecretScanningDoor | undefined): Step {
  return (x) => (door !== undefined && x.door === door ? door.admit(x) : true);
}

export function serveSigned(door: SecretScanningDoor | undefined): Step {
  return (x) => (door !== undefined && x.door === door ? served(door, x) : true);
}

async function served(door: SecretScanningDoor, x: Exchange): Promise<false> {
  await door.serve(x);
  return false;
}

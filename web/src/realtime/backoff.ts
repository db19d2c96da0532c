/** Delay before the first reconnect, before jitter. */
export const BACKOFF_BASE_MS = 1_000;

/** Largest delay between reconnects, before jitter. */
export const BACKOFF_MAX_MS = 30_000;

/**
 * Returns the wait before reconnect number `attempt` (0 for the first).
 *
 * The delay doubles from `BACKOFF_BASE_MS` up to `BACKOFF_MAX_MS`, and then a
 * random share of up to half is taken off, so the result lies in
 * [capped / 2, capped]. The jitter comes after the cap, so clients that lost
 * the server at the same moment still spread out once they all reach the cap.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const capped = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** exponent);
  const half = capped / 2;
  return Math.round(half + random() * half);
}

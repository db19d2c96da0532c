// Constants of the `/ws` protocol, kept in one place so the client's
// behaviour can be checked against the server's.

/** The server sends a WebSocket ping this often. Browsers reply to pings on their own. */
export const SERVER_PING_INTERVAL_MS = 30_000;

/** The server drops a client that has sent nothing, pongs included, for this long. */
export const SERVER_CLIENT_TIMEOUT_MS = 60_000;

/** Close codes the server uses, and what the client does for each. */
export const CloseCode = {
  /** The server is shutting down or restarting: reconnect. */
  GoingAway: 1001,
  /** Policy violation, which can mean the session cookie is no longer valid: check the session, then reconnect. */
  PolicyViolation: 1008,
  /** The session expired: do not reconnect, and ask the user to sign in again. */
  SessionExpired: 4001,
  /** The client fell behind the event stream: reconnect for a fresh snapshot. */
  ClientTooSlow: 4008,
  /** The server requests a resync: reconnect for a fresh snapshot. */
  ResyncRequired: 4009,
} as const;

/** Returns the URL of the notes socket on the page's own origin. */
export function socketUrl(location: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

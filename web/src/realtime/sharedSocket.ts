import { shallowRef, type ShallowRef } from 'vue';

import { CloseCode } from '../api/protocol';
import type { ServerMessage } from '../api/types';
import { backoffDelay } from './backoff';

/**
 * - `idle`: no subscriber has asked for a connection yet.
 * - `connecting`: the first connection attempt is under way.
 * - `connected`: the socket is open.
 * - `reconnecting`: the connection was lost, and a retry is scheduled or running.
 * - `offline`: no socket and no retry, because the connection was closed on
 *   purpose or the session ended.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** Result of checking the session cookie after a failed connection attempt. */
export type SessionCheck = 'valid' | 'expired' | 'unknown';

export interface Subscriber {
  onMessage?: (message: ServerMessage) => void;
  /** Runs when the server ends the session; the socket then stays closed. */
  onSessionEnded?: (reason: string) => void;
}

export interface SharedSocketOptions {
  url: () => string;
  createSocket?: (url: string) => WebSocket;
  checkSession?: () => Promise<SessionCheck>;
  random?: () => number;
  now?: () => number;
  /** Target of the browser's `online` event, which triggers a pending retry at once. */
  networkEvents?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | null;
}

/**
 * A socket that stayed open at least this long counts as a working connection,
 * so the next loss starts the backoff from the beginning again.
 */
export const STABLE_OPEN_MS = 5_000;

// The WebSocket readyState values, written out so the class does not depend
// on a global WebSocket (tests replace it).
const SOCKET_CONNECTING = 0;
const SOCKET_OPEN = 1;

export const SESSION_EXPIRED_MESSAGE = 'Your session has expired. Sign in again.';

/**
 * One WebSocket to the server, shared by every subscriber in the tab.
 *
 * The socket opens when the first subscriber arrives and closes when the last
 * one leaves. A lost connection is retried with exponential backoff. Listeners
 * are attached once per socket, whatever the number of subscribers, and every
 * event checks that it comes from the current socket, so a replaced socket
 * cannot change the state.
 */
export class SharedSocket {
  readonly status: ShallowRef<ConnectionStatus> = shallowRef('idle');
  /** Time (as from `now()`) of the next scheduled retry, or null. */
  readonly retryAt: ShallowRef<number | null> = shallowRef(null);
  /** Close code of the last connection that ended, or null. */
  readonly lastCloseCode: ShallowRef<number | null> = shallowRef(null);

  private readonly options: Required<Omit<SharedSocketOptions, 'networkEvents'>> & {
    networkEvents: SharedSocketOptions['networkEvents'];
  };
  private readonly subscribers = new Set<Subscriber>();
  private socket: WebSocket | null = null;
  private openedAt: number | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  /** Grows whenever pending asynchronous work (a session check) must be dropped. */
  private generation = 0;

  constructor(options: SharedSocketOptions) {
    this.options = {
      createSocket: (url) => new WebSocket(url),
      checkSession: async () => 'unknown',
      random: Math.random,
      now: Date.now,
      networkEvents: typeof window === 'undefined' ? null : window,
      ...options,
    };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** True while a reconnect timer is pending. */
  get retryPending(): boolean {
    return this.retryTimer !== null;
  }

  /** The current socket, for tests. */
  get currentSocket(): WebSocket | null {
    return this.socket;
  }

  /** Adds a subscriber, opening the socket if none is open or pending. Returns the function that removes it. */
  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    if (!this.socket && !this.retryTimer && this.status.value !== 'reconnecting') this.connect();

    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.close();
    };
  }

  /** Closes the socket and cancels any pending retry. A later `subscribe` opens a new one. */
  close(): void {
    this.generation += 1;
    this.cancelRetry();
    this.attempt = 0;

    const socket = this.socket;
    this.socket = null;
    this.openedAt = null;
    if (socket) {
      this.detach(socket);
      if (socket.readyState === SOCKET_CONNECTING || socket.readyState === SOCKET_OPEN) {
        socket.close(1000, 'client closed');
      }
    }
    this.status.value = 'offline';
  }

  /** Skips the wait of a scheduled retry. */
  retryNow = (): void => {
    if (!this.retryTimer) return;
    this.cancelRetry();
    this.connect();
  };

  private connect(): void {
    const socket = this.options.createSocket(this.options.url());
    this.socket = socket;
    this.openedAt = null;
    this.status.value = this.attempt === 0 && this.status.value !== 'reconnecting' ? 'connecting' : 'reconnecting';

    socket.addEventListener('open', this.handleOpen);
    socket.addEventListener('message', this.handleMessage);
    socket.addEventListener('close', this.handleClose);
    socket.addEventListener('error', this.handleError);
  }

  private detach(socket: WebSocket): void {
    socket.removeEventListener('open', this.handleOpen);
    socket.removeEventListener('message', this.handleMessage);
    socket.removeEventListener('close', this.handleClose);
    socket.removeEventListener('error', this.handleError);
  }

  private handleOpen = (event: Event): void => {
    if (event.target !== this.socket) return;
    this.openedAt = this.options.now();
    this.status.value = 'connected';
  };

  private handleMessage = (event: Event): void => {
    if (event.target !== this.socket) return;
    const message = parseMessage((event as MessageEvent).data);
    if (!message) return;

    for (const subscriber of [...this.subscribers]) subscriber.onMessage?.(message);
  };

  // Browsers fire `close` after every `error`, and the close handler decides
  // what to do, so errors need no handling of their own.
  private handleError = (): void => {};

  private handleClose = (event: Event): void => {
    const socket = event.target as WebSocket;
    if (socket !== this.socket) return;

    const { code } = event as CloseEvent;
    this.detach(socket);
    this.socket = null;
    this.lastCloseCode.value = code;

    const openedAt = this.openedAt;
    this.openedAt = null;
    if (openedAt !== null && this.options.now() - openedAt >= STABLE_OPEN_MS) this.attempt = 0;

    if (code === CloseCode.SessionExpired) {
      this.endSession(SESSION_EXPIRED_MESSAGE);
      return;
    }
    if (this.subscribers.size === 0) {
      this.close();
      return;
    }

    this.status.value = 'reconnecting';
    // A refused upgrade closes the socket before it opens. That, or a policy
    // close, can mean the cookie is no longer valid, which only the HTTP API
    // can tell.
    if (openedAt === null || code === CloseCode.PolicyViolation) {
      void this.checkSessionThenRetry();
    } else {
      this.scheduleRetry();
    }
  };

  private async checkSessionThenRetry(): Promise<void> {
    const generation = this.generation;
    let result: SessionCheck;
    try {
      result = await this.options.checkSession();
    } catch {
      result = 'unknown';
    }
    if (generation !== this.generation || this.socket || this.retryTimer) return;

    if (result === 'expired') {
      this.endSession(SESSION_EXPIRED_MESSAGE);
    } else {
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.attempt, this.options.random);
    this.attempt += 1;
    this.status.value = 'reconnecting';
    this.retryAt.value = this.options.now() + delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryAt.value = null;
      this.options.networkEvents?.removeEventListener('online', this.retryNow);
      this.connect();
    }, delay);
    this.options.networkEvents?.addEventListener('online', this.retryNow);
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt.value = null;
    this.options.networkEvents?.removeEventListener('online', this.retryNow);
  }

  private endSession(reason: string): void {
    const subscribers = [...this.subscribers];
    this.close();
    for (const subscriber of subscribers) subscriber.onSessionEnded?.(reason);
  }
}

const messageTypes = new Set(['initial_notes', 'note_created', 'note_updated', 'note_deleted']);

/**
 * Parses one text frame. Returns null for anything that is not a known
 * message, because a newer server may add types that this client can skip.
 */
export function parseMessage(data: unknown): ServerMessage | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;

  const { type, seq, data: payload } = value as { type?: unknown; seq?: unknown; data?: unknown };
  if (typeof type !== 'string' || !messageTypes.has(type)) return null;
  if (typeof seq !== 'number' || typeof payload !== 'object' || payload === null) return null;
  if (type === 'initial_notes' && !Array.isArray(payload)) return null;
  return value as ServerMessage;
}

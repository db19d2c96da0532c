import { computed, getCurrentScope, onScopeDispose } from 'vue';

import { fetchCurrentUser } from '../api/client';
import { ApiError } from '../api/http';
import { socketUrl } from '../api/protocol';
import { SharedSocket, type SessionCheck, type SharedSocketOptions, type Subscriber } from '../realtime/sharedSocket';

// The tab's one socket. It lives at module level so that every component that
// subscribes shares it, and it is created on first use so tests can configure
// it before.
let shared: SharedSocket | null = null;

async function checkSession(): Promise<SessionCheck> {
  try {
    await fetchCurrentUser();
    return 'valid';
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return 'expired';
    return 'unknown';
  }
}

function sharedSocket(): SharedSocket {
  shared ??= new SharedSocket({ url: () => socketUrl(), checkSession });
  return shared;
}

/**
 * Replaces the shared socket with one built from `options`, closing the old
 * one. Tests use it to inject a WebSocket stub; the app never calls it.
 */
export function configureSharedSocket(options: Partial<SharedSocketOptions> = {}): SharedSocket {
  shared?.close();
  shared = new SharedSocket({ url: () => socketUrl(), checkSession, ...options });
  return shared;
}

/** Closes the shared socket and cancels any retry, as on sign-out. */
export function closeSharedSocket(): void {
  shared?.close();
}

/**
 * Returns the state of the tab's shared WebSocket.
 *
 * With `subscriber`, it also subscribes for the lifetime of the calling
 * component (or effect scope): the socket opens with the first subscriber,
 * and leaving releases the subscription, so the socket closes with the last.
 * Outside a component, call the returned `unsubscribe` instead. Without a
 * subscriber, it only reads the state and keeps no socket open.
 */
export function useWebSocket(subscriber?: Subscriber) {
  const socket = sharedSocket();

  let unsubscribe = (): void => {};
  if (subscriber) {
    unsubscribe = socket.subscribe(subscriber);
    if (getCurrentScope()) onScopeDispose(unsubscribe);
  }

  return {
    status: socket.status,
    retryAt: socket.retryAt,
    lastCloseCode: socket.lastCloseCode,
    connected: computed(() => socket.status.value === 'connected'),
    retryNow: socket.retryNow,
    unsubscribe,
  };
}

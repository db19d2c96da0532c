import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FakeSocket, createFakeSocket } from '../test/fakeSocket';
import { makeNote } from '../test/notes';
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay } from './backoff';
import { SESSION_EXPIRED_MESSAGE, STABLE_OPEN_MS, SharedSocket, type SessionCheck } from './sharedSocket';

function makeSocket(options: { random?: () => number; checkSession?: () => Promise<SessionCheck> } = {}) {
  return new SharedSocket({
    url: () => 'ws://127.0.0.1/ws',
    createSocket: createFakeSocket,
    checkSession: options.checkSession ?? (async () => 'valid'),
    random: options.random ?? (() => 1),
    now: () => Date.now(),
    networkEvents: null,
  });
}

/** Milliseconds until the pending retry, read from the socket's `retryAt`. */
function retryDelay(socket: SharedSocket): number {
  const at = socket.retryAt.value;
  if (at === null) throw new Error('no retry is scheduled');
  return at - Date.now();
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  it('doubles up to the cap', () => {
    const full = () => 1;
    const delays = [0, 1, 2, 3, 4, 5, 6, 10, 50].map((attempt) => backoffDelay(attempt, full));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('applies jitter after the cap', () => {
    expect(backoffDelay(0, () => 0)).toBe(BACKOFF_BASE_MS / 2);
    expect(backoffDelay(8, () => 0)).toBe(BACKOFF_MAX_MS / 2);
    expect(backoffDelay(8, () => 0.5)).toBe(BACKOFF_MAX_MS * 0.75);
  });

  it('stays in range with real randomness', () => {
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const capped = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
      for (let sample = 0; sample < 50; sample += 1) {
        const delay = backoffDelay(attempt);
        expect(delay).toBeGreaterThanOrEqual(capped / 2);
        expect(delay).toBeLessThanOrEqual(capped);
      }
    }
  });
});

describe('SharedSocket', () => {
  it('grows retry delays up to the cap', async () => {
    const socket = makeSocket();
    socket.subscribe({});
    const delays: number[] = [];

    for (let round = 0; round < 7; round += 1) {
      FakeSocket.latest().open();
      FakeSocket.latest().drop(1006);
      expect(socket.status.value).toBe('reconnecting');
      delays.push(retryDelay(socket));
      await vi.advanceTimersByTimeAsync(retryDelay(socket));
    }

    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(FakeSocket.instances).toHaveLength(8);
    socket.close();
  });

  it('keeps jittered delays in range', async () => {
    const socket = makeSocket({ random: Math.random });
    socket.subscribe({});

    for (let attempt = 0; attempt < 8; attempt += 1) {
      FakeSocket.latest().open();
      FakeSocket.latest().drop(1006);
      const capped = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
      const delay = retryDelay(socket);
      expect(delay).toBeGreaterThanOrEqual(capped / 2);
      expect(delay).toBeLessThanOrEqual(capped);
      await vi.advanceTimersByTimeAsync(delay);
    }
    socket.close();
  });

  it('resets backoff after a stable open', async () => {
    const socket = makeSocket();
    socket.subscribe({});
    FakeSocket.latest().open();
    FakeSocket.latest().drop(1006);
    await vi.advanceTimersByTimeAsync(retryDelay(socket));
    FakeSocket.latest().open();
    FakeSocket.latest().drop(1006);
    expect(retryDelay(socket)).toBe(2_000);

    await vi.advanceTimersByTimeAsync(retryDelay(socket));
    FakeSocket.latest().open();
    await vi.advanceTimersByTimeAsync(STABLE_OPEN_MS);
    FakeSocket.latest().drop(1001);
    expect(retryDelay(socket)).toBe(1_000);
    socket.close();
  });

  it('close during pending retry leaves nothing', async () => {
    const checks: string[] = [];
    const socket = makeSocket({
      checkSession: async () => {
        checks.push('checked');
        return 'valid';
      },
    });
    socket.subscribe({});

    for (let round = 0; round < 5; round += 1) {
      FakeSocket.latest().open();
      FakeSocket.latest().drop(1006);
      await vi.advanceTimersByTimeAsync(retryDelay(socket));

      if (round === 2) {
        // The first retry after this close fails before opening, so the
        // client checks the session and schedules one more retry.
        FakeSocket.latest().refuse();
        expect(socket.status.value).toBe('reconnecting');
        await vi.advanceTimersByTimeAsync(0);
        expect(checks).toEqual(['checked']);
        expect(socket.retryPending).toBe(true);
        await vi.advanceTimersByTimeAsync(retryDelay(socket));
      }
    }

    FakeSocket.latest().open();
    FakeSocket.latest().drop(1006);
    expect(socket.retryPending).toBe(true);
    expect(vi.getTimerCount()).toBe(1);

    socket.close();

    expect(socket.retryPending).toBe(false);
    expect(socket.retryAt.value).toBeNull();
    expect(socket.currentSocket).toBeNull();
    expect(socket.status.value).toBe('offline');
    expect(vi.getTimerCount()).toBe(0);
    expect(FakeSocket.live()).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(7);
    expect(FakeSocket.live()).toHaveLength(0);
  });

  it('close during session check cancels retry', async () => {
    let finishCheck: (result: SessionCheck) => void = () => {};
    const socket = makeSocket({ checkSession: () => new Promise((resolve) => (finishCheck = resolve)) });
    socket.subscribe({});
    FakeSocket.latest().refuse();

    socket.close();
    finishCheck('valid');
    await vi.advanceTimersByTimeAsync(0);

    expect(socket.retryPending).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('shares one socket between subscribers', () => {
    const socket = makeSocket();
    const received: string[] = [];
    const unsubscribers = ['a', 'b', 'c'].map((name) =>
      socket.subscribe({ onMessage: (message) => received.push(`${name}:${message.type}`) }),
    );

    expect(FakeSocket.instances).toHaveLength(1);
    const only = FakeSocket.latest();
    expect(only.listenerCount).toBe(4);

    only.open();
    only.send({ type: 'initial_notes', data: [], seq: 0 });
    expect(received).toEqual(['a:initial_notes', 'b:initial_notes', 'c:initial_notes']);

    unsubscribers[0]?.();
    unsubscribers[1]?.();
    expect(only.readyState).toBe(FakeSocket.OPEN);
    expect(socket.subscriberCount).toBe(1);

    unsubscribers[2]?.();
    expect(only.readyState).toBe(FakeSocket.CLOSED);
    expect(only.listenerCount).toBe(0);
    expect(socket.status.value).toBe('offline');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('unsubscribe twice is harmless', () => {
    const socket = makeSocket();
    const first = socket.subscribe({});
    socket.subscribe({});
    first();
    first();
    expect(socket.subscriberCount).toBe(1);
    expect(FakeSocket.latest().readyState).toBe(FakeSocket.CONNECTING);
    socket.close();
  });

  it('ignores events from a replaced socket', async () => {
    const socket = makeSocket();
    const onMessage = vi.fn();
    socket.subscribe({ onMessage });

    const old = FakeSocket.latest();
    old.open();
    old.drop(1006);
    await vi.advanceTimersByTimeAsync(retryDelay(socket));
    const current = FakeSocket.latest();
    expect(current).not.toBe(old);

    old.send({ type: 'note_created', data: makeNote('n1', 'Stale', 1), seq: 99 });
    old.open();
    old.drop(1011);
    expect(onMessage).not.toHaveBeenCalled();
    expect(socket.status.value).toBe('reconnecting');
    expect(socket.retryPending).toBe(false);
    expect(socket.currentSocket).toBe(current as unknown as WebSocket);

    current.open();
    current.send({ type: 'initial_notes', data: [], seq: 3 });
    expect(onMessage).toHaveBeenCalledTimes(1);
    expect(socket.status.value).toBe('connected');
    socket.close();
  });

  it('4001 ends the session without reconnecting', async () => {
    const socket = makeSocket();
    const onSessionEnded = vi.fn();
    socket.subscribe({ onSessionEnded });

    FakeSocket.latest().open();
    FakeSocket.latest().drop(4001);
    await vi.advanceTimersByTimeAsync(120_000);

    expect(onSessionEnded).toHaveBeenCalledTimes(1);
    expect(onSessionEnded).toHaveBeenCalledWith(SESSION_EXPIRED_MESSAGE);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(socket.status.value).toBe('offline');
    expect(socket.lastCloseCode.value).toBe(4001);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refused upgrade with expired cookie ends session', async () => {
    const socket = makeSocket({ checkSession: async () => 'expired' });
    const onSessionEnded = vi.fn();
    socket.subscribe({ onSessionEnded });

    FakeSocket.latest().refuse();
    await vi.advanceTimersByTimeAsync(0);

    expect(onSessionEnded).toHaveBeenCalledTimes(1);
    expect(socket.status.value).toBe('offline');
    expect(vi.getTimerCount()).toBe(0);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('1008 checks the session first', async () => {
    const checkSession = vi.fn(async (): Promise<SessionCheck> => 'valid');
    const socket = makeSocket({ checkSession });
    socket.subscribe({});
    FakeSocket.latest().open();
    FakeSocket.latest().drop(1008);
    await vi.advanceTimersByTimeAsync(0);

    expect(checkSession).toHaveBeenCalledTimes(1);
    expect(socket.retryPending).toBe(true);
    socket.close();
  });

  it.each([1001, 4008, 4009, 1006])('close code %i reconnects', async (code) => {
    const checkSession = vi.fn(async (): Promise<SessionCheck> => 'valid');
    const socket = makeSocket({ checkSession });
    socket.subscribe({});
    FakeSocket.latest().open();
    FakeSocket.latest().drop(code);

    expect(socket.status.value).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(retryDelay(socket));
    expect(FakeSocket.instances).toHaveLength(2);
    expect(checkSession).not.toHaveBeenCalled();
    socket.close();
  });

  it('retryNow skips the wait', () => {
    const socket = makeSocket();
    socket.subscribe({});
    FakeSocket.latest().open();
    FakeSocket.latest().drop(1006);
    socket.retryNow();
    expect(FakeSocket.instances).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
    socket.close();
  });

  it('skips unknown and malformed frames', () => {
    const socket = makeSocket();
    const onMessage = vi.fn();
    socket.subscribe({ onMessage });
    const fake = FakeSocket.latest();
    fake.open();
    fake.dispatchEvent(new MessageEvent('message', { data: 'not json' }));
    fake.send({ type: 'presence', data: {}, seq: 1 });
    fake.send({ type: 'note_deleted', seq: 2 });
    expect(onMessage).not.toHaveBeenCalled();
    socket.close();
  });
});

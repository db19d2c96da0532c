import { getCurrentScope, onScopeDispose, shallowRef, type ShallowRef } from 'vue';

interface Ticker {
  now: ShallowRef<number>;
  users: number;
  timer: ReturnType<typeof setInterval>;
}

// One timer per interval, shared by every caller, so a list of a hundred cards
// runs one timer and not a hundred.
const tickers = new Map<number, Ticker>();

function acquire(intervalMs: number): Ticker {
  let ticker = tickers.get(intervalMs);
  if (!ticker) {
    const now = shallowRef(Date.now());
    const timer = setInterval(() => {
      now.value = Date.now();
    }, intervalMs);
    ticker = { now, users: 0, timer };
    tickers.set(intervalMs, ticker);
  }
  ticker.users += 1;
  return ticker;
}

function release(intervalMs: number, ticker: Ticker): void {
  ticker.users -= 1;
  if (ticker.users > 0) return;
  clearInterval(ticker.timer);
  tickers.delete(intervalMs);
}

/**
 * Returns the current time in milliseconds as a ref that updates every
 * `intervalMs`. The timer stops when the last component using that interval
 * unmounts. Outside a component, call `stop` when done.
 */
export function useNow(intervalMs = 15_000) {
  const ticker = acquire(intervalMs);
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    release(intervalMs, ticker);
  };
  if (getCurrentScope()) onScopeDispose(stop);

  return { now: ticker.now, stop };
}

// A WebSocket stand-in for tests. It records every instance and counts the
// listeners attached to it, and the test drives open, message and close by hand.

export class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  static instances: FakeSocket[] = [];

  readonly url: string;
  readyState = FakeSocket.CONNECTING;
  listenerCount = 0;
  /** The code passed to `close()` by the client, or null. */
  clientCloseCode: number | null = null;

  constructor(url: string) {
    super();
    this.url = url;
    FakeSocket.instances.push(this);
  }

  static reset(): void {
    FakeSocket.instances = [];
  }

  static latest(): FakeSocket {
    const socket = FakeSocket.instances.at(-1);
    if (!socket) throw new Error('no FakeSocket was created');
    return socket;
  }

  /** Sockets the client has not closed and the server has not closed. */
  static live(): FakeSocket[] {
    return FakeSocket.instances.filter((socket) => socket.readyState < FakeSocket.CLOSING);
  }

  override addEventListener(...args: Parameters<EventTarget['addEventListener']>): void {
    this.listenerCount += 1;
    super.addEventListener(...args);
  }

  override removeEventListener(...args: Parameters<EventTarget['removeEventListener']>): void {
    this.listenerCount -= 1;
    super.removeEventListener(...args);
  }

  close(code = 1000): void {
    this.clientCloseCode = code;
    this.readyState = FakeSocket.CLOSED;
  }

  /** Server side: completes the handshake. */
  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.dispatchEvent(new Event('open'));
  }

  /** Server side: sends one JSON text frame. */
  send(message: unknown): void {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) }));
  }

  /** Server side or network: ends the connection with `code`. */
  drop(code = 1006): void {
    this.readyState = FakeSocket.CLOSED;
    this.dispatchEvent(new CloseEvent('close', { code, wasClean: code !== 1006 }));
  }

  /** Simulates a refused upgrade: error, then close with 1006, without ever opening. */
  refuse(): void {
    this.readyState = FakeSocket.CLOSED;
    this.dispatchEvent(new Event('error'));
    this.dispatchEvent(new CloseEvent('close', { code: 1006, wasClean: false }));
  }
}

export function createFakeSocket(url: string): WebSocket {
  return new FakeSocket(url) as unknown as WebSocket;
}

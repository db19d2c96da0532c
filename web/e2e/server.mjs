// Starts and stops the real notes-server binary for the end-to-end run.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A notes-server child process. The log of every start is appended to
 * `logFile`, so a failed run can be read afterwards.
 */
export class ServerProcess {
  constructor({ binary, port, dataDir, webDir, logFile }) {
    this.binary = binary;
    this.port = port;
    this.dataDir = dataDir;
    this.webDir = webDir;
    this.logFile = logFile;
    this.child = null;
    this.exit = null;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server and waits until GET /healthz returns 200, for at most `timeoutMs`. */
  async start(timeoutMs = 30_000) {
    if (!fs.existsSync(this.binary)) {
      throw new Error(`server binary not found at ${this.binary}: build it with "cargo build --release -p notes-server" or set NOTES_SERVER_BIN`);
    }

    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n--- start ${new Date().toISOString()} on port ${this.port}\n`);
    const child = spawn(this.binary, [], {
      env: {
        ...process.env,
        NOTES_ADDR: `127.0.0.1:${this.port}`,
        NOTES_DATA_DIR: this.dataDir,
        NOTES_WEB_DIR: this.webDir,
        NOTES_BCRYPT_COST: '4',
        // Both browsers sign up and in from 127.0.0.1 within a minute.
        NOTES_AUTH_RATE_PER_MINUTE: '0',
        NOTES_ALLOWED_ORIGINS: this.baseUrl,
      },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

    const deadline = Date.now() + timeoutMs;
    let exited = null;
    void this.exit.then((status) => {
      exited = status;
    });
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(`server exited during start-up (code ${exited.code}, signal ${exited.signal}); see ${this.logFile}`);
      }
      try {
        const response = await fetch(`${this.baseUrl}/healthz`);
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`GET /healthz did not return 200 within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** Sends SIGTERM to the server's PID and waits for it to exit, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000) {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;

    process.kill(child.pid, 'SIGTERM');
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), graceMs));
    if ((await Promise.race([this.exit, timeout])) === 'timeout') {
      process.kill(child.pid, 'SIGKILL');
      await this.exit;
    }
    this.child = null;
  }

  /** Kills the server without waiting, for use in an exit handler. */
  killNow() {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

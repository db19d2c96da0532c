// End-to-end test of the web app against the real notes-server release binary.
//
// Usage: npm run build && node e2e/run.mjs
// Environment: NOTES_SERVER_BIN (default ../target/release/notes-server from
// web/) and CHROMIUM_PATH (default /usr/bin/chromium). The server runs on a
// free port of 127.0.0.1 with a fresh data directory, and this script stops it
// by PID when done. Screenshots go to e2e/artifacts/, and the notes screen is
// also copied to docs/screenshot.png.
//
// The steps build on each other, so after the first failure the rest are
// reported as skipped. The last line reads "N passed, N failed, N skipped".

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { ServerProcess, freePort } from './server.mjs';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = path.resolve(webDir, '..');
const serverBinary = path.resolve(webDir, process.env.NOTES_SERVER_BIN || '../target/release/notes-server');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const distDir = path.join(webDir, 'dist');
const artifactsDir = path.join(webDir, 'e2e', 'artifacts');

const STEP_TIMEOUT_MS = 60_000;
const UI_TIMEOUT_MS = 15_000;
// Long enough for a backoff of a few attempts while the server restarts.
const RECONNECT_TIMEOUT_MS = 45_000;

const steps = [];
function step(name, run) {
  steps.push({ name, run });
}

async function runSteps() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const { name, run } of steps) {
    if (failed > 0) {
      skipped += 1;
      console.log(`skip - ${name}`);
      continue;
    }
    const started = Date.now();
    try {
      await withTimeout(run(), STEP_TIMEOUT_MS, name);
      passed += 1;
      console.log(`ok - ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed += 1;
      console.log(`not ok - ${name}`);
      console.log(indent(error instanceof Error ? (error.stack ?? error.message) : String(error)));
    }
  }
  return { passed, failed, skipped };
}

function withTimeout(promise, ms, name) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`step "${name}" timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function indent(text) {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

// ---- page helpers ----

const byTestId = (id) => `[data-testid="${id}"]`;

function noteCards(page) {
  return page.locator(byTestId('note-card'));
}

/** Finds a card by its title, which is only shown while the card is not in edit mode. */
function noteCard(page, title) {
  return noteCards(page).filter({ has: page.getByTestId('note-title').getByText(title, { exact: true }) });
}

function noteCardById(page, id) {
  return page.locator(`[data-testid="note-card"][data-note-id="${id}"]`);
}


async function waitForStatus(page, status, timeout = UI_TIMEOUT_MS) {
  await page.waitForFunction(
    (expected) => document.querySelector('[data-testid="connection-status"]')?.getAttribute('data-status') === expected,
    status,
    { timeout },
  );
}

/** Waits until the page is connected again or back at the sign-in form, and returns which. */
async function waitForReconnectOutcome(page) {
  const handle = await page.waitForFunction(
    () => {
      if (document.querySelector('[data-testid="auth-form"]')) return 'signed-out';
      const status = document.querySelector('[data-testid="connection-status"]')?.getAttribute('data-status');
      return status === 'connected' ? 'connected' : null;
    },
    null,
    { timeout: RECONNECT_TIMEOUT_MS },
  );
  return handle.jsonValue();
}

async function register(page, { username, email, password }) {
  await page.locator(byTestId('show-register')).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.locator(byTestId('auth-submit')).click();
  await page.locator(byTestId('current-user')).getByText(username, { exact: true }).waitFor();
}

async function createNote(page, title, content) {
  await page.locator(byTestId('new-note-title')).fill(title);
  await page.locator(byTestId('new-note-content')).fill(content);
  await page.locator(byTestId('create-note')).click();
  await noteCard(page, title).waitFor();
}

/** Calls the API from inside the page, so the request carries that page's session cookie. */
function apiFromPage(page, method, urlPath, body) {
  return page.evaluate(
    async ({ method, urlPath, body }) => {
      const response = await fetch(urlPath, {
        method,
        credentials: 'same-origin',
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    { method, urlPath, body },
  );
}

async function cardIds(page) {
  return noteCards(page).evaluateAll((cards) => cards.map((card) => card.getAttribute('data-note-id')));
}

async function screenshot(page, name) {
  const file = path.join(artifactsDir, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ---- the scenario ----

async function main() {
  fs.mkdirSync(artifactsDir, { recursive: true });
  assert.ok(fs.existsSync(path.join(distDir, 'index.html')), `no build at ${distDir}: run "npm run build" first`);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-e2e-'));
  const port = await freePort();
  const server = new ServerProcess({
    binary: serverBinary,
    port,
    dataDir,
    webDir: distDir,
    logFile: path.join(artifactsDir, 'server.log'),
  });
  fs.writeFileSync(server.logFile, '');
  process.once('exit', () => server.killNow());

  let browser = null;
  const pageErrors = [];
  const state = {};

  const alice = { username: 'alice', email: 'alice@example.com', password: 'alice-password-1' };
  const bob = { username: 'bob', email: 'Bob@Example.com', password: 'bob-password-12' };

  async function newPage(context, label) {
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('pageerror', (error) => pageErrors.push(`${label}: ${error.message}`));
    return page;
  }

  step('server starts and serves the app', async () => {
    await server.start();
    const response = await fetch(`${server.baseUrl}/`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /<div id="app">/);
  });

  step('login screen renders', async () => {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    state.contextA = await browser.newContext({ viewport: { width: 1200, height: 860 } });
    state.contextB = await browser.newContext({ viewport: { width: 1200, height: 860 } });
    state.pageA = await newPage(state.contextA, 'A');
    state.pageB = await newPage(state.contextB, 'B');

    await state.pageA.goto(server.baseUrl);
    await state.pageA.locator(byTestId('auth-form')).waitFor();
    assert.equal(await state.pageA.locator(byTestId('note-list')).count(), 0);
    await screenshot(state.pageA, 'login.png');
  });

  step('register two users through the UI', async () => {
    await state.pageB.goto(server.baseUrl);
    await register(state.pageA, alice);
    await register(state.pageB, bob);
    await waitForStatus(state.pageA, 'connected');
    await waitForStatus(state.pageB, 'connected');

    const cookies = await state.contextA.cookies();
    const session = cookies.find((cookie) => cookie.name === 'notes_session');
    assert.ok(session, 'the notes_session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    const stored = await state.pageA.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length }));
    assert.deepEqual(stored, { local: 0, session: 0 });
  });

  step('server field errors show on the form', async () => {
    const context = await browser.newContext();
    const page = await newPage(context, 'C');
    await page.goto(server.baseUrl);
    await page.locator(byTestId('show-register')).click();
    await page.getByLabel('Username').fill('alice again');
    await page.getByLabel('Email').fill('ALICE@example.com');
    await page.getByLabel('Password').fill('another-password');
    await page.locator(byTestId('auth-submit')).click();
    await page.locator(byTestId('auth-email-error')).waitFor();
    assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');

    await page.locator(byTestId('show-login')).click();
    await page.getByLabel('Email').fill(alice.email);
    await page.getByLabel('Password').fill('wrong-password');
    await page.locator(byTestId('auth-submit')).click();
    await page.locator(byTestId('auth-error')).waitFor();
    await context.close();
  });

  step('a note from A appears live for B', async () => {
    await createNote(state.pageA, 'Groceries', 'milk\neggs\nbread');
    await createNote(state.pageA, 'Old plan', 'to be deleted');

    const card = noteCard(state.pageB, 'Groceries');
    await card.waitFor();
    state.noteId = await card.getAttribute('data-note-id');
    assert.ok(state.noteId);
    assert.equal(await card.getByTestId('note-author').textContent(), 'alice');
    assert.equal(await card.getByTestId('note-content').evaluate((node) => node.textContent), 'milk\neggs\nbread');
    assert.equal(await card.getByTestId('edit-note').count(), 0, 'B sees no edit control on A note');
    assert.equal(await card.getByTestId('delete-note').count(), 0, 'B sees no delete control on A note');
    assert.equal(await noteCard(state.pageA, 'Groceries').getByTestId('edit-note').count(), 1);
    await state.pageB.locator(byTestId('activity-feed')).getByText("alice created 'Groceries'").waitFor();
  });

  step('B cannot change A note through the API', async () => {
    const update = await apiFromPage(state.pageB, 'PUT', `/api/notes/${state.noteId}`, {
      title: 'Taken over',
      content: '',
      version: 1,
    });
    assert.equal(update.status, 403);
    assert.equal(update.body?.error?.code, 'forbidden');

    const removal = await apiFromPage(state.pageB, 'DELETE', `/api/notes/${state.noteId}`);
    assert.equal(removal.status, 403);
  });

  step('A edits and B sees the change', async () => {
    const card = noteCardById(state.pageA, state.noteId);
    await card.getByTestId('edit-note').click();
    await card.getByTestId('edit-content').fill('milk\neggs\nbread\ncoffee');
    await card.getByTestId('save-note').click();
    await card.getByTestId('edit-note').waitFor();

    const seen = noteCardById(state.pageB, state.noteId).getByTestId('note-content');
    await state.pageB.waitForFunction(
      (id) => document.querySelector(`[data-note-id="${id}"] [data-testid="note-content"]`)?.textContent?.includes('coffee'),
      state.noteId,
    );
    assert.equal(await seen.evaluate((node) => node.textContent), 'milk\neggs\nbread\ncoffee');
    assert.deepEqual(await cardIds(state.pageB), await cardIds(state.pageA));
    assert.equal((await cardIds(state.pageB))[0], state.noteId, 'the edited note moves to the top');
  });

  step('A deletes with confirmation and B sees it', async () => {
    const card = noteCard(state.pageA, 'Old plan');
    await card.getByTestId('delete-note').click();
    await card.getByTestId('cancel-delete').click();
    assert.equal(await noteCard(state.pageA, 'Old plan').count(), 1);

    await card.getByTestId('delete-note').click();
    await card.getByTestId('confirm-delete').click();
    await noteCard(state.pageA, 'Old plan').waitFor({ state: 'detached' });
    await noteCard(state.pageB, 'Old plan').waitFor({ state: 'detached' });
    await state.pageB.locator(byTestId('activity-feed')).getByText("alice deleted 'Old plan'").waitFor();
  });

  step('notes screen screenshot', async () => {
    await createNote(state.pageB, 'Team lunch', 'Friday 12:30\nThe place on the corner, table for six.');
    await noteCard(state.pageA, 'Team lunch').waitFor();
    await createNote(state.pageA, 'Release checklist', '1. Tag the version\n2. Build the image\n3. Tell everyone');
    await noteCard(state.pageB, 'Release checklist').waitFor();
    await state.pageA.locator(byTestId('new-note-title')).blur();

    const file = await screenshot(state.pageA, 'notes.png');
    fs.mkdirSync(path.join(repoDir, 'docs'), { recursive: true });
    fs.copyFileSync(file, path.join(repoDir, 'docs', 'screenshot.png'));

    await state.pageB.setViewportSize({ width: 360, height: 780 });
    await screenshot(state.pageB, 'notes-phone.png');
    const overflow = await state.pageB.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px at 360 px width`);
    await state.pageB.setViewportSize({ width: 1200, height: 860 });
  });

  step('B stays signed in across a reload', async () => {
    await state.pageB.reload();
    await state.pageB.locator(byTestId('current-user')).getByText(bob.username, { exact: true }).waitFor();
    await waitForStatus(state.pageB, 'connected');
    await noteCard(state.pageB, 'Groceries').waitFor();
  });

  step('pages reconnect after a server restart', async () => {
    await server.stop();

    await waitForStatus(state.pageA, 'reconnecting');
    await waitForStatus(state.pageB, 'reconnecting');
    await state.pageA.locator(byTestId('reconnect-countdown')).waitFor();
    assert.equal(await state.pageA.locator(byTestId('create-note')).isDisabled(), true, 'writes are disabled');
    assert.equal(await noteCard(state.pageA, 'Groceries').getByTestId('edit-note').isDisabled(), true);
    await state.pageA.locator(byTestId('read-only-reason')).waitFor();
    await screenshot(state.pageA, 'reconnecting.png');

    await server.start();
    for (const [label, page] of [['A', state.pageA], ['B', state.pageB]]) {
      const outcome = await waitForReconnectOutcome(page);
      assert.equal(
        outcome,
        'connected',
        `page ${label} returned to the sign-in form after the restart, so the server lost the user or the session; the restart needs a durable store`,
      );
    }

    for (const page of [state.pageA, state.pageB]) {
      const listed = await apiFromPage(page, 'GET', '/api/notes');
      assert.equal(listed.status, 200);
      const expected = listed.body.map((note) => note.id);
      assert.equal(expected.length, 3);
      await page.waitForFunction(
        (ids) =>
          JSON.stringify([...document.querySelectorAll('[data-testid="note-card"]')].map((card) => card.dataset.noteId)) ===
          JSON.stringify(ids),
        expected,
      );
    }
  });

  step('two tabs of A produce a conflict', async () => {
    const tab1 = state.pageA;
    const tab2 = await newPage(state.contextA, 'A2');
    await tab2.goto(server.baseUrl);
    await waitForStatus(tab2, 'connected');

    const card1 = noteCardById(tab1, state.noteId);
    const card2 = noteCardById(tab2, state.noteId);
    await card1.getByTestId('edit-note').click();
    await card2.getByTestId('edit-note').click();

    await card1.getByTestId('edit-content').fill('tab one wants oat milk');
    await card1.getByTestId('save-note').click();
    await card1.getByTestId('edit-note').waitFor();

    await card2.getByTestId('edit-notice').waitFor();
    await card2.getByTestId('edit-content').fill('tab two wants soy milk');
    await card2.getByTestId('save-note').click();
    const conflict = card2.getByTestId('conflict-view');
    await conflict.waitFor();
    assert.match(await conflict.getByTestId('conflict-theirs').textContent(), /tab one wants oat milk/);
    assert.match(await conflict.getByTestId('conflict-mine').textContent(), /tab two wants soy milk/);
    await screenshot(tab2, 'conflict.png');

    await conflict.getByTestId('conflict-overwrite').click();
    await conflict.waitFor({ state: 'detached' });
    await state.pageB.waitForFunction(
      (id) => document.querySelector(`[data-note-id="${id}"] [data-testid="note-content"]`)?.textContent === 'tab two wants soy milk',
      state.noteId,
    );
    await tab1.waitForFunction(
      (id) => document.querySelector(`[data-note-id="${id}"] [data-testid="note-content"]`)?.textContent === 'tab two wants soy milk',
      state.noteId,
    );
    await tab2.close();
  });

  step('expired session returns to the login form', async () => {
    await state.contextB.clearCookies();
    await createNoteExpectingLogin(state.pageB);
  });

  step('sign out returns to the login form', async () => {
    await state.pageA.locator(byTestId('logout-button')).click();
    await state.pageA.locator(byTestId('auth-form')).waitFor();
    await state.pageA.reload();
    await state.pageA.locator(byTestId('auth-form')).waitFor();
    assert.equal(await state.pageA.locator(byTestId('current-user')).count(), 0);
  });

  step('no uncaught page errors', async () => {
    assert.deepEqual(pageErrors, []);
  });

  async function createNoteExpectingLogin(page) {
    await page.locator(byTestId('new-note-title')).fill('Written after expiry');
    await page.locator(byTestId('create-note')).click();
    await page.locator(byTestId('auth-form')).waitFor();
    const notice = await page.locator(byTestId('auth-notice')).textContent();
    assert.match(notice ?? '', /expired/i);
  }

  let result;
  try {
    result = await runSteps();
  } finally {
    if (browser) await browser.close().catch(() => undefined);
    await server.stop().catch(() => server.killNow());
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  console.log(`${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`);
  process.exitCode = result.failed > 0 ? 1 : 0;
}

await main();

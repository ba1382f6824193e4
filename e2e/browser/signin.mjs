// Browser end-to-end test of auth-go: a real Chromium signs in to the
// quickstart app (examples/quickstart/app) at a real OpenID provider
// (e2e/op), looks at its pages and cookies, and signs out.
//
// e2e/browser_test.go (TestBrowserSignIn) starts the provider and the apps and
// runs this script; it can also be pointed at ./scripts/demo.sh:
//
//   APP_URL=http://127.0.0.1:8080 \
//   RESOURCES="https://orders.example.test=orders:read" node signin.mjs
//
// Environment:
//   APP_URL      the quickstart app (required)
//   BIG_APP_URL  the same app whose sessions carry ~6 KB of extra data, so
//                that the session cookie is split into session.0..n (optional)
//   RESOURCES    the app's EXAMPLE_RESOURCES, "url=scope,url=scope": the
//                tokens page's per-API links are checked for each (optional)
//   LOGIN        the login to sign in with (default alice; any password works);
//                it must not be in the admin group
//   ADMIN_LOGIN  a login in the admin group (default admin), for /admin
//   CHROMIUM     the browser binary (default /usr/bin/chromium). No browser is
//                ever downloaded: playwright-core only drives this one.
//
// One line per check; the last line is "N passed, M failed"; the exit code is
// non-zero when a check failed.

import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const APP_URL = trimSlash(process.env.APP_URL || '');
const BIG_APP_URL = trimSlash(process.env.BIG_APP_URL || '');
const LOGIN = process.env.LOGIN || 'alice';
const ADMIN_LOGIN = process.env.ADMIN_LOGIN || 'admin';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const RESOURCES = (process.env.RESOURCES || '')
  .split(',')
  .filter((e) => e.trim() !== '')
  .map((e) => {
    const [url, scope = ''] = e.split('=');
    return { url: url.trim(), scope: scope.trim() };
  });
const STEP_TIMEOUT = 30_000;

if (!APP_URL) {
  console.error('signin.mjs: APP_URL is required');
  process.exit(2);
}

let passed = 0;
let failed = 0;

// check runs one check and prints one line for it, with the string fn
// returns, if any. A failed check throws, so the rest of its flow (which
// depends on it) is skipped.
async function check(name, page, fn) {
  const start = Date.now();
  try {
    const detail = await fn();
    passed++;
    console.log(`ok   ${name}${detail ? `: ${detail}` : ''} (${Date.now() - start} ms)`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name} (${Date.now() - start} ms): ${err.message.split('\n').slice(0, 8).join('\n     ')}`);
    if (page && !page.isClosed()) {
      const text = await page.locator('body').innerText({ timeout: 2000 }).catch(() => '');
      console.log(`     at ${page.url()}: ${text.replace(/\s+/g, ' ').slice(0, 400)}`);
    }
    throw new FlowAborted();
  }
}

class FlowAborted extends Error {}

// flow runs a group of checks in a fresh browser context (its own cookies),
// stopping at the first failed check.
async function flow(browser, name, fn) {
  console.log(`# ${name}`);
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT);
  try {
    await fn(context);
  } catch (err) {
    if (!(err instanceof FlowAborted)) {
      failed++;
      console.log(`FAIL ${name}: ${err.stack}`);
    }
  } finally {
    await context.close();
  }
}

function trimSlash(s) {
  return s.replace(/\/+$/, '');
}

function at(base, path) {
  return (url) => url.origin === new URL(base).origin && url.pathname === path;
}

// signIn completes the provider's login form (devInteractions: any login and
// password) as login (default LOGIN) on page, which must be on its way to
// it, and waits until the browser is back on base + path.
async function signIn(page, base, path, login = LOGIN) {
  const form = page.locator('form:has(input[name="login"])');
  await form.locator('input[name="login"]').fill(login);
  await form.locator('input[name="password"]').fill('any password');
  await Promise.all([page.waitForURL(at(base, path)), form.locator('button[type="submit"]').click()]);
}

// signOut follows the app's sign-out link, confirms at the provider and
// waits for the app's home page.
async function signOut(page, base) {
  await page.goto(`${base}/`);
  await page.locator('#signout').click();
  const yes = page.locator('button[name="logout"][value="yes"]');
  await Promise.all([page.waitForURL(at(base, '/')), yes.click()]);
}

async function sessionCookies(context, base) {
  return (await context.cookies(base)).filter((c) => c.name === 'session' || c.name.startsWith('session.'));
}

async function stateCookies(context, base) {
  return (await context.cookies(base)).filter((c) => c.name.startsWith('state.'));
}

function assertCookieAttributes(cookies) {
  assert.ok(cookies.length > 0, 'no session cookie');
  for (const c of cookies) {
    assert.equal(c.httpOnly, true, `${c.name} is not HttpOnly`);
    assert.equal(c.sameSite, 'Lax', `${c.name} has SameSite=${c.sameSite}`);
    assert.equal(c.path, '/', `${c.name} has path ${c.path}`);
    assert.ok(c.expires > Date.now() / 1000, `${c.name} is not persistent (expires ${c.expires})`);
  }
}

async function text(page, selector) {
  return (await page.locator(selector).innerText()).trim();
}

// --- flows ---------------------------------------------------------------------

async function signInAndOut(context) {
  const page = await context.newPage();
  let fingerprint;
  let sessionValue;

  await check('home page says signed out', page, async () => {
    await page.goto(`${APP_URL}/`);
    assert.match(await text(page, '#status'), /signed out/);
  });

  await check('protected page sends the browser to the provider login', page, async () => {
    await page.goto(`${APP_URL}/protected`);
    await page.locator('input[name="login"]').waitFor();
    assert.notEqual(new URL(page.url()).origin, new URL(APP_URL).origin, 'login page is on the app');
  });

  await check('sign-in returns to /protected, which shows the user', page, async () => {
    await signIn(page, APP_URL, '/protected');
    assert.equal((await text(page, '#user')).toLowerCase(), LOGIN.toLowerCase());
    assert.match(await text(page, '#claims'), new RegExp(`${LOGIN}@example\\.test`));
  });

  await check('session cookie is HttpOnly, SameSite=Lax, persistent; no state cookie left', page, async () => {
    const cookies = await sessionCookies(context, APP_URL);
    assert.deepEqual(cookies.map((c) => c.name), ['session']);
    assertCookieAttributes(cookies);
    assert.equal(cookies[0].secure, false); // http:// app URL
    sessionValue = cookies[0].value;
    assert.deepEqual((await stateCookies(context, APP_URL)).map((c) => c.name), []);
  });

  await check('home page says signed in', page, async () => {
    await page.goto(`${APP_URL}/`);
    assert.match(await text(page, '#status'), /Signed in as/);
  });

  await check('protected page lists the groups and links to sign-out', page, async () => {
    await page.goto(`${APP_URL}/protected`);
    assert.deepEqual(await page.locator('#groups li').allInnerTexts(), ['staff']);
    assert.equal(await page.locator('#signout').getAttribute('href'), '/api/auth/signout');
  });

  await check('the admin page answers 403 to a user outside the admin group', page, async () => {
    const resp = await page.goto(`${APP_URL}/admin`);
    assert.equal(resp.status(), 403);
    assert.match(await text(page, '#forbidden'), /only for members of the admin group/);
    assert.equal(await page.locator('#admin').count(), 0);
    assert.equal(await page.locator('#signout').count(), 1);
  });

  await check('tokens page shows an unexpired default token', page, async () => {
    await page.goto(`${APP_URL}/tokens`);
    assert.equal(await text(page, '#expired'), 'false');
    assert.match(await text(page, '#scopes'), /\bopenid\b/);
    assert.equal(await text(page, '#resource'), '(default)');
    assert.equal(await text(page, '#has-refresh-token'), 'present');
    assert.equal(await page.locator('#signout').count(), 1);
    assert.match(await text(page, '#expires'), /^\d\d:\d\d:\d\d \S+ \(in \dm\d+s\)$/);
    const iso = await page.locator('#expires time').getAttribute('datetime');
    assert.ok(Date.parse(iso) > Date.now(), `expiry ${iso} is not in the future`);
    assert.equal(await page.locator('#refreshed').count(), 0, 'refresh confirmation without a refresh');
    fingerprint = await text(page, '#fingerprint');
  });

  await check('force refresh gets a new access token and a new session cookie', page, async () => {
    await Promise.all([page.waitForURL(/refresh=1/), page.locator('#refresh').click()]);
    assert.equal(await text(page, '#expired'), 'false');
    assert.match(await text(page, '#refreshed'), /^Refreshed at \d\d:\d\d:\d\d \S+ — the new token expires at \d\d:\d\d:\d\d/);
    assert.notEqual(await text(page, '#fingerprint'), fingerprint, 'same access token after a forced refresh');
    const [cookie] = await sessionCookies(context, APP_URL);
    assert.notEqual(cookie?.value, sessionValue, 'session cookie not rewritten after the refresh');
  });

  for (const { url, scope } of RESOURCES) {
    await check(`per-API link gets a token for ${url}`, page, async () => {
      await page.goto(`${APP_URL}/tokens`);
      await Promise.all([page.waitForURL(/resource=/), page.locator('#apis a', { hasText: url }).click()]);
      assert.equal(await text(page, '#resource'), url);
      if (scope) assert.match(await text(page, '#scopes'), new RegExp(`(^|\\s)${scope}(\\s|$)`));
      assert.equal(await text(page, '#expired'), 'false');
    });
  }

  await check('the orders page shows the answer of the app\'s API to the user\'s token', page, async () => {
    const resp = await page.goto(`${APP_URL}/orders`);
    assert.equal(resp.status(), 200);
    assert.equal(await text(page, '#api-status'), '200 OK');
    assert.equal(await text(page, '#api-user'), LOGIN);
    assert.ok((await page.locator('#orders tr').count()) > 1, 'no orders listed');
    const api = await context.request.get(`${APP_URL}/api/orders`); // the session cookie, no token
    assert.equal(api.status(), 401);
  });

  await check('an API the app does not know gets an error page; the session still refreshes', page, async () => {
    const resp = await page.goto(`${APP_URL}/tokens?resource=${encodeURIComponent('https://unknown.example.test')}`);
    assert.equal(resp.status(), 400);
    assert.match(await text(page, '#error'), /Unknown API/);
    await page.goto(`${APP_URL}/tokens?refresh=1`); // the refresh token still works
    assert.equal(await text(page, '#expired'), 'false');
  });

  await check('/api/tokens answers the access token as JSON (no refresh or ID token)', page, async () => {
    const resp = await page.goto(`${APP_URL}/api/tokens`);
    assert.equal(resp.status(), 200);
    const body = await resp.json();
    assert.ok(body.accessToken, 'no accessToken');
    assert.equal(body.isExpired, false);
    assert.ok(!('resource' in body), `resource ${body.resource} in the default token's JSON`);
    assert.equal(body.refreshToken, undefined);
    assert.equal(body.idToken, undefined);
  });

  await check('sign-out (confirmed at the provider) lands on the home page signed out', page, async () => {
    await signOut(page, APP_URL);
    assert.match(await text(page, '#status'), /signed out/);
    assert.equal(await page.locator('#signout').count(), 0);
    assert.deepEqual((await sessionCookies(context, APP_URL)).map((c) => c.name), []);
  });

  await check('/api/tokens answers 401 JSON after sign-out', page, async () => {
    const resp = await context.request.get(`${APP_URL}/api/tokens`);
    assert.equal(resp.status(), 401);
    assert.deepEqual(await resp.json(), { message: 'unauthorized' });
  });

  await check('the provider session ended too: /protected asks to log in again', page, async () => {
    await page.goto(`${APP_URL}/protected`);
    await page.locator('input[name="login"]').waitFor();
  });
}

async function signOutOfAppOnly(context) {
  const page = await context.newPage();

  await check('signed-in pages explain sign-out and offer the app-only one', page, async () => {
    await page.goto(`${APP_URL}/protected`);
    await signIn(page, APP_URL, '/protected');
    assert.match(await text(page, '#signout-help'), /signs you back in silently/);
  });

  await check('sign-out of this app only lands on the home page signed out', page, async () => {
    await Promise.all([page.waitForURL(at(APP_URL, '/')), page.locator('#signout-app-only').click()]);
    assert.match(await text(page, '#status'), /signed out/);
    assert.deepEqual((await sessionCookies(context, APP_URL)).map((c) => c.name), []);
  });

  await check('after it, a protected page signs the user back in silently, as the page said', page, async () => {
    await page.goto(`${APP_URL}/protected`);
    assert.equal(new URL(page.url()).pathname, '/protected', `ended at ${page.url()}`);
    assert.equal((await text(page, '#user')).toLowerCase(), LOGIN.toLowerCase());
  });

  await check('sign-out everywhere then asks for the login again', page, async () => {
    await signOut(page, APP_URL);
    await page.goto(`${APP_URL}/protected`);
    await page.locator('input[name="login"]').waitFor();
  });
}

async function adminPage(context) {
  const page = await context.newPage();

  await check(`admin page: sign-in as ${ADMIN_LOGIN} returns to /admin, which lists the groups`, page, async () => {
    await page.goto(`${APP_URL}/admin`);
    await signIn(page, APP_URL, '/admin', ADMIN_LOGIN);
    assert.equal((await text(page, '#user')).toLowerCase(), ADMIN_LOGIN.toLowerCase());
    assert.match(await text(page, '#admin'), /Only members of the admin group/);
    assert.ok((await page.locator('#groups li').allInnerTexts()).includes('admin'), 'admin not in the groups list');
    assert.equal(await page.locator('#signout').getAttribute('href'), '/api/auth/signout');
  });

  await check('admin page: sign-out from it lands on the home page signed out', page, async () => {
    await signOut(page, APP_URL);
    assert.match(await text(page, '#status'), /signed out/);
  });
}

async function chunkedSession(context) {
  const page = await context.newPage();
  let names;

  await check('large session: sign-in returns to /protected, which shows the user', page, async () => {
    await page.goto(`${BIG_APP_URL}/protected`);
    await signIn(page, BIG_APP_URL, '/protected');
    assert.equal((await text(page, '#user')).toLowerCase(), LOGIN.toLowerCase());
  });

  await check('large session: the cookie is split into session.0..n, all HttpOnly and Lax', page, async () => {
    const cookies = await sessionCookies(context, BIG_APP_URL);
    names = cookies.map((c) => c.name).sort();
    assert.ok(names.length >= 2, `want at least 2 chunks, got ${names.join(', ')}`);
    assert.deepEqual(names, names.map((_, i) => `session.${i}`));
    assertCookieAttributes(cookies);
    for (const c of cookies) assert.ok(c.name.length + c.value.length <= 4096, `${c.name} is ${c.value.length} bytes`);
    return cookies.map((c) => `${c.name} ${c.value.length} B`).join(', ');
  });

  await check('large session: force refresh rewrites the chunks and the page still works', page, async () => {
    const before = (await sessionCookies(context, BIG_APP_URL)).map((c) => c.value).join('');
    await page.goto(`${BIG_APP_URL}/tokens?refresh=1`);
    assert.equal(await text(page, '#expired'), 'false');
    const after = await sessionCookies(context, BIG_APP_URL);
    assert.notEqual(after.map((c) => c.value).join(''), before, 'chunks not rewritten');
    assert.ok(after.length >= 2);
    await page.goto(`${BIG_APP_URL}/protected`);
    assert.equal((await text(page, '#user')).toLowerCase(), LOGIN.toLowerCase());
  });

  await check('large session: sign-out removes every chunk', page, async () => {
    await signOut(page, BIG_APP_URL);
    assert.match(await text(page, '#status'), /signed out/);
    assert.deepEqual((await sessionCookies(context, BIG_APP_URL)).map((c) => c.name), []);
  });
}

async function twoTabs(context) {
  const [tab1, tab2] = [await context.newPage(), await context.newPage()];

  await check('two tabs start sign-in at once: two state cookies', tab1, async () => {
    await Promise.all([tab1.goto(`${APP_URL}/protected`), tab2.goto(`${APP_URL}/tokens`)]);
    await Promise.all([tab1.locator('input[name="login"]').waitFor(), tab2.locator('input[name="login"]').waitFor()]);
    assert.equal((await stateCookies(context, APP_URL)).length, 2);
  });

  // Completing one sign-in ends the others under way, as in the SDK since
  // 0.2.4: the second tab's callback is refused, and the tab is signed in.
  await check('the first tab to finish is signed in, the other one\'s callback is refused', tab1, async () => {
    await signIn(tab1, APP_URL, '/protected');
    assert.equal((await text(tab1, '#user')).toLowerCase(), LOGIN.toLowerCase());
    const form = tab2.locator('form:has(input[name="login"])');
    await form.locator('input[name="login"]').fill(LOGIN);
    await form.locator('input[name="password"]').fill('any password');
    const [callback] = await Promise.all([
      tab2.waitForResponse((r) => r.url().startsWith(`${APP_URL}/api/auth/callback`)),
      form.locator('button[type="submit"]').click(),
    ]);
    assert.equal(callback.status(), 400);
    await tab2.goto(`${APP_URL}/tokens`);
    assert.equal(await text(tab2, '#expired'), 'false');
  });

  await check('two tabs: no state cookie left, one session', tab1, async () => {
    assert.deepEqual((await stateCookies(context, APP_URL)).map((c) => c.name), []);
    assert.deepEqual((await sessionCookies(context, APP_URL)).map((c) => c.name), ['session']);
  });
}

// --- main ------------------------------------------------------------------------

const started = Date.now();
// launch() gives the browser a fresh temporary profile (--user-data-dir) and
// deletes it on close; each flow gets its own context (cookie jar).
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ],
});
console.log(`# chromium ${browser.version()} started in ${Date.now() - started} ms`);
try {
  await flow(browser, `sign-in, pages, tokens, sign-out (${APP_URL})`, signInAndOut);
  await flow(browser, `admin page for the admin group (${APP_URL})`, adminPage);
  await flow(browser, `sign-out of the app only, then everywhere (${APP_URL})`, signOutOfAppOnly);
  if (BIG_APP_URL) await flow(browser, `chunked session cookie (${BIG_APP_URL})`, chunkedSession);
  await flow(browser, `two tabs signing in at the same time (${APP_URL})`, twoTabs);
} finally {
  await browser.close();
}
console.log(`# done in ${Date.now() - started} ms`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

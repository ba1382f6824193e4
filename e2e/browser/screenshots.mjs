// Screenshots of the quickstart's pages for docs/screenshots, taken with
// Debian's Chromium through playwright-core while the demo runs:
//
//   ./scripts/demo.sh &            # prints the app's URL
//   cd e2e/browser && APP_URL=http://127.0.0.1:8080 OUT=../../docs/screenshots node screenshots.mjs
//
// Environment: APP_URL (required), OUT (default .), CHROMIUM (default
// /usr/bin/chromium). It signs in at the demo's provider as "alice" (not
// in the admin group) and then as "admin".

import * as path from 'node:path';
import { chromium } from 'playwright-core';

const APP_URL = (process.env.APP_URL || '').replace(/\/+$/, '');
const OUT = process.env.OUT || '.';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!APP_URL) {
  console.error('screenshots.mjs: APP_URL is required');
  process.exit(2);
}

async function shoot(page, name) {
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`wrote ${file}`);
}

// signIn completes the provider's login form as login and waits until the
// browser is back on the app at pathname.
async function signIn(page, login, pathname) {
  const form = page.locator('form:has(input[name="login"])');
  await form.locator('input[name="login"]').fill(login);
  await form.locator('input[name="password"]').fill('any password');
  await Promise.all([
    page.waitForURL((u) => u.origin === new URL(APP_URL).origin && u.pathname === pathname),
    form.locator('button[type="submit"]').click(),
  ]);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const alice = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await alice.newPage();
  await page.goto(`${APP_URL}/`);
  await shoot(page, 'home-signed-out');
  await page.goto(`${APP_URL}/protected`);
  await signIn(page, 'alice', '/protected');
  await shoot(page, 'protected');
  await page.goto(`${APP_URL}/`);
  await shoot(page, 'home-signed-in');
  await page.goto(`${APP_URL}/tokens`);
  await page.locator('#refresh').click();
  await page.locator('#refreshed').waitFor();
  await shoot(page, 'tokens-refreshed');
  await page.goto(`${APP_URL}/orders`);
  await shoot(page, 'orders-api');
  await page.goto(`${APP_URL}/admin`);
  await shoot(page, 'admin-forbidden');
  await alice.close();

  const admin = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const adminPage = await admin.newPage();
  await adminPage.goto(`${APP_URL}/admin`);
  await signIn(adminPage, 'admin', '/admin');
  await shoot(adminPage, 'admin');
  await admin.close();
} finally {
  await browser.close();
}

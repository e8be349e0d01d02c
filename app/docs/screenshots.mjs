// The screenshots in app/README.md, taken in Debian's Chromium through playwright-core against a
// server with the demo data (started by screenshots.py, which says how to run this).
// Usage: node screenshots.mjs BASE_URL OUTPUT_DIR; logins come from the environment as
// BANK_SHOTS_TELLER=name:password and BANK_SHOTS_EXECUTIVE=name:password.
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, output] = process.argv.slice(2);
if (!base || !output) {
  console.error('usage: node screenshots.mjs BASE_URL OUTPUT_DIR');
  process.exit(2);
}

// Small files: one CSS pixel per pixel, and a window no bigger than the pages need.
const viewport = { width: 980, height: 560 };

async function logIn(page, login) {
  const [username, password] = login.split(/:(.*)/s);
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${base}/`);
}

async function shoot(page, name) {
  await page.screenshot({ path: join(output, `${name}.png`), animations: 'disabled', caret: 'hide' });
  console.log(`${name}.png`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars'],
});
try {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);

  // A teller: a deposit typed as the pages show money, then a transfer reviewed and receipted.
  await logIn(page, process.env.BANK_SHOTS_TELLER);
  await page.goto(`${base}/accounts/360110000`);
  const deposit = page.locator('form#deposit');
  await deposit.getByLabel('Amount').fill('1,250.00');
  await deposit.getByRole('button', { name: 'Deposit' }).click();
  await page.locator('p.flash', { hasText: 'Deposited 1,250.00' }).waitFor();
  await shoot(page, 'account');

  await page.goto(`${base}/transfer?cust_id=110110000`);
  await page.getByLabel('From account').fill('360110001');
  await page.getByLabel('To account').fill('360110002');
  await page.getByLabel('Amount').fill('2,000.00');
  await page.getByRole('button', { name: 'Review transfer' }).click();
  await page.getByRole('heading', { name: 'Confirm the transfer' }).waitFor();
  await shoot(page, 'transfer-review');
  await page.getByRole('button', { name: /Confirm transfer/ }).click();
  await page.waitForURL(/\/transfers\/\d+$/);
  await shoot(page, 'transfer-receipt');

  await page.goto(`${base}/accounts/360110001/statement`);
  await shoot(page, 'statement');
  await page.getByRole('button', { name: 'Log out' }).click();

  // An executive: a new customer's form with three mistakes, all shown at once beside their fields.
  await logIn(page, process.env.BANK_SHOTS_EXECUTIVE);
  await page.goto(`${base}/customers/new`);
  for (const [label, value] of [['SSN id', '12345'], ['Name', 'Grace Hopper'], ['Address', ''],
    ['Age', 'eighty'], ['State', 'New York'], ['City', 'Arlington']]) {
    await page.getByLabel(label).fill(value);
  }
  await page.getByRole('button', { name: 'Create customer' }).click();
  await page.locator('p.problem').first().waitFor();
  await shoot(page, 'customer-form-problems');
} finally {
  await browser.close();
}

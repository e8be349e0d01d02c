// A person's walk through the bank's pages in Debian's Chromium: an executive creates a customer
// and two (empty) accounts, a teller deposits the opening cash and transfers, the statement shows
// it and downloads as PDF and spreadsheet, a large deposit waits until a second teller approves it.
// Usage: node walkthrough.mjs BASE_URL DOWNLOAD_DIR; passwords come from the environment
// (BANK_E2E_EXECUTIVE_PASSWORD, BANK_E2E_TELLER_PASSWORD, BANK_E2E_SECOND_TELLER_PASSWORD).
// Exit 0 when every check held.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, downloads] = process.argv.slice(2);
if (!base || !downloads) {
  console.error('usage: node walkthrough.mjs BASE_URL DOWNLOAD_DIR');
  process.exit(2);
}

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

/** The flash message matching `pattern` on the page the last submit led to (waits for it). */
async function flashed(page, pattern, what) {
  const message = page.locator('p.flash', { hasText: pattern }).first();
  try {
    await message.waitFor();
  } catch {
    const shown = (await page.locator('p.flash').allInnerTexts()).join(' | ');
    throw new Error(`check failed: ${what} (page ${page.url()} shows ${shown || 'no message'})`);
  }
  const text = await message.innerText();
  console.log(`ok - ${what}`);
  return text;
}

async function logIn(page, username, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${base}/`);
  check((await page.locator('header').innerText()).includes(username), `${username} is logged in`);
}

async function logOut(page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/\/login/);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(30000); // CI machines are shared; a slow page is not a failure

  // The executive: a customer, a savings and a current account, both empty (money enters as cash).
  await logIn(page, 'exec1', process.env.BANK_E2E_EXECUTIVE_PASSWORD);
  await page.getByRole('link', { name: 'New customer' }).click();
  await page.getByLabel('SSN id').fill('424242424');
  await page.getByLabel('Name').fill('Katherine Johnson');
  await page.getByLabel('Address').fill('1 Langley Way');
  await page.getByLabel('Age').fill('41');
  await page.getByLabel('State').fill('Virginia');
  await page.getByLabel('City').fill('Hampton');
  await page.getByRole('button', { name: 'Create customer' }).click();
  const custId = (await flashed(page, /Customer \d+ created/, 'the customer is created')).match(/\d+/)[0];

  const accounts = [];
  for (const type of ['savings', 'current']) {
    await page.goto(`${base}/customers/${custId}`);
    await page.getByRole('link', { name: 'Open an account' }).click();
    check(await page.getByLabel('Customer id').inputValue() === custId, 'the account form knows the customer');
    await page.getByLabel('Type').selectOption(type);
    await page.getByRole('button', { name: 'Open account' }).click();
    const opened = await flashed(page, /Account \d+ opened/, `the ${type} account is opened`);
    accounts.push(opened.match(/\d+/)[0]);
  }
  const [savings, current] = accounts;
  check((await page.locator('#balance').innerText()).trim() === '0.00', 'the current account starts empty');
  await logOut(page);

  // The teller: finds the account, takes the opening 100.00 and another 50.00, transfers 30.00.
  await logIn(page, 'teller1', process.env.BANK_E2E_TELLER_PASSWORD);
  await page.getByLabel('Account or customer id').fill(savings);
  await page.getByRole('button', { name: 'Find' }).first().click();
  await page.waitForURL(`${base}/accounts/${savings}`);
  for (const [amount, after] of [['100.00', '100.00'], ['50.00', '150.00']]) {
    await page.locator('form', { hasText: 'Deposit' }).getByLabel('Amount').fill(amount);
    await page.getByRole('button', { name: 'Deposit' }).click();
    await flashed(page, `Deposited ${amount}. New balance ${after}.`, `the deposit of ${amount} is confirmed`);
  }
  check((await page.locator('#balance').innerText()).trim() === '150.00', 'the balance shows 150.00');

  await page.getByRole('link', { name: 'Transfer from this account' }).click();
  check(await page.getByLabel('From account').inputValue() === savings, 'the transfer form starts from the account');
  await page.getByLabel('To account').fill(current);
  await page.getByLabel('Amount').fill('30.00');
  await page.getByRole('button', { name: 'Transfer' }).click();
  await flashed(page, `Transferred 30.00 from ${savings} to ${current}.`, 'the transfer is confirmed');
  check((await page.locator('#balance').innerText()).trim() === '120.00', 'the balance shows 120.00');

  // A refused withdrawal says why and changes nothing.
  await page.locator('form', { hasText: 'Withdraw' }).getByLabel('Amount').fill('500.00');
  await page.getByRole('button', { name: 'Withdraw' }).click();
  await flashed(page, 'insufficient funds', 'an overdraft is refused with a reason');
  check((await page.locator('#balance').innerText()).trim() === '120.00', 'the balance is unchanged');

  // The statement: on screen, then both downloads.
  await page.getByLabel('or last').fill('10');
  await page.getByRole('button', { name: 'Show statement' }).click();
  const table = await page.locator('#statement').innerText();
  for (const expected of ['Deposit', `Transfer out (to ${current})`, '100.00', '150.00', '120.00']) {
    check(table.includes(expected), `the statement shows ${expected}`);
  }
  check((await page.locator('#closing').innerText()).trim() === '120.00', 'the closing balance is 120.00');

  for (const [link, magic, name] of [['Download PDF', '%PDF-', 'pdf'], ['Download spreadsheet', 'PK', 'xlsx']]) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: link }).click()]);
    check(download.suggestedFilename() === `statement-${savings}.${name}`, `the ${name} download is named for the account`);
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    check(readFileSync(file).subarray(0, magic.length).toString('latin1') === magic, `the ${name} file is a real ${name}`);
  }

  // The teller sees only the last four digits of the customer's SSN id.
  await page.goto(`${base}/customers/${custId}`);
  const card = await page.locator('dl.card').innerText();
  check(card.includes('*****2424') && !card.includes('424242424'), 'the teller sees a masked SSN id');

  // A large deposit waits for a second person; the teller who asked cannot approve it.
  await page.goto(`${base}/accounts/${savings}`);
  await page.locator('form', { hasText: 'Deposit' }).getByLabel('Amount').fill('25000.00');
  await page.getByRole('button', { name: 'Deposit' }).click();
  const asked = await flashed(page, /awaits a second person's approval \(request \d+\)/, 'the large deposit awaits approval');
  const request = asked.match(/request (\d+)/)[1];
  check((await page.locator('#balance').innerText()).trim() === '120.00', 'the balance waits too');
  await page.getByRole('link', { name: 'Approvals' }).click();
  check(await page.locator('#pending').getByRole('button', { name: 'Approve' }).count() === 0,
    'the teller who asked is offered no Approve button');
  await logOut(page);

  await logIn(page, 'teller2', process.env.BANK_E2E_SECOND_TELLER_PASSWORD);
  await page.getByRole('link', { name: 'Approvals' }).click();
  const row = page.locator('#pending tr', { hasText: '25,000.00' });
  check((await row.innerText()).includes('teller1'), 'the second teller sees who asked');
  await row.getByRole('button', { name: 'Approve' }).click();
  await flashed(page, `Request ${request} approved.`, 'the second teller approves it');
  check((await page.locator('#balance').innerText()).trim() === '25,120.00', 'the approved deposit is in the balance');
  await logOut(page);
  console.log('walkthrough passed');
} finally {
  await browser.close();
}

// A person's walk through the bank's pages in Debian's Chromium: an executive creates a customer
// (a form with two mistakes shows both beside their fields first) and two (empty) accounts, a teller
// deposits the opening cash typed as the pages show money ("1,000.00"), transfers after a review of
// both holders and gets a receipt, the statement shows it and downloads as PDF and spreadsheet, a
// large deposit waits until a second teller approves it.
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

/**
 * The problem shown for the field labelled `label`: the element its aria-describedby names, which
 * must be visible and sit right under the field. Returns its text.
 */
async function problemBeside(page, label, what, scope = page) {
  const field = scope.getByLabel(label, { exact: true });
  check(await field.getAttribute('aria-invalid') === 'true', `${what}: the field is marked invalid`);
  const problem = page.locator(`#${await field.getAttribute('aria-describedby')}`);
  check(await problem.isVisible(), `${what}: its problem is shown`);
  const [box, under] = [await field.boundingBox(), await problem.boundingBox()];
  check(under.y >= box.y + box.height - 1 && under.y - (box.y + box.height) < 30 && Math.abs(under.x - box.x) < 30,
    `${what}: the problem sits right under the field`);
  return (await problem.innerText()).trim();
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
  await page.getByLabel('SSN id').fill('42424242');
  await page.getByLabel('Name').fill('Katherine Johnson');
  await page.getByLabel('Address').fill('1 Langley Way');
  await page.getByLabel('Age').fill('forty-one');
  await page.getByLabel('State').fill('Virginia');
  await page.getByLabel('City').fill('Hampton');
  await page.getByRole('button', { name: 'Create customer' }).click();
  // Both mistakes come back at once, each beside its own field; what was typed is kept.
  await flashed(page, 'Please correct the 2 fields marked below.', 'a form with two mistakes says so');
  check(await problemBeside(page, 'SSN id (9 digits)', 'the short SSN id') === 'SSN id must be exactly 9 digits.',
    'the SSN id problem is worded for a person');
  check(await problemBeside(page, 'Age', 'the age in words') === 'Age must be a whole number from 0 to 150.',
    'the age problem is worded for a person');
  check(await page.locator('p.problem').count() === 2, 'only the two wrong fields are marked');
  check(await page.getByLabel('Name').inputValue() === 'Katherine Johnson', 'what was typed is kept');
  await page.getByLabel('SSN id').fill('424242424');
  await page.getByLabel('Age').fill('41');
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

  // The teller: finds the account, takes the opening 1,000.00 (typed with its comma, as the pages
  // show money) and another 50.00; mistyped amounts are explained beside the field and move nothing.
  await logIn(page, 'teller1', process.env.BANK_E2E_TELLER_PASSWORD);
  await page.getByLabel('Account or customer id').fill(savings);
  await page.getByRole('button', { name: 'Find' }).first().click();
  await page.waitForURL(`${base}/accounts/${savings}`);
  const depositForm = page.locator('form#deposit');
  for (const [amount, shown, after] of [['1,000.00', '1,000.00', '1,000.00'], ['50', '50.00', '1,050.00']]) {
    await depositForm.getByLabel('Amount').fill(amount);
    await depositForm.getByRole('button', { name: 'Deposit' }).click();
    await flashed(page, `Deposited ${shown}. New balance ${after}.`, `the deposit typed as ${amount} is made`);
  }
  check((await page.locator('#balance').innerText()).trim() === '1,050.00', 'the balance shows 1,050.00');
  for (const [typed, problem] of [
    ['1,00.0', 'Amount has commas in the wrong places'],
    ['１,０００.００', 'Amount must be typed with the digits 0 to 9'],
  ]) {
    await depositForm.getByLabel('Amount').fill(typed);
    await depositForm.getByRole('button', { name: 'Deposit' }).click();
    await flashed(page, 'Please correct the field marked below.', `the deposit typed as ${typed} is refused`);
    check((await problemBeside(page, 'Amount', `the amount ${typed}`, depositForm)).startsWith(problem),
      `${typed}: ${problem}`);
    check(await depositForm.getByLabel('Amount').inputValue() === typed, `${typed} stays in the field to correct`);
    check((await page.locator('#balance').innerText()).trim() === '1,050.00', `${typed} moved nothing`);
  }

  // A transfer: the form offers the customer's accounts by holder and type, a review shows both
  // accounts' holders and the amount before any money moves, and a receipt follows.
  await page.getByRole('link', { name: 'Transfer from this account' }).click();
  check(await page.getByLabel('From account').inputValue() === savings, 'the transfer form starts from the account');
  check(await page.getByLabel('To account').getAttribute('list') === 'customer-accounts', 'the To field has suggestions');
  const offered = await page.locator('#customer-accounts option').evaluateAll(
    (options) => options.map((o) => `${o.value} ${o.label}`));
  check(offered.includes(`${savings} Katherine Johnson · savings · 1,050.00`)
    && offered.includes(`${current} Katherine Johnson · current · 0.00`), 'the customer\'s accounts are offered by name');
  await page.getByLabel('To account').fill(current);
  await page.getByLabel('Amount').fill('30.00');
  await page.getByRole('button', { name: 'Review transfer' }).click();
  await page.getByRole('heading', { name: 'Confirm the transfer' }).waitFor();
  const review = await page.locator('#review').innerText();
  check(new RegExp(`From\\s+${savings}\\s+Katherine Johnson \\(${custId}\\)\\s+savings\\s+1,050.00\\s+1,020.00`).test(review),
    'the review shows the paying account, its holder and its balance before and after');
  check(new RegExp(`To\\s+${current}\\s+Katherine Johnson \\(${custId}\\)\\s+current\\s+0.00\\s+30.00`).test(review),
    'the review shows the receiving account and its holder');
  check((await page.locator('#amount').innerText()).trim() === '30.00', 'the review shows the amount');
  await page.getByRole('button', { name: 'Confirm transfer of 30.00' }).click();
  await page.waitForURL(/\/transfers\/\d+$/);
  const receipt = await page.locator('#receipt').innerText();
  for (const expected of ['30.00', `${savings},`, `${current},`, 'balance after 1,020.00', 'balance after 30.00', 'teller1']) {
    check(receipt.includes(expected), `the receipt shows ${expected}`);
  }
  await page.getByRole('link', { name: `Back to account ${savings}` }).click();
  check((await page.locator('#balance').innerText()).trim() === '1,020.00', 'the balance shows 1,020.00');

  // A refused withdrawal says why beside the amount and changes nothing.
  const withdrawForm = page.locator('form#withdraw');
  await withdrawForm.getByLabel('Amount').fill('5,000.00');
  await withdrawForm.getByRole('button', { name: 'Withdraw' }).click();
  check(await problemBeside(page, 'Amount', 'the overdraft', withdrawForm) === `Account ${savings} holds only 1,020.00.`,
    'an overdraft is refused with a reason');
  check((await page.locator('#balance').innerText()).trim() === '1,020.00', 'the balance is unchanged');

  // The statement: on screen, then both downloads.
  await page.getByLabel('or last').fill('10');
  await page.getByRole('button', { name: 'Show statement' }).click();
  const table = await page.locator('#statement').innerText();
  for (const expected of ['Deposit', `Transfer out (to ${current})`, '1,000.00', '1,050.00', '1,020.00']) {
    check(table.includes(expected), `the statement shows ${expected}`);
  }
  check((await page.locator('#closing').innerText()).trim() === '1,020.00', 'the closing balance is 1,020.00');

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
  await depositForm.getByLabel('Amount').fill('25,000.00');
  await depositForm.getByRole('button', { name: 'Deposit' }).click();
  const asked = await flashed(page, /awaits a second person's approval \(request \d+\)/, 'the large deposit awaits approval');
  const request = asked.match(/request (\d+)/)[1];
  check((await page.locator('#balance').innerText()).trim() === '1,020.00', 'the balance waits too');
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
  check((await page.locator('#balance').innerText()).trim() === '26,020.00', 'the approved deposit is in the balance');
  await logOut(page);
  console.log('walkthrough passed');
} finally {
  await browser.close();
}

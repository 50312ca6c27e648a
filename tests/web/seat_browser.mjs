// seat_browser.mjs: a person plays a seat in headless Chromium (Debian's package)
// beside nine perfect agents, through the seat page only: asks the holders for
// the missing pieces of a task, receives them, submits the task, and sees the
// live dashboard count it. The game is started the way a user starts it:
// `parley run CONFIG`, which prints the seat's address and the dashboard's.
//
// usage: node seat_browser.mjs     (PARLEY_BIN: the built programs)
//   Exit 0 pass, 1 fail, 77 skipped (no browser).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.error(`skip: ${CHROMIUM} is not installed`);
  process.exit(77);
}
const bin = process.env.PARLEY_BIN;
if (!bin || !existsSync(join(bin, 'parley'))) {
  console.error('PARLEY_BIN must point at the built programs');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'web-seat-'));
const profile = mkdtempSync(join(tmpdir(), 'web-chromium-'));
let browser, run, failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
  return ok;
};

async function teardown() {
  if (browser) await browser.close().catch(() => {});
  if (run && run.exitCode === null) {
    run.kill('SIGTERM');
    const gone = await Promise.race([
      new Promise((r) => run.once('exit', () => r(true))),
      new Promise((r) => setTimeout(() => r(false), 10000)),
    ]);
    if (!gone) run.kill('SIGKILL');
  }
  rmSync(profile, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}

// Nothing may hang: the whole test has a bound.
const watchdog = setTimeout(async () => {
  console.error('FAIL the test took too long');
  await teardown();
  process.exit(1);
}, 150000);

try {
  const config = join(work, 'game.yaml');
  writeFileSync(config, [
    'seed: 11',
    'simulation: {rounds: 20}',
    'timing: {human_turn_timeout: 90}',
    // a person asks in their own words, which the study's perfect agent ignores
    'rules: {answer_request_form_only: false}',
    'seats:',
    '  - {policy: human}',
    '  - {policy: perfect, count: 9}',
    '',
  ].join('\n'));

  // parley run prints the seat's page (with its token) and the live view.
  run = spawn(join(bin, 'parley'), ['run', config, '--out', join(work, 'run'), '--quiet'],
              { stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  run.stderr.on('data', (d) => { said += d; });
  run.stdout.on('data', (d) => { said += d; });
  const urls = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const seat = said.match(/agent_1 plays in the browser: (\S+)/);
      const live = said.match(/live view: (\S+)/);
      if (seat && live) { clearInterval(t); resolve({ seat: seat[1], live: live[1] }); }
      if (run.exitCode !== null) { clearInterval(t); reject(new Error('parley run ended: ' + said)); }
    }, 50);
  });
  check(/^http:\/\/127\.0\.0\.1:\d+\/seat\/agent_1\?token=[0-9a-f]{32}$/.test(urls.seat),
        'parley run prints the seat page with its token');
  const origin = new URL(urls.live).origin;

  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const outside = [];
  browser.on('request', (r) => { if (!r.url().startsWith(origin)) outside.push(r.url()); });

  const dash = await browser.newPage();
  await dash.goto(urls.live, { waitUntil: 'load' });
  await dash.waitForSelector('#board tr[data-seat="agent_1"]');
  check((await dash.textContent('#board tr[data-seat="agent_1"] td[data-role=tasks]')) === '0',
        'the dashboard lists the person\'s seat with no task done');

  const seat = await browser.newPage();
  await seat.goto(urls.seat, { waitUntil: 'load' });

  // Waits for a turn other than `after`; returns its id.
  const nextTurn = async (after) => {
    const h = await seat.waitForFunction((prev) => {
      const t = document.getElementById('turn-state').dataset.turn;
      return t && t !== '0' && t !== prev ? t : null;
    }, after, { timeout: 60000 });
    return h.jsonValue();
  };
  // The first task and, per piece, whether it is held and who holds it.
  const readTask = () => seat.evaluate(() => {
    const div = document.querySelector('#tasks [data-task]');
    return {
      id: div.dataset.task,
      pieces: [...div.querySelectorAll('li[data-piece]')].map((li) => ({
        piece: li.dataset.piece, held: li.dataset.held === '1',
        holders: li.dataset.holders ? li.dataset.holders.split(',') : [],
      })),
    };
  });
  const sendTurn = async (n) => {
    await seat.click('#send-turn');
    await seat.waitForFunction((k) => {
      const r = [...document.querySelectorAll('#results li')];
      return r.length === k && r.every((li) => li.dataset.result !== 'pending');
    }, n, { timeout: 30000 });
    return seat.$$eval('#results li', (ls) => ls.map((li) => ({ code: li.dataset.result, text: li.textContent })));
  };

  let turn = await nextTurn('0');
  check(true, `the seat page shows the person's turn (${turn})`);
  const task = await readTask();
  check(task.pieces.length === 4, `the page lists task ${task.id} with its 4 pieces`);

  // The forms check before sending: a message with no text is refused here.
  await seat.fill('#f-message textarea[name=content]', '');
  await seat.click('#f-message button[type=submit]');
  check((await seat.textContent('#form-error')).includes('Write a message'),
        'an empty message is refused by the page');

  // Ask a holder of every missing piece, then wait for the pieces to arrive.
  let asked = 0;
  const askedFor = new Set();
  for (let round = 0; round < 6; round++) {
    const t = await readTask();
    const missing = t.pieces.filter((p) => !p.held);
    if (missing.length === 0) break;
    const toAsk = missing.filter((p) => !askedFor.has(p.piece) && p.holders.length);
    if (toAsk.length) {
      for (const p of toAsk) {
        await seat.selectOption('#f-message select[name=to]', p.holders[0]);
        await seat.fill('#f-message textarea[name=content]', `Could you send me ${p.piece}? I need it for ${t.id}.`);
        await seat.click('#f-message button[type=submit]');
        askedFor.add(p.piece);
      }
      const res = await sendTurn(toAsk.length);
      asked += toAsk.length;
      check(res.every((r) => r.code === 'ok'), `${toAsk.length} request(s) sent, each answered ok`);
    } else {
      await seat.click('#pass-turn');
    }
    turn = await nextTurn(turn);
  }
  check(asked > 0 || task.pieces.every((p) => p.held), 'the person asked for what was missing');
  const now = await readTask();
  check(now.id === task.id && now.pieces.every((p) => p.held),
        `every piece of ${task.id} arrived (the inventory shows them)`);
  for (const p of task.pieces) {
    check(await seat.$(`#inventory li[data-piece="${p.piece.replace(/"/g, '\\"')}"]`) !== null,
          `inventory holds ${p.piece}`);
  }

  // Submit the task through the form.
  await seat.selectOption('#f-submit select[name=task]', task.id);
  await seat.click('#f-submit button[type=submit]');
  const res = await sendTurn(1);
  check(res.length === 1 && res[0].code === 'ok' && res[0].text.includes('paid'),
        `submitting ${task.id} succeeded and paid (${res[0] && res[0].text})`);

  // The dashboard counts it, live.
  await dash.waitForFunction(() => {
    const td = document.querySelector('#board tr[data-seat="agent_1"] td[data-role=tasks]');
    return td && Number(td.textContent) >= 1;
  }, null, { timeout: 20000 }).then(() => check(true, 'the dashboard counts the person\'s task'),
                                    () => check(false, 'the dashboard counts the person\'s task'));
  const total = Number(await dash.textContent('#tasks-done'));
  check(total >= 1, `the dashboard's total counts it (${total} tasks done)`);
  const feedText = await dash.textContent('#feed');
  check(feedText.includes(`agent_1 completed ${task.id}`), 'the dashboard\'s feed shows the completion');
  check(outside.length === 0, `no request left the broker's address (${outside.join(' ')})`);
} catch (e) {
  console.error(`FAIL ${e.stack || e}`);
  failures++;
} finally {
  clearTimeout(watchdog);
  await teardown();
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);

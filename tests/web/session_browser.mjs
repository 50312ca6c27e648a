// session_browser.mjs: a human-subject session (`parley session`) in headless
// Chromium (Debian's package), as its participants and its experimenter see it.
//   1. Four links: three people, each in a browser context of their own, go from
//      the link through consent, instructions and the comprehension check to the
//      lobby, play beside seven built-in seats to the end page and get distinct
//      completion codes; the experimenter page shows them. The fourth declines
//      consent: no game data is recorded for them.
//   2. Three people start a game; one closes the page mid-game: the fallback
//      policy takes the seat, the game finishes, and the substitution is in the
//      run's events.jsonl, the session's record and participants.csv.
//   3. A realtime game: a game page opened late shows the broker's clock, not
//      a count from when it opened; the end page shows the game's length by
//      the broker's clock (so does the first session's, and its lobby page
//      opened late shows the server's waiting time).
//   4. A lobby that does not fill closes (--lobby-close): the closed page.
//   Every page is checked at two window sizes (nothing overlaps, every control
//   inside the window) and a screenshot of each is saved.
//
// usage: node session_browser.mjs   (PARLEY_BIN: the built programs;
//   PARLEY_SHOTS: where the screenshots go, default a temporary directory)
//   Exit 0 pass, 1 fail, 77 skipped (no browser).
import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

const work = mkdtempSync(join(tmpdir(), 'web-session-'));
const shots = process.env.PARLEY_SHOTS || join(work, 'shots');
mkdirSync(shots, { recursive: true });
let browser, failures = 0;
const sessions = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
  return ok;
};

async function stopSession(p) {
  if (p.exitCode !== null) return p.exitCode;
  p.kill('SIGTERM');
  const code = await Promise.race([
    new Promise((r) => p.once('exit', (c) => r(c))),
    new Promise((r) => setTimeout(() => r(null), 20000)),
  ]);
  if (code === null) p.kill('SIGKILL');
  return code;
}

async function teardown() {
  if (browser) await browser.close().catch(() => {});
  for (const p of sessions) await stopSession(p);
  rmSync(work, { recursive: true, force: true });
}

const watchdog = setTimeout(async () => {
  console.error('FAIL the test took too long');
  await teardown();
  process.exit(1);
}, 240000);

// Starts `parley session`; resolves with its address, the experimenter's and the links.
async function startSession(name, participants, extra, lines) {
  const config = join(work, `${name}.yaml`);
  writeFileSync(config, (lines || [
    'seed: 7',
    'simulation: {rounds: 3}',
    'timing: {human_turn_timeout: 60}',
    'seats:',
    '  - {policy: human, count: 3}',
    '  - {policy: perfect, count: 7}',
  ]).concat(['']).join('\n'));
  const dir = join(work, name);
  const p = spawn(join(bin, 'parley'), ['session', config, '--participants', String(participants),
                                         '--out', dir, '--seed', '5', ...extra],
                  { stdio: ['ignore', 'pipe', 'pipe'] });
  sessions.push(p);
  let said = '', err = '';
  p.stdout.on('data', (d) => { said += d; });
  p.stderr.on('data', (d) => { err += d; });
  const m = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = said.match(/^SESSION (\S+) (\S+) (\S+)$/m);
      if (m) { clearInterval(t); resolve(m); }
      if (p.exitCode !== null) { clearInterval(t); reject(new Error('parley session ended: ' + err)); }
    }, 50);
  });
  const links = readFileSync(join(dir, 'links.csv'), 'utf8').trim().split('\n').slice(1)
    .map((l) => { const [id, link] = l.split(','); return { id, link }; });
  return { proc: p, url: m[1], experimenter: m[2], dir, links, log: () => err };
}

const SIZES = [{ width: 1280, height: 800, name: 'wide' }, { width: 390, height: 844, name: 'narrow' }];
// At both window sizes: every visible control has a size, lies inside the
// window's width, overlaps no other control; the page does not scroll sideways.
async function layout(page, what) {
  const old = page.viewportSize();
  for (const size of SIZES) {
    await page.setViewportSize({ width: size.width, height: size.height });
    const bad = await page.evaluate(() => {
      const sel = 'button, a[href], input, select, textarea, summary, h1, h2, code';
      const els = [...document.querySelectorAll(sel)].filter((e) => {
        if (e.closest('[hidden]') || e.closest('.scroll')) return false;
        const cs = getComputedStyle(e);
        return cs.display !== 'none' && cs.visibility !== 'hidden' && e.getClientRects().length > 0;
      });
      const problems = [];
      const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.name ? `[${e.name}]` : '') +
                          (e.value && e.tagName === 'INPUT' ? `=${e.value}` : '');
      const W = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth > W + 1) problems.push(`scrolls sideways (${document.documentElement.scrollWidth} > ${W})`);
      const boxes = els.map((e) => ({ e, r: e.getBoundingClientRect() }));
      for (const { e, r } of boxes) {
        if (r.width < 1 || r.height < 1) problems.push(`${name(e)} has no size`);
        if (r.left < -1 || r.right > W + 1) problems.push(`${name(e)} is outside the window (${r.left}..${r.right} of ${W})`);
      }
      for (let i = 0; i < boxes.length; i++) {
        for (let k = i + 1; k < boxes.length; k++) {
          const a = boxes[i], b = boxes[k];
          if (a.e.contains(b.e) || b.e.contains(a.e)) continue;
          const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
          const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
          if (w > 1 && h > 1) problems.push(`${name(a.e)} overlaps ${name(b.e)}`);
        }
      }
      return { problems, controls: els.length };
    });
    await page.screenshot({ path: join(shots, `${what}-${size.name}.png`), fullPage: true });
    check(bad.problems.length === 0 && bad.controls > 0,
          `${what} at ${size.width}x${size.height}: ${bad.controls} elements laid out cleanly ${bad.problems.slice(0, 4).join('; ')}`);
  }
  if (old) await page.setViewportSize(old);
}

// One person: link, consent, instructions, check, lobby; then the game page.
async function arrive(page, link, opts = {}) {
  await page.goto(link, { waitUntil: 'load' });
  await page.waitForSelector('#page-consent');
  if (opts.layout) await layout(page, 'consent');
  await page.click('#accept');
  await page.waitForSelector('#page-instructions');
  if (opts.layout) await layout(page, 'instructions');
  await page.click('#continue');
  await page.waitForSelector('#page-comprehension');
  if (opts.wrongFirst) {
    await page.check('input[name=cost][value=half]');
    await page.click('#check');
    await page.waitForSelector('#page-comprehension #hint:not(:empty)');
    if (opts.layout) await layout(page, 'comprehension');
  }
  await page.check('input[name=cost][value=nothing]');
  await page.click('#check');
  await page.waitForSelector('#page-lobby, #turn-state');
}

// Plays until the end page: a broadcast on the first turn, then passes; stops
// early (returning 'stopped') once stopAfter turns were played.
async function play(page, who, opts = {}) {
  let last = '0', turns = 0;
  for (;;) {
    const h = await page.waitForSelector(
      `#page-end, #turn-state:not([data-turn="0"]):not([data-turn="${last}"])`, { timeout: 90000 });
    if (await h.evaluate((e) => e.id === 'page-end')) return turns;
    last = await h.evaluate((e) => e.dataset.turn);
    if (turns === 0) {
      if (opts.layout) await layout(page, 'game');
      await page.fill('#f-broadcast textarea[name=content]', `hello from ${who}`);
      await page.click('#f-broadcast button[type=submit]');
      await page.click('#send-turn');
    } else {
      await page.click('#pass-turn');
    }
    turns++;
    if (opts.stopAfter && turns >= opts.stopAfter) return 'stopped';
  }
}

// One person without the comprehension check: consent, instructions, lobby.
async function arriveNoCheck(page, link) {
  await page.goto(link, { waitUntil: 'load' });
  await page.click('#accept');
  await page.waitForSelector('#page-instructions');
  await page.click('#continue');
  await page.waitForSelector('#page-lobby, #turn-state');
}

const jsonl = (path) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const csv = (path) => {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
};
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--no-first-run'];

try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });

  // ---- 1. three people to the end, one declines ----------------------------
  const s1 = await startSession('s1', 4, ['--comprehension', '--dropout-after', '30']);
  check(s1.links.length === 4 && s1.links.every((l) => /^P\d{3}$/.test(l.id) && /\/p\/[0-9a-f]{32}$/.test(l.link)),
        'links.csv holds four pseudonymous ids, each with an unguessable link');
  const outside = [];
  const ctx = [];
  for (let i = 0; i < 4; i++) {
    const c = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    c.on('request', (r) => { if (!r.url().startsWith(s1.url)) outside.push(r.url()); });
    ctx.push(c);
  }
  const pages = await Promise.all(ctx.map((c) => c.newPage()));

  // The fourth declines.
  const [decliner] = [s1.links[3]];
  await pages[3].goto(decliner.link, { waitUntil: 'load' });
  await pages[3].waitForSelector('#page-consent');
  await pages[3].click('#decline');
  await pages[3].waitForSelector('#page-declined');
  await layout(pages[3], 'declined');
  await pages[3].goto(decliner.link, { waitUntil: 'load' });
  check(await pages[3].$('#page-declined') !== null, 'a person who declined sees the declined page again, not the game');

  // The three arrive one after another; the first two wait in the lobby.
  await arrive(pages[0], s1.links[0].link, { layout: true, wrongFirst: true });
  check(await pages[0].$('#page-lobby') !== null, 'the first person waits in the lobby');
  await layout(pages[0], 'lobby');
  // The lobby's clock is the server's: once the server says the person has
  // waited 2 s, a page opened only now shows at least that, not 0.
  const api1 = s1.experimenter.replace('/x?', '/x/api?');
  let waited = 0;
  for (let k = 0; k < 100 && waited < 2; k++) {
    const me = (await (await fetch(api1)).json()).lobby.find((w) => w.id === s1.links[0].id);
    waited = me ? me.waiting_s : 0;
    if (waited < 2) await new Promise((r) => setTimeout(r, 100));
  }
  const lateCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const late = await lateCtx.newPage();
  await late.goto(s1.links[0].link, { waitUntil: 'load' });
  const lateWaited = Number(await late.textContent('#lobby-waited'));
  check(waited >= 2 && lateWaited >= Math.floor(waited),
        `a lobby page opened late shows the server's waiting time (${lateWaited} s; the server said ${waited.toFixed(1)} s)`);
  await lateCtx.close();
  const xp = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await xp.goto(s1.experimenter, { waitUntil: 'load' });
  await xp.waitForSelector(`#lobby tr[data-participant="${s1.links[0].id}"]`);
  check(true, 'the experimenter page lists the waiting person in the lobby');
  await arrive(pages[1], s1.links[1].link);
  await arrive(pages[2], s1.links[2].link);
  await Promise.all(pages.slice(0, 3).map((p) => p.waitForSelector('#turn-state')));
  check(true, 'a full lobby starts the game: all three see the game page');
  await xp.waitForSelector('#games tr[data-state="playing"]');
  await layout(xp, 'experimenter');

  const turns = await Promise.all(pages.slice(0, 3).map((p, i) => play(p, s1.links[i].id, { layout: i === 0 })));
  check(turns.every((t) => t >= 3), `each person played every round (${turns.join(', ')} turns)`);
  await layout(pages[0], 'end');
  const codes = await Promise.all(pages.slice(0, 3).map((p) => p.textContent('#completion-code')));
  check(codes.every((c) => /^[0-9A-F]{8}$/.test(c)) && new Set(codes).size === 3,
        `three distinct completion codes (${codes.join(' ')})`);
  const revenue = await pages[0].textContent('#final-revenue');
  check(/^\$\d+$/.test(revenue), `the end page shows the final revenue (${revenue})`);
  // The end page's game clock is the broker's: game_start to run_end in the
  // run's record, the same on a page reloaded later.
  const stamps = (dir) => {
    const ev = jsonl(join(dir, 'games', 'g1', 'events.jsonl'));
    const start = ev.find((e) => e.type === 'game_start').t_ms;
    return Math.floor((Math.max(...ev.map((e) => e.t_ms || 0)) - start) / 1000);
  };
  const brokerSeconds = stamps(s1.dir);
  await pages[1].reload({ waitUntil: 'load' });
  const shown = [await pages[0].textContent('#game-clock'), await pages[1].textContent('#game-clock')];
  check(brokerSeconds >= 1 && shown.every((t) => Number(t) === brokerSeconds),
        `the end page shows the game's length by the broker's clock (${shown.join(', ')} s; the record says ${brokerSeconds} s)`);

  // The experimenter page shows them done, with their codes.
  await xp.waitForFunction((ids) => ids.every((id) => {
    const tr = document.querySelector(`#people tr[data-participant="${id}"]`);
    return tr && tr.dataset.state === 'done';
  }), s1.links.slice(0, 3).map((l) => l.id), { timeout: 20000 });
  const xtext = await xp.textContent('#people');
  check(codes.every((c) => xtext.includes(c)), 'the experimenter page shows each person done with their code');
  check((await xp.getAttribute(`#people tr[data-participant="${decliner.id}"]`, 'data-state')) === 'declined',
        'the experimenter page shows the decline');
  check(outside.length === 0, `no request left the session's address (${outside.join(' ')})`);

  check(await stopSession(s1.proc) === 0, 'the session ends cleanly on SIGTERM');
  const t1 = csv(join(s1.dir, 'participants.csv'));
  for (let i = 0; i < 3; i++) {
    const r = t1.find((x) => x.participant === s1.links[i].id);
    check(r && r.state === 'done' && r.completion_code === codes[i] && r.game === 'g1' && /^agent_\d+$/.test(r.seat),
          `participants.csv: ${s1.links[i].id} done in g1 at ${r && r.seat}, code ${r && r.completion_code}`);
  }
  const d = t1.find((x) => x.participant === decliner.id);
  check(d && d.state === 'declined' && d.consent === 'declined' && !d.game && !d.seat && !d.revenue && !d.completion_code,
        'participants.csv: the decline is recorded, with no game, seat, revenue or code');
  const rec1 = jsonl(join(s1.dir, 'session.jsonl'));
  const aboutD = rec1.filter((e) => e.participant === decliner.id).map((e) => e.event + (e.page ? ':' + e.page : ''));
  check(aboutD.join(' ') === 'page_view:consent consent', `the record holds only the consent page and the decline for them (${aboutD.join(' ')})`);
  const started = rec1.filter((e) => e.event === 'game_started');
  check(started.length === 1 && Object.keys(started[0].assignment).sort().join() === s1.links.slice(0, 3).map((l) => l.id).join() &&
        !(decliner.id in started[0].assignment), 'one game, its assignment recorded, the decliner not in it');
  const decisions = rec1.filter((e) => e.event === 'decision');
  check(decisions.some((e) => e.typed && JSON.stringify(e.typed).includes(`hello from ${s1.links[0].id}`)) &&
        decisions.every((e) => typeof e.decide_s === 'number' && e.decide_s >= 0 && e.participant !== decliner.id),
        `${decisions.length} decisions recorded with what was typed and the time to decide`);
  const games = readdirSync(join(s1.dir, 'games'));
  const ev1 = readFileSync(join(s1.dir, 'games', 'g1', 'events.jsonl'), 'utf8');
  check(games.length === 1 && !ev1.includes(decliner.id) && ev1.includes('"type":"run_end"'),
        'the one game ran to its end and mentions nobody by participant id');
  const humans = JSON.parse(readFileSync(join(s1.dir, 'games', 'g1', 'summary.json'), 'utf8')).human_seats;
  check(Array.isArray(humans) && humans.length === 3, `the run's summary has three human seats (${JSON.stringify(humans)})`);
  for (const c of ctx) await c.close();
  await xp.context().close();

  // ---- 2. a person closes the page mid-game --------------------------------
  const s2 = await startSession('s2', 3, ['--dropout-after', '3']);
  const c2 = await Promise.all([0, 1, 2].map(() => browser.newContext({ viewport: { width: 1280, height: 800 } })));
  const p2 = await Promise.all(c2.map((c) => c.newPage()));
  for (let i = 0; i < 3; i++) await arriveNoCheck(p2[i], s2.links[i].link);
  const goner = s2.links[0];
  const results = await Promise.all([
    play(p2[0], goner.id, { stopAfter: 1 }).then(async (r) => { await c2[0].close(); return r; }),
    play(p2[1], s2.links[1].id),
    play(p2[2], s2.links[2].id),
  ]);
  check(results[0] === 'stopped', `${goner.id} played a turn, then closed the page`);
  check(results[1] >= 3 && results[2] >= 3, 'the two others played to the end page');
  // The person comes back: the seat is gone; the left page says so.
  const back = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const backPage = await back.newPage();
  await backPage.goto(goner.link, { waitUntil: 'load' });
  check(await backPage.$('#page-left') !== null && await backPage.$('#completion-code') === null,
        'the person who left sees the left page when they come back, with no completion code');
  await layout(backPage, 'left');
  await back.close();
  check(await stopSession(s2.proc) === 0, 'the second session ends cleanly');
  const rec2 = jsonl(join(s2.dir, 'session.jsonl'));
  const sub = rec2.find((e) => e.event === 'seat_substituted');
  check(sub && sub.participant === goner.id && sub.reason === 'page_closed' && sub.policy === 'perfect',
        `the session records the substitution (${JSON.stringify(sub)})`);
  const ev2 = jsonl(join(s2.dir, 'games', 'g1', 'events.jsonl'));
  const joined = ev2.filter((e) => e.type === 'seat_joined' && sub && e.agent === sub.seat);
  check(joined.length >= 2 && joined[0].human === true && joined[joined.length - 1].policy === 'perfect' &&
        joined[joined.length - 1].resumed === true && joined[joined.length - 1].human === false,
        `events.jsonl: ${sub && sub.seat} joined as a person, then the fallback took it over`);
  check(ev2.some((e) => e.type === 'run_end'), 'the game finished');
  const t2 = csv(join(s2.dir, 'participants.csv'));
  const g = t2.find((x) => x.participant === goner.id);
  check(g && g.state === 'left' && g.substituted === '1' && g.substitution_reason === 'page_closed' && !g.completion_code,
        'participants.csv: the person who left is marked substituted (page_closed), with no code');
  check(t2.filter((x) => x.state === 'done' && x.completion_code).length === 2, 'participants.csv: the other two are done with codes');
  // The run's own tables (parley report) carry the substitution too.
  mkdirSync(join(work, 'tables'), { recursive: true });
  const rep = spawnSync(join(bin, 'parley'), ['report', join(s2.dir, 'games', 'g1'), '--csv', join(work, 'tables'),
                                             '--out', join(work, 'report.html')], { encoding: 'utf8' });
  const agents = rep.status === 0 ? csv(join(work, 'tables', 'agents.csv')) : [];
  const row = agents.find((x) => sub && x.agent === sub.seat);
  check(row && row.human === '1' && Number(row.substituted_round) >= 1 &&
        agents.filter((x) => x.human === '1').length === 3 && agents.filter((x) => Number(x.substituted_round) > 0).length === 1,
        `agents.csv: ${sub && sub.seat} was a person's seat, substituted in round ${row && row.substituted_round} ${rep.stderr || ''}`);

  // ---- 3. realtime: a game page opened late shows the broker's clock ----------
  const s3 = await startSession('s3', 1, ['--dropout-after', '30'], [
    'seed: 3',
    'simulation: {rounds: 5}',
    'timing: {mode: realtime, duration: 10}',
    'session: {max_missed: 0}',
    'seats:',
    '  - {policy: human}',
    '  - {policy: perfect, count: 9}',
  ]);
  const c3 = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const p3 = await c3.newPage();
  await arriveNoCheck(p3, s3.links[0].link);
  const clockOf = (page) => page.evaluate(() => {
    const box = document.getElementById('clock-box');
    return box && !box.hidden ? parseInt(document.getElementById('clock').textContent, 10) : -1;
  });
  await p3.waitForFunction(() => {
    const box = document.getElementById('clock-box');
    return box && !box.hidden && parseInt(document.getElementById('clock').textContent, 10) >= 3;
  }, null, { timeout: 30000 });
  const first3 = await clockOf(p3);
  const c3late = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const late3 = await c3late.newPage();
  await late3.goto(s3.links[0].link, { waitUntil: 'load' });
  await late3.waitForFunction(() => { const b = document.getElementById('clock-box'); return b && !b.hidden; },
                              null, { timeout: 10000 });
  const late3clock = await clockOf(late3);
  const late3text = await late3.textContent('#clock');
  check(first3 >= 3 && late3clock >= first3 && /^\d+ \/ 10 s$/.test(late3text),
        `a game page opened ${first3} s into a realtime game shows the broker's clock (${late3text}), not 0`);
  await c3late.close();
  await p3.waitForSelector('#page-end', { timeout: 60000 });
  const end3 = Number(await p3.textContent('#game-clock'));
  check(end3 === stamps(s3.dir) && end3 >= 9,
        `the realtime game's end page shows its length by the broker's clock (${end3} s of 10)`);
  check(await stopSession(s3.proc) === 0, 'the realtime session ends cleanly');
  await c3.close();

  // ---- 4. a lobby that closes: the person is sent to the closed page ---------
  const s4 = await startSession('s4', 1, ['--lobby-timeout', '1', '--lobby-close']);
  const c4 = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const p4 = await c4.newPage();
  await arriveNoCheck(p4, s4.links[0].link);
  await p4.waitForSelector('#page-closed', { timeout: 20000 });
  check(true, 'a lobby that does not fill sends the person to the closed page');
  await layout(p4, 'closed');
  await c4.close();
  check(await stopSession(s4.proc) === 0, 'the fourth session ends cleanly');
  check(!existsSync(join(s4.dir, 'games')) || readdirSync(join(s4.dir, 'games')).length === 0,
        'no game was started for the closed lobby');
} catch (e) {
  console.error(`FAIL ${e.stack || e}`);
  for (const s of sessions) console.error(s.stderrText || '');
  failures++;
} finally {
  clearTimeout(watchdog);
  await teardown();
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);

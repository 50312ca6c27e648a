// session_http.mjs: `parley session` through its HTTP side only (no browser):
//   - a lobby that does not fill in time starts the game with who is there; the
//     fallback plays the empty seat (recorded as unfilled);
//   - a person whose page keeps asking but who never decides misses a turn and
//     is replaced (missed_turns) from then on; the game finishes;
//   - bad input gets a clear error and the session goes on (unknown link, wrong
//     key, oversized form, wrong method, a decision with no seat);
//   - the experimenter starts a game with who waits, stops it, exports the table;
//   - each human seat's declared fallback: two people who both miss a turn are
//     replaced each by their seat's own policy, an empty seat by --fallback;
//     session.max_missed read from the file; all of it in session.jsonl,
//     events.jsonl and participants.csv;
//   - the command's own errors: --help, no CONFIG, a configuration with no seat
//     for people, a broken configuration named FILE:LINE, a bad fallback or
//     session key at its line.
// usage: node session_http.mjs   (PARLEY_BIN: the built programs). Exit 0 or 1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = process.env.PARLEY_BIN;
if (!bin || !existsSync(join(bin, 'parley'))) {
  console.error('PARLEY_BIN must point at the built programs');
  process.exit(1);
}
const parley = join(bin, 'parley');
const work = mkdtempSync(join(tmpdir(), 'session-http-'));
let failures = 0, proc, fake;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
  return ok;
};
const watchdog = setTimeout(() => {
  console.error('FAIL the test took too long');
  if (proc) proc.kill('SIGKILL');
  if (fake) fake.kill('SIGKILL');
  process.exit(1);
}, 180000);
const jsonl = (p) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

try {
  // The command's own errors.
  const help = spawnSync(parley, ['session', '--help'], { encoding: 'utf8' });
  check(help.status === 0 && help.stdout.includes('--participants') && help.stdout.includes('--fallback'),
        'parley session --help lists the options');
  const none = spawnSync(parley, ['session'], { encoding: 'utf8' });
  check(none.status === 2 && none.stderr.includes('needs CONFIG'), 'no CONFIG: exit 2 and a sentence');
  const noHuman = join(work, 'nohuman.yaml');
  writeFileSync(noHuman, 'seed: 1\nsimulation: {rounds: 2}\n');
  const nh = spawnSync(parley, ['session', noHuman, '--participants', '2', '--out', join(work, 'x')], { encoding: 'utf8' });
  check(nh.status === 2 && nh.stderr.includes(`${noHuman}: no seat has policy human`),
        'a configuration without seats for people is refused, naming the file');
  // A seat's declared fallback is checked where it is written (FILE:LINE).
  const badFallback = (name, seatLines, want, what) => {
    const f = join(work, `${name}.yaml`);
    writeFileSync(f, ['seed: 1', 'simulation: {rounds: 2}', 'seats:', ...seatLines, ''].join('\n'));
    const r = spawnSync(parley, ['session', f, '--participants', '1', '--out', join(work, name)], { encoding: 'utf8' });
    check(r.status === 2 && r.stderr.includes(`${f}:${want}`), `${what} (${r.stderr.trim()})`);
  };
  badFallback('fb-human', ['  - {policy: perfect, count: 9}', '  - policy: human', '    fallback: human'],
              '6: seats: agent_10: fallback "human" is not a policy a program plays',
              'a fallback that is a person is refused at its line');
  badFallback('fb-typo', ['  - policy: human', '    fallback: perfekt', '  - {policy: perfect, count: 9}'],
              `5: seats: agent_1: fallback "perfekt" is not a policy a program plays (did you mean 'perfect'?)`,
              'a misspelt fallback is refused at its line with the closest name');
  badFallback('fb-builtin', ['  - {policy: human}', '  - {policy: perfect, count: 9, fallback: random}'],
              '5: seats: agent_2: fallback is for a seat whose policy is human',
              'a fallback on a built-in seat is refused');
  badFallback('fb-llm', ['  - {policy: human, fallback: llm}', '  - {policy: perfect, count: 9}'],
              '4: seats: agent_1: an llm fallback needs a model',
              'an llm fallback without a model is refused');
  const badKey = join(work, 'badkey.yaml');
  writeFileSync(badKey, 'seed: 1\nsession:\n  max_missed: -1\nseats:\n  - {policy: human}\n  - {policy: perfect, count: 9}\n');
  const bk = spawnSync(parley, ['session', badKey, '--participants', '1', '--out', join(work, 'bk')], { encoding: 'utf8' });
  check(bk.status === 2 && bk.stderr.includes(`${badKey}:3: session.max_missed`), `session.max_missed out of range, at its line (${bk.stderr.trim()})`);
  const badFlag = spawnSync(parley, ['session', badKey, '--participants', '1', '--fallback', 'human'], { encoding: 'utf8' });
  check(badFlag.status === 2 && badFlag.stderr.includes('--fallback human: not a policy a program plays'), '--fallback human is refused');

  const broken = join(work, 'broken.yaml');
  writeFileSync(broken, 'seed: 1\nsimulation: {rounds: [oops\n');
  const br = spawnSync(parley, ['session', broken, '--participants', '2', '--out', join(work, 'y')], { encoding: 'utf8' });
  check(br.status === 2 && new RegExp(`${broken}:\\d+`).test(br.stderr), `a broken configuration is named FILE:LINE (${br.stderr.trim()})`);

  // The realtime clock comes from the broker: /api/status says how long the
  // game has run by the broker's clock, so a page opened late shows the same.
  const rt = join(work, 'rt.yaml');
  writeFileSync(rt, 'seed: 2\nsimulation: {rounds: 4}\ntiming: {mode: realtime, duration: 6}\n' +
                    'seats:\n  - {policy: perfect, count: 10}\n');
  // Not --quiet: a quiet run keeps the live view's address to itself (docs/CLI.md).
  const run = spawn(parley, ['run', rt, '--out', join(work, 'rt')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let rsaid = '';
  run.stderr.on('data', (d) => { rsaid += d; });
  const live = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = rsaid.match(/live view: (\S+)\/$/m);
      if (m) { clearInterval(t); resolve(m[1]); }
      if (run.exitCode !== null) { clearInterval(t); reject(new Error('parley run ended: ' + rsaid)); }
    }, 50);
  });
  let first = null;
  for (let k = 0; k < 100 && first === null; k++) {
    const st = await (await fetch(`${live}/api/status`)).json();
    if (st.phase === 'playing' && typeof st.clock_s === 'number') first = st;
    else await new Promise((res) => setTimeout(res, 100));
  }
  const starts = readFileSync(join(work, 'rt', 'events.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"game_start"'));
  check(first !== null && starts.length === 1, 'a realtime game reports its clock in /api/status');
  if (first) {
    const start = JSON.parse(starts[0]).t_ms;
    // The clock is the broker's time since game_start: adding it to game_start's
    // stamp gives about the moment it was read, not the moment a page opened.
    const at = start + first.clock_s * 1000;
    check(first.clock_s >= 0 && first.clock_s <= first.duration_s && Math.abs(Date.now() - at) < 3000,
          `clock_s ${first.clock_s.toFixed(1)} s counts from game_start`);
  }
  await new Promise((res) => run.once('exit', res));

  // A session: two seats for people, one person comes.
  const config = join(work, 'game.yaml');
  writeFileSync(config, [
    'seed: 4', 'simulation: {rounds: 3}', 'timing: {human_turn_timeout: 2}',
    'seats:', '  - {policy: human, count: 2}', '  - {policy: perfect, count: 8}', '',
  ].join('\n'));
  const dir = join(work, 's');
  proc = spawn(parley, ['session', config, '--participants', '2', '--out', dir, '--lobby-timeout', '1',
                        '--max-missed', '1', '--dropout-after', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '', err = '';
  proc.stdout.on('data', (d) => { said += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const m = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = said.match(/^SESSION (\S+) (\S+) (\S+)$/m);
      if (m) { clearInterval(t); resolve(m); }
      if (proc.exitCode !== null) { clearInterval(t); reject(new Error(err)); }
    }, 50);
  });
  const [, url, xurl] = m;
  const links = readFileSync(join(dir, 'links.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const me = links[0][1];

  // Bad input first: each a clear error, the session goes on.
  let r = await fetch(`${url}/p/0123456789abcdef0123456789abcdef`);
  check(r.status === 404 && (await r.json()).error.includes('not one of the session'), 'an unknown link: 404 with a sentence');
  r = await fetch(xurl.replace(/key=\w+/, 'key=wrong'));
  check(r.status === 403 && (await r.json()).error.includes('key'), 'the experimenter page with a wrong key: 403');
  r = await fetch(`${me}/answer`, { method: 'POST', body: 'choice=' + 'x'.repeat(70000),
                                    headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  check(r.status === 413, `an oversized form is refused (${r.status})`);
  r = await fetch(`${me}/decision`);
  check(r.status === 405, 'GET of a decision: 405');
  r = await fetch(`${me}/decision`, { method: 'POST', body: '{}' });
  check(r.status === 409, 'a decision before having a seat: 409');
  r = await fetch(xurl.replace('/x?', '/x/start?'), { method: 'POST' });
  check(r.status === 409, 'starting a game with nobody waiting: 409');

  // Consent, instructions, lobby; nobody else comes.
  const form = (choice) => fetch(`${me}/answer`, { method: 'POST', redirect: 'manual', body: `choice=${choice}`,
                                                   headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  check((await form('accept')).status === 303 && (await form('continue')).status === 303, 'consent and instructions answered');
  // The page asks every half second; it never decides.
  let over = false, sawTurn = false;
  for (let k = 0; k < 200 && !over; k++) {
    r = await fetch(`${me}/state`);
    if (r.status === 200) {
      const st = await r.json();
      sawTurn ||= st.turn_id > 0;
      over = st.over === true && st.session_over === true;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  check(sawTurn, 'the lobby timed out and the person got a turn');
  check(over, 'the game ended and the page was told so');
  const page = await (await fetch(me)).text();
  check(page.includes('id="page-left"'), 'the person who missed their turn sees the left page');
  proc.kill('SIGTERM');
  const code = await new Promise((res) => proc.once('exit', res));
  check(code === 0, 'the session ends cleanly');

  const rec = jsonl(join(dir, 'session.jsonl'));
  const subs = rec.filter((e) => e.event === 'seat_substituted');
  check(subs.some((e) => e.reason === 'unfilled' && e.participant === null),
        'the empty seat went to the fallback, recorded as unfilled');
  check(subs.some((e) => e.reason === 'missed_turns' && e.participant === links[0][0]),
        'the person who missed a turn was replaced (missed_turns)');
  const ev = jsonl(join(dir, 'games', 'g1', 'events.jsonl'));
  check(ev.some((e) => e.type === 'missed_turn') && ev.some((e) => e.type === 'run_end'),
        'events.jsonl: the missed turn, then the game to its end');
  const csv = readFileSync(join(dir, 'participants.csv'), 'utf8');
  check(new RegExp(`^${links[0][0]},left,accepted,g1,1,agent_\\d+,1,missed_turns,`, 'm').test(csv),
        'participants.csv: the person left, substituted for missed turns');
  check(new RegExp(`^${links[1][0]},link,,`, 'm').test(csv), 'participants.csv: the other link was never opened');

  // The experimenter starts a game with the one person waiting, then stops it.
  const dir2 = join(work, 's2');
  proc = spawn(parley, ['session', config, '--participants', '2', '--out', dir2, '--dropout-after', '60',
                        '--max-missed', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  said = '';
  proc.stdout.on('data', (d) => { said += d; });
  const m2 = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const mm = said.match(/^SESSION (\S+) (\S+) (\S+)$/m);
      if (mm) { clearInterval(t); resolve(mm); }
      if (proc.exitCode !== null) { clearInterval(t); reject(new Error('session ended')); }
    }, 50);
  });
  const x = (path) => m2[2].replace('/x?', `/x/${path}?`);
  const link2 = readFileSync(join(dir2, 'links.csv'), 'utf8').trim().split('\n')[1].split(',')[1];
  for (const choice of ['accept', 'continue'])
    await fetch(`${link2}/answer`, { method: 'POST', redirect: 'manual', body: `choice=${choice}`,
                                     headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  r = await fetch(x('start'), { method: 'POST' });
  check(r.status === 200 && (await r.json()).game === 1, 'the experimenter starts a game with who waits');
  let g1;
  for (let k = 0; k < 100; k++) {
    g1 = (await (await fetch(x('api'))).json()).games[0];
    if (g1 && g1.state === 'playing') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  check(g1 && g1.state === 'playing' && g1.seats.filter((st) => st.participant).length === 1,
        'the experimenter page shows the game playing with the one person');
  r = await fetch(x('stop') + '&game=1', { method: 'POST' });
  check(r.status === 200, 'the experimenter stops it');
  for (let k = 0; k < 100; k++) {
    g1 = (await (await fetch(x('api'))).json()).games[0];
    if (g1.state === 'over') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  check(g1.state === 'over', 'the stopped game is over');
  const end = await (await fetch(link2)).text();
  check(/id="completion-code">[0-9A-F]{8}</.test(end), 'the person of a stopped game gets the end page with a code');
  const exported = await (await fetch(x('export'))).text();
  check(exported.startsWith('participant,state,') && exported.includes(',done,accepted,g1,'), 'export gives participants.csv');
  proc.kill('SIGTERM');
  check(await new Promise((res) => proc.once('exit', res)) === 0, 'the second session ends cleanly');
  const stopped = jsonl(join(dir2, 'session.jsonl')).find((e) => e.event === 'game_over');
  check(stopped && stopped.reason === 'stopped', 'the record says the game was stopped');

  // Each seat's own fallback: two people in seats that declare different
  // fallbacks both miss a turn (session.max_missed: 1 in the file, no flag);
  // each seat goes to its own policy. The third seat for a person declares
  // none and stays empty: it gets the session's --fallback.
  const decl = join(work, 'declared.yaml');
  writeFileSync(decl, [
    'seed: 6', 'simulation: {rounds: 3}', 'timing: {human_turn_timeout: 2}',
    'session: {max_missed: 1, lobby_timeout: 600}',
    'seats:',
    '  - {policy: human, fallback: perfect}',
    '  - {policy: human, fallback: random}',
    '  - {policy: human}',
    '  - {policy: perfect, count: 7}', '',
  ].join('\n'));
  const dir3 = join(work, 's3');
  proc = spawn(parley, ['session', decl, '--participants', '2', '--out', dir3, '--fallback', 'selfish'],
               { stdio: ['ignore', 'pipe', 'pipe'] });
  said = '';
  proc.stdout.on('data', (d) => { said += d; });
  const m3 = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const mm = said.match(/^SESSION (\S+) (\S+) (\S+)$/m);
      if (mm) { clearInterval(t); resolve(mm); }
      if (proc.exitCode !== null) { clearInterval(t); reject(new Error('session ended')); }
    }, 50);
  });
  const x3 = (path) => m3[2].replace('/x?', `/x/${path}?`);
  const people3 = readFileSync(join(dir3, 'links.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  for (const [, link] of people3)
    for (const choice of ['accept', 'continue'])
      await fetch(`${link}/answer`, { method: 'POST', redirect: 'manual', body: `choice=${choice}`,
                                      headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  let lobby3 = (await (await fetch(x3('api'))).json()).lobby;
  check(lobby3.length === 2, `both people wait (${lobby3.length}); the lobby needs three`);
  // The lobby page asks the server for its clocks: the time waited and, with
  // session.lobby_timeout from the file, the time left before it starts anyway.
  const where = await (await fetch(`${people3[0][1]}/where`)).json();
  check(where.page === 'lobby' && where.waiting_s >= 0 && where.lobby_left_s > 590 && where.lobby_left_s <= 600,
        `the lobby's clocks come from the server (${JSON.stringify(where)})`);
  r = await fetch(x3('start'), { method: 'POST' });
  check(r.status === 200, 'the experimenter starts the game with the two');
  // Both pages keep asking and never decide: each misses its first turn.
  const done3 = new Set();
  for (let k = 0; k < 240 && done3.size < 2; k++) {
    for (const [id, link] of people3) {
      if (done3.has(id)) continue;
      const st = await (await fetch(`${link}/state`)).json().catch(() => ({}));
      if (st.over === true && st.session_over === true) done3.add(id);
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  check(done3.size === 2, 'the game ended for both');
  const api3 = await (await fetch(x3('api'))).json();
  const seats3 = api3.games[0].seats;
  check(seats3[0].fallback === 'perfect' && seats3[1].fallback === 'random' && seats3[2].fallback === 'selfish' &&
        seats3[3].fallback === null, 'the experimenter page shows each human seat\'s fallback');
  proc.kill('SIGTERM');
  check(await new Promise((res) => proc.once('exit', res)) === 0, 'the third session ends cleanly');
  const rec3 = jsonl(join(dir3, 'session.jsonl'));
  const start3 = rec3.find((e) => e.event === 'session_start');
  const game3 = rec3.find((e) => e.event === 'game_started');
  const over3 = rec3.find((e) => e.event === 'game_over');
  check(over3 && over3.clock_s > 0 && api3.games[0].clock_s === over3.clock_s && api3.games[0].state === 'over' &&
        Math.abs(Date.parse(api3.now) - Date.now()) < 60000,
        `the experimenter's view has the server's time and the game's length by the broker's clock (${api3.games[0].clock_s} s)`);
  check(start3.max_missed === null && start3.lobby_timeout_s === 600 && game3.max_missed === 1 &&
        JSON.stringify(game3.fallbacks) === JSON.stringify({ agent_1: 'perfect', agent_2: 'random', agent_3: 'selfish' }),
        `game_started records the file's max_missed and each seat's fallback (${JSON.stringify(game3.fallbacks)})`);
  const subs3 = rec3.filter((e) => e.event === 'seat_substituted');
  const declared = { agent_1: 'perfect', agent_2: 'random' };
  const ev3 = jsonl(join(dir3, 'games', 'g1', 'events.jsonl'));
  const csv3 = readFileSync(join(dir3, 'participants.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const head3 = csv3[0];
  const rows3 = csv3.slice(1).map((row) => Object.fromEntries(head3.map((h, i) => [h, row[i]])));
  for (const [id] of people3) {
    const seat = game3.assignment[id];
    const sub = subs3.find((e) => e.participant === id);
    check(sub && sub.reason === 'missed_turns' && sub.seat === seat && sub.policy === declared[seat] &&
          sub.from_round >= 1 && sub.missed >= 1,
          `${id} at ${seat} was replaced by that seat's own fallback (${JSON.stringify(sub)})`);
    const joins = ev3.filter((e) => e.type === 'seat_joined' && e.agent === seat);
    const last = joins[joins.length - 1];
    check(joins.length >= 2 && joins[0].human === true && last.resumed === true && last.policy === declared[seat],
          `events.jsonl: ${seat} was a person's, then ${last && last.policy}'s`);
    const row = rows3.find((x) => x.participant === id);
    check(row && row.substituted === '1' && row.substitution_reason === 'missed_turns' &&
          row.fallback_policy === declared[seat] && sub && row.substituted_round === String(sub.from_round),
          `participants.csv: ${id} replaced by ${row && row.fallback_policy} from round ${row && row.substituted_round}`);
  }
  const empty = subs3.find((e) => e.reason === 'unfilled');
  const emptyJoin = ev3.filter((e) => e.type === 'seat_joined' && e.agent === 'agent_3');
  check(empty && empty.seat === 'agent_3' && empty.policy === 'selfish' && empty.participant === null &&
        emptyJoin.length === 1 && emptyJoin[0].policy === 'selfish',
        `the seat that declares none and stayed empty got --fallback selfish (${JSON.stringify(empty)} ${JSON.stringify(emptyJoin)})`);
  check(ev3.some((e) => e.type === 'run_end'), 'that game finished');

  // An llm fallback: the person's seat goes to a model (a local fake endpoint)
  // configured on the seat itself.
  fake = spawn(join(bin, 'parley-fake-llm'), [], { stdio: ['ignore', 'pipe', 'ignore'] });
  let fsaid = '';
  fake.stdout.on('data', (d) => { fsaid += d; });
  const fport = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const mm = fsaid.match(/^listening 127\.0\.0\.1:(\d+)$/m);
      if (mm) { clearInterval(t); resolve(mm[1]); }
      if (fake.exitCode !== null) { clearInterval(t); reject(new Error('parley-fake-llm ended')); }
    }, 50);
  });
  const llmCfg = join(work, 'llmfallback.yaml');
  writeFileSync(llmCfg, [
    'seed: 8', 'simulation: {rounds: 3}', 'timing: {human_turn_timeout: 2}', 'session: {max_missed: 1}',
    'seats:',
    `  - {policy: human, fallback: llm, model: fake-model, base_url: "http://127.0.0.1:${fport}/v1"}`,
    '  - {policy: perfect, count: 9}', '',
  ].join('\n'));
  const dir4 = join(work, 's4');
  proc = spawn(parley, ['session', llmCfg, '--participants', '1', '--out', dir4], { stdio: ['ignore', 'pipe', 'pipe'] });
  said = '';
  proc.stdout.on('data', (d) => { said += d; });
  await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (/^SESSION /m.test(said)) { clearInterval(t); resolve(); }
      if (proc.exitCode !== null) { clearInterval(t); reject(new Error('session ended')); }
    }, 50);
  });
  const link4 = readFileSync(join(dir4, 'links.csv'), 'utf8').trim().split('\n')[1].split(',')[1];
  for (const choice of ['accept', 'continue'])
    await fetch(`${link4}/answer`, { method: 'POST', redirect: 'manual', body: `choice=${choice}`,
                                     headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  let over4 = false;
  for (let k = 0; k < 240 && !over4; k++) {
    const st = await (await fetch(`${link4}/state`)).json().catch(() => ({}));
    over4 = st.over === true && st.session_over === true;
    if (!over4) await new Promise((res) => setTimeout(res, 250));
  }
  proc.kill('SIGTERM');
  check(await new Promise((res) => proc.once('exit', res)) === 0 && over4, 'the llm-fallback session ran to the end');
  const ev4 = jsonl(join(dir4, 'games', 'g1', 'events.jsonl'));
  const joins4 = ev4.filter((e) => e.type === 'seat_joined' && e.agent === 'agent_1');
  const after = ev4.findIndex((e) => e === joins4[joins4.length - 1]);
  const modelTurns = ev4.slice(after).filter((e) => e.type === 'decision' && e.agent === 'agent_1' &&
                                                  Array.isArray(e.calls) && e.calls.length > 0);
  check(joins4.length === 2 && joins4[1].policy === 'llm' && joins4[1].model === 'fake-model' && modelTurns.length >= 1,
        `the seat went to its llm fallback, which asked the model (${modelTurns.length} decisions with calls)`);
  const sub4 = jsonl(join(dir4, 'session.jsonl')).find((e) => e.event === 'seat_substituted');
  check(sub4 && sub4.policy === 'llm' && sub4.reason === 'missed_turns', 'session.jsonl: replaced by llm for missed turns');
} catch (e) {
  console.error(`FAIL ${e.stack || e}`);
  failures++;
} finally {
  clearTimeout(watchdog);
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  if (fake && fake.exitCode === null) fake.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);

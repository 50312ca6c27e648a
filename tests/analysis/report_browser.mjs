// report_browser.mjs: the HTML report, opened in headless Chromium (Debian's
// package), renders every chart. The check is on the rendered page, not the file:
// each chart's marks (bars, CI whiskers, points, lines, matrix cells) must be laid
// out with a nonzero size inside a visible <svg>.
//
// usage: node report_browser.mjs ANA_TOOL SWEEP_FILE
//   Runs the sweep (in-process, offline) into a fresh directory, then loads its
//   report.html from file://. Exit 0 pass, 1 fail, 77 skipped (no browser).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
const [tool, sweep] = process.argv.slice(2);
if (!tool || !sweep) {
  console.error('usage: node report_browser.mjs ANA_TOOL SWEEP_FILE');
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`skip: ${CHROMIUM} is not installed`);
  process.exit(77);
}

const work = mkdtempSync(join(tmpdir(), 'ana-report-'));
const profile = mkdtempSync(join(tmpdir(), 'ana-chromium-'));
let browser;
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};

try {
  const out = join(work, 'out');
  execFileSync(tool, ['sweep', sweep, '--out', out, '--quiet'], { stdio: 'inherit' });
  const report = join(out, 'report.html');
  check(existsSync(report), 'the sweep wrote report.html');

  // A persistent context is how playwright takes a fresh --user-data-dir.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage();
  const requests = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
  await page.waitForSelector('figure[data-chart] svg', { state: 'attached' });

  const charts = {
    pct: ['rect.bar', 'line.ci'],
    decomp: ['circle.pt'],
    rounds: ['polyline.line', 'circle.pt'],
    matrix: ['rect.cell'],
  };
  for (const [chart, marks] of Object.entries(charts)) {
    const svg = page.locator(`figure[data-chart="${chart}"] svg`);
    check(await svg.count() === 1, `${chart}: one <svg>`);
    const box = await svg.boundingBox();
    check(box && box.width > 0 && box.height > 0, `${chart}: the svg has a size on the page`);
    for (const mark of marks) {
      // Rendered geometry of every mark, as the browser laid it out.
      const sizes = await svg.locator(mark).evaluateAll((els) => els.map((e) => {
        const r = e.getBoundingClientRect();
        const cs = getComputedStyle(e);
        return { w: r.width, h: r.height, visible: cs.display !== 'none' && cs.visibility !== 'hidden' };
      }));
      check(sizes.length > 0, `${chart}: has ${mark} marks (${sizes.length})`);
      // CI whiskers are lines: one of their two sides may be 0 wide, never both.
      const drawn = sizes.filter((s) => s.visible && (s.w > 0 || s.h > 0) &&
                                        (mark.startsWith('line') || mark.startsWith('polyline') || (s.w > 0 && s.h > 0)));
      check(drawn.length > 0 && drawn.length === sizes.length,
            `${chart}: every ${mark} is drawn with a nonzero size (${drawn.length}/${sizes.length})`);
    }
  }
  // The offline sweep's known answer is on the page.
  // Every colour is explained: each chart has a legend, the heat map a scale.
  for (const chart of Object.keys(charts)) {
    const n = await page.locator(`figure[data-chart="${chart}"] svg g.legend`).count();
    check(n > 0, `${chart}: has a legend`);
  }
  const scale = await page.locator('figure[data-chart="matrix"] svg rect.scale').count();
  check(scale > 1, `matrix: has a colour scale (${scale} steps)`);
  // Revenue by round: one panel per model, and within a panel no two lines look
  // alike (colour and dash differ), so a line drawn over another stays visible.
  const styles = await page.locator('figure[data-chart="rounds"] svg polyline.line')
    .evaluateAll((els) => els.map((e) => `${e.getAttribute('stroke')}|${e.getAttribute('stroke-dasharray')}`));
  check(new Set(styles).size === 3 && styles.length === 9,
        `rounds: 9 lines in 3 styles, one per arm (${styles.length} lines, ${new Set(styles).size} styles)`);
  const text = await page.locator('body').innerText();
  check(/Written .* by parley/.test(text), 'the report says what produced it');
  check(/cooperation-limited/.test(text) && /competence-limited/.test(text),
        'the decomposition verdicts are shown');
  check(requests.length === 0, `self-contained: no request beyond the file (${requests.join(' ')})`);
} catch (e) {
  console.error(e);
  failures++;
} finally {
  if (browser) await browser.close();
  rmSync(work, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);

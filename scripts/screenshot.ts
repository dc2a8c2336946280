// Draws docs/report.png, the picture of the HTML report on the README: the offline demo is run
// into a scratch directory, its runs are reported with `mmsafe report --format html`, and headless
// Chromium (driven by playwright-core; CHROMIUM_PATH, else /usr/bin/chromium) photographs the page.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'report.png'));
const browserPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(browserPath)) {
  console.error(`screenshot: no Chromium at ${browserPath}; set CHROMIUM_PATH`);
  process.exit(2);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-screenshot-'));
const mmsafe = (...args: string[]) => execFileSync(process.execPath, [path.join(root, 'bin', 'mmsafe.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
try {
  mmsafe('demo', '--dir', dir);
  const db = path.join(dir, 'demo.db');
  const runs = (JSON.parse(mmsafe('runs', '--db', db, '--json')) as { id: string }[]).map((r) => r.id);
  const html = path.join(dir, 'report.html');
  // Two runs keep the picture to one screen: the simulated model against the random baseline.
  const shown = runs.filter((id) => /naive|random/.test(id));
  mmsafe('report', '--db', db, '--runs', shown.join(','), '--format', 'html', '--out', html);
  const browser = await chromium.launch({ executablePath: browserPath, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1700 }, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(html).href);
    await page.screenshot({ path: out });
  } finally {
    await browser.close();
  }
  console.log(`screenshot: ${path.relative(process.cwd(), out)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

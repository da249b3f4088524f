#!/usr/bin/env node
// DEV ONLY: screenshots of a running UI, for eyeballing changes. node dev/screenshot.mjs URL OUT.png [w h]
import { chromium } from 'playwright-core';
const [url, out, w = '1500', hgt = '900'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: Number(w), height: Number(hgt) } });
page.on('console', (m) => console.log('console:', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
await page.goto(url);
await page.waitForTimeout(1500);
await page.screenshot({ path: out });
await browser.close();

// The demo page (web/, served at `/` by src/web.ts) in a real browser, against a real server:
// sign up → upload a text file (multipart) → see it reach READY (documentStatus over graphql-ws)
// → new chat → ask → see the answer stream in (messageStream) → cited answer with its sources.
// Needs Debian's chromium (.ci/run installs it); skipped with a message when it is missing.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtractiveChatModel } from '../src/providers/extractive-chat.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { CHROMIUM_PATH, findChromium, launchChromium } from './helpers/chromium.ts';
import { KESSEL_GUIDE } from './helpers/documents.ts';

const chromiumPath = findChromium();
if (!chromiumPath) {
  console.warn(
    `tests/demo.test.ts skipped: no chromium at ${CHROMIUM_PATH}. ` +
      'Install it with `apt-get install -y --no-install-recommends chromium`, or set CHROMIUM_PATH.',
  );
}

const SCREENSHOT = path.join(import.meta.dirname, '.artifacts', 'demo.png');


describe.skipIf(!chromiumPath)('demo page in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let home: string;
  const browserErrors: string[] = [];

  beforeAll(async () => {
    // Deltas 150 ms apart, so the page surely shows a partial answer before the final one (at 30 ms
    // a loaded CI machine once rendered the whole text before its first check).
    app = await startTestApp({}, { chatModel: createExtractiveChatModel({ deltaDelayMs: 150 }) });
    home = new URL('/', (await app.listen()).url).href;
    browser = await launchChromium(chromiumPath!);
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('pageerror', (error) => browserErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') browserErrors.push(message.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('signs up, uploads a document, watches it become READY, and streams a cited answer', async () => {
    await page.goto(home);

    // Sign up: a new tenant, its slug suggested from the name.
    const signUp = page.locator('#sign-up-form');
    await signUp.locator('[name=tenantName]').fill('Kessel Tours');
    expect(await signUp.locator('[name=tenantSlug]').inputValue()).toBe('kessel-tours');
    await signUp.locator('[name=name]').fill('Ada Admin');
    await signUp.locator('[name=email]').fill('ada@kessel.example');
    await signUp.locator('[name=password]').fill('correct horse battery staple');
    await signUp.getByRole('button', { name: 'Create tenant' }).click();
    await page.locator('#whoami-name', { hasText: 'Ada Admin (ADMIN)' }).waitFor();
    await page.locator('#live[data-state=connected]').waitFor(); // documentStatus is subscribed

    // Upload (GraphQL multipart request) and follow ingestion through the subscription only:
    // the page never re-reads the list, so READY can only arrive as a documentStatus event.
    await page.locator('#upload-file').setInputFiles({
      name: 'kessel-guide.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from(KESSEL_GUIDE),
    });
    await page.locator('#upload-form button[type=submit]').click();
    const row = page.locator('#document-list li', { hasText: 'kessel-guide.txt' });
    await row.waitFor();
    await page.locator('#document-list li[data-status=READY]', { hasText: 'kessel-guide.txt' }).waitFor({ timeout: 60_000 });
    expect(await row.locator('small').textContent()).toMatch(/\d+ chunk/);

    // A new chat, then a question.
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.waitForFunction(() => document.querySelector<HTMLSelectElement>('#session-select')?.value !== '');
    await page.locator('#ask-form [name=question]').fill('When was the last eruption of Mount Kessel?');
    await page.locator('#ask-button').click();

    // Streaming: some text is shown while the answer is still STREAMING…
    const partialHandle = await page.waitForFunction(() => {
      const answer = document.querySelector<HTMLElement>('#messages .message.assistant:last-child');
      const text = answer?.querySelector('.text')?.textContent ?? '';
      return answer?.dataset.status === 'STREAMING' && text.length > 0 ? text : null;
    });
    const partial = (await partialHandle.jsonValue()) as string;
    expect(await page.locator('#stop-button').isVisible()).toBe(true);

    // …then the whole answer, with [n] markers and its numbered sources.
    const answer = page.locator('#messages .message.assistant[data-status=COMPLETE]');
    await answer.waitFor();
    const final = (await answer.locator('.text').textContent()) ?? '';
    expect(final.length).toBeGreaterThan(partial.length);
    expect(final.startsWith(partial)).toBe(true);
    expect(final).toContain('1913');
    expect(final).toMatch(/\[\d+\]/);
    const sources = await answer.locator('.sources li').allTextContents();
    expect(sources.length).toBeGreaterThan(0);
    expect(sources[0]).toMatch(/^\[1\] kessel-guide\.txt · page 1/);
    expect(await page.locator('#stop-button').isVisible()).toBe(false);
    // The first question named the chat.
    expect(await page.locator('#session-select option:checked').textContent()).toBe('When was the last eruption of Mount Kessel?');

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = fs.readFileSync(SCREENSHOT);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.byteLength).toBeGreaterThan(20_000);

    expect(browserErrors).toEqual([]);
  }, 120_000);
});

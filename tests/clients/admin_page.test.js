// The admin page at /ui in headless Chromium (Debian's, driven by
// playwright-core): asks for the key, lists a namespace's sessions page by
// page, reads a session and merges metadata into it, searches it and its
// namespace, deletes it and then the namespace, and shows the cluster and
// the metrics. MOTORHEAD_SCREENSHOT names a file to save a screenshot to.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { chromium } from "playwright-core";

import { apiKey, keyedUrl, newSession, readMemory } from "./env.js";

const browserPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const namespace = newSession("ui");
const sessions = Array.from({ length: 12 }, (_, i) => `${namespace}-s${String(i).padStart(2, "0")}`);

async function post(session, messages) {
  const response = await fetch(
    `${keyedUrl}/sessions/${session}/memory?namespace=${namespace}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ messages }),
    });
  assert.equal(response.status, 200);
}

describe("the admin page", () => {
  let browser;
  let page;

  before(async () => {
    for (const [i, session] of sessions.entries())
      await post(session, [
        { role: "Human", content: `Session ${i}: what do otters eat?` },
        { role: "AI", content: `Otters eat fish and crabs (session ${i}).` },
        { role: "Human", content: "<b>not bold</b> and where do they sleep?",
          id: `question-${i}`, metadata: { channel: "web" } },
      ]);
    browser = await chromium.launch({ executablePath: browserPath,
                                      args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("dialog", (dialog) => dialog.accept());
    await page.goto(`${keyedUrl}/ui`);
  });

  after(async () => {
    await browser?.close();
  });

  test("asks for a key, then lists a namespace page by page", async () => {
    await page.locator("#key-form").waitFor();
    await page.fill("#key", apiKey);
    await page.click("#key-form button");
    await page.locator("#key-status", { hasText: "key accepted" }).waitFor();
    assert.equal(await page.locator("#key-form").isHidden(), true);
    await page.locator("#cluster dd").first().waitFor(); // the first refresh is done

    await page.fill("#namespace", namespace);
    await page.selectOption("#page-size", "10");
    await page.click("#sessions-form button");
    // The key's first refresh listed all 12 on one page: wait for the
    // namespace's first page of 10 to replace it.
    await page.waitForFunction(
      () => document.querySelectorAll("#sessions li").length === 10);
    assert.deepEqual(await page.locator("#sessions li").allTextContents(),
                     sessions.slice(0, 10));
    await page.click("#next-page");
    await page.locator("#page-number", { hasText: "page 2" }).waitFor();
    assert.deepEqual(await page.locator("#sessions li").allTextContents(),
                     sessions.slice(10));
  });

  test("reads a session's window as text, never as HTML", async () => {
    await page.click(`#sessions li >> text=${sessions[11]}`);
    await page.locator("#session-id", { hasText: sessions[11] }).waitFor();
    const rows = await page.locator("#window tbody tr").allInnerTexts();
    assert.equal(rows.length, 3);
    assert.match(rows[0], /<b>not bold<\/b>/);
    // Its time, token count, metadata and id are shown too.
    assert.match(rows[0], /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
    assert.match(rows[0], /\{"channel":"web"\}/);
    assert.match(rows[0], /question-11/);
    assert.match(rows[2], /Session 11: what do otters eat\?/);
    assert.equal(await page.locator("#window b").count(), 0);
    assert.match(await page.locator("#session-context").innerText(), /no summary yet/);
  });

  test("shows the session's record and merges metadata into it", async () => {
    const info = () => page.locator("#session-info").innerText();
    assert.match(await info(), /messages posted\s+3/);
    assert.match(await info(), new RegExp(`namespaces\\s+${namespace}`));
    await page.fill("#metadata-patch", '{"plan": {"tier": "pro"}}');
    await page.click("#metadata-form button");
    await page.locator("#session-info", { hasText: '{"plan":{"tier":"pro"}}' }).waitFor();
    await page.fill("#metadata-patch", '{"plan": null, "user": "<i>ann</i>"}');
    await page.click("#metadata-form button");
    await page.locator("#session-info", { hasText: '{"user":"<i>ann</i>"}' }).waitFor();
    assert.equal(await page.locator("#session-info i").count(), 0);
  });

  test("searches the session", async () => {
    await page.fill("#query", "otters fish");
    await page.click("#search-form button");
    await page.locator("#hits tbody tr").first().waitFor();
    const first = await page.locator("#hits tbody tr").first().innerText();
    assert.match(first, /Otters eat fish and crabs \(session 11\)/);
    if (process.env.MOTORHEAD_SCREENSHOT)
      await page.screenshot({ path: process.env.MOTORHEAD_SCREENSHOT, fullPage: true });
  });

  test("searches every session of the namespace", async () => {
    await page.fill("#namespace-query", "otters fish");
    await page.fill("#namespace-role", "AI");
    await page.click("#namespace-search-form button");
    await page.locator("#namespace-hits tbody tr").first().waitFor();
    const rows = await page.locator("#namespace-hits tbody tr").allInnerTexts();
    assert.equal(rows.length, 10);
    const found = new Set(rows.map((row) => row.match(new RegExp(`${namespace}-s\\d\\d`))[0]));
    assert.equal(found.size, 10); // one answer from each of ten sessions
    for (const row of rows) assert.match(row, /Otters eat fish and crabs/);
  });

  test("shows the cluster and the metrics", async () => {
    await page.click("#refresh");
    await page.locator("#cluster dd").first().waitFor();
    const metrics = await page.locator("#metrics").innerText();
    assert.match(metrics, /live sessions\s+\d+/);
    assert.match(metrics, /HTTP requests\s+[1-9]\d*/);
  });

  test("deletes the session it shows", async () => {
    await page.click("#delete-session");
    await page.locator("#notice", { hasText: `session ${sessions[11]} deleted` }).waitFor();
    assert.equal(await page.locator("#session-panel").isHidden(), true);
    const stored = await readMemory(sessions[11], { url: keyedUrl, key: apiKey });
    assert.deepEqual(stored.messages, []);
  });

  test("deletes every session of the namespace", async () => {
    await page.click("#delete-namespace");
    await page.locator("#notice", { hasText: `namespace ${namespace}: 11 sessions deleted` })
      .waitFor();
    await page.waitForFunction(
      () => document.querySelector("#sessions li")?.textContent === "no sessions on this page");
    const stored = await readMemory(sessions[0], { url: keyedUrl, key: apiKey });
    assert.deepEqual(stored.messages, []);
  });
});

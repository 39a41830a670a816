// The admin page at /ui in headless Chromium (Debian's, driven by
// playwright-core): asks for the key, lists a namespace's sessions page by
// page, reads a session and merges metadata into it, searches it and its
// namespace, deletes it and then the namespace, and shows the server: its
// release, Redis, its settings with secrets masked, the cluster and the
// metrics with rates. At 1400 and 800 px wide no table cell may wrap over
// two lines. MOTORHEAD_SCREENSHOT names a file to save a screenshot (at
// 1400 px) to; the 800 px one goes beside it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { chromium } from "playwright-core";

import { apiKey, keyedUrl, newSession, openUrl, readMemory, scopedKey, scopedUrl }
  from "./env.js";

const browserPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const namespace = newSession("ui");
const sessions = Array.from({ length: 12 }, (_, i) => `${namespace}-s${String(i).padStart(2, "0")}`);

/// The visible table cells whose text takes more than two lines.
function cellsOverTwoLines(page) {
  return page.evaluate(() => {
    const tooTall = [];
    for (const td of document.querySelectorAll("td")) {
      if (!td.checkVisibility() || !td.textContent) continue; // hidden, or empty
      const style = getComputedStyle(td);
      const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
      // The text's own height: a cell is as tall as its row.
      const range = document.createRange();
      range.selectNodeContents(td);
      const lines = Math.round(range.getBoundingClientRect().height / line);
      if (lines > 2)
        tooTall.push(`#${td.closest("table").id} "${td.textContent.slice(0, 40)}": ${lines} lines`);
    }
    return tooTall;
  });
}

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
    assert.match(rows[0], /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    // The time to the millisecond, and the whole id, on hover.
    const first = page.locator("#window tbody tr").first();
    assert.match(await first.locator("td").first().getAttribute("title"),
                 /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
    assert.equal(await first.locator("td").last().getAttribute("title"), "question-11");
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
  });

  for (const width of [1400, 800])
    test(`keeps every table cell within two lines at ${width} px`, async () => {
      await page.setViewportSize({ width, height: 900 });
      const screenshot = process.env.MOTORHEAD_SCREENSHOT;
      if (screenshot)
        await page.screenshot({
          path: width === 1400 ? screenshot : screenshot.replace(/\.png$/, `-${width}.png`),
          fullPage: true });
      assert.deepEqual(await cellsOverTwoLines(page), []);
      await page.setViewportSize({ width: 1280, height: 800 });
    });

  test("shows the release, Redis and the settings, the key masked", async () => {
    const health = await (await fetch(`${keyedUrl}/healthz`)).json();
    assert.match(await page.locator("#version").innerText(), new RegExp(health.version));
    const status = await page.locator("#status").innerText();
    assert.match(status, new RegExp(`release\\s+${health.version}, commit \\w+`));
    assert.match(status, /Redis\s+redis:\/\/127\.0\.0\.1:\d+/);
    assert.match(status, /status\s+ready: Redis answers/);
    await page.click("#settings-details summary");
    const settings = await page.locator("#settings").innerText();
    assert.match(settings, /MOTORHEAD_API_KEYS\s+1 key \(hidden\)/);
    assert.match(settings, /MOTORHEAD_LONG_TERM_MEMORY\s+true/);
    assert.doesNotMatch(await page.content(), new RegExp(apiKey));
    await page.click("#settings-details summary");
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

  test("shows the cluster, and the metrics with their rates", async () => {
    await page.click("#refresh");
    await page.locator("#cluster dd").first().waitFor();
    assert.match(await page.locator("#cluster").innerText(), /members\s+1: 127\.0\.0\.1:\d+/);
    // The second scrape gives the rates.
    await page.click("#refresh");
    await page.waitForFunction(() => /HTTP requests\s+\d+\s+\d+\.\d/.test(
      document.querySelector("#metrics").innerText));
    const metrics = await page.locator("#metrics").innerText();
    assert.match(metrics, /session actors\s+\d+/);
    assert.match(metrics, /client errors \(4xx\)\s+\d+/);
    assert.match(metrics, /server errors \(5xx\)\s+0/);
    assert.doesNotMatch(metrics, /cluster members/);
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

/// Posts one message to `session` on the server at `url`, with `key` and
/// under `namespace` when given.
async function postHello(url, session, { key, namespace } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  const query = namespace ? `?namespace=${namespace}` : "";
  const response = await fetch(`${url}/sessions/${session}/memory${query}`, {
    method: "POST", headers,
    body: JSON.stringify({ messages: [{ role: "Human", content: "hello" }] }) });
  assert.equal(response.status, 200);
}

/// Runs `visit(page)` on a 1,400 px page of a browser of its own.
async function inBrowser(visit) {
  const browser = await chromium.launch({ executablePath: browserPath,
                                          args: ["--no-sandbox"] });
  try {
    await visit(await browser.newPage({ viewport: { width: 1400, height: 800 } }));
  } finally {
    await browser.close();
  }
}

describe("the admin page without long-term memory", () => {
  test("offers no retrieval", async () => {
    const session = newSession("ui-plain");
    await postHello(openUrl, session);
    await inBrowser(async (page) => {
      await page.goto(`${openUrl}/ui`);
      await page.locator("#key-status", { hasText: "keys are off" }).waitFor();
      await page.fill("#open-id", session);
      await page.click("#open-form button");
      await page.locator("#session-id", { hasText: session }).waitFor();
      assert.equal(await page.locator("#retrieval").isHidden(), true);
      assert.equal(await page.locator("#retrieval-off").isVisible(), true);
      await page.click("#settings-details summary");
      assert.match(await page.locator("#settings").innerText(),
                   /MOTORHEAD_LONG_TERM_MEMORY\s+false/);
    });
  });

  test("offers none to a key scoped to a namespace either", async () => {
    // Such a key may not read /settings, where the setting is shown.
    const session = newSession("ui-tenant");
    await postHello(scopedUrl, session, { key: scopedKey, namespace: "tenant" });
    await inBrowser(async (page) => {
      await page.goto(`${scopedUrl}/ui`);
      await page.locator("#key-form").waitFor();
      await page.fill("#key", scopedKey);
      await page.click("#key-form button");
      await page.locator("#key-status", { hasText: "namespaces tenant" }).waitFor();
      await page.locator("#sessions li", { hasText: session }).click();
      await page.locator("#session-id", { hasText: session }).waitFor();
      assert.equal(await page.locator("#server-panel").isHidden(), true);
      for (const element of await page.locator(".retrieval").all())
        assert.equal(await element.isHidden(), true);
      assert.equal(await page.locator("#retrieval-off").isVisible(), true);
    });
  });
});

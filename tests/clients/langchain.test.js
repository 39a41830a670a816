// LangChain's MotorheadMemory, as LangChain JS users and Flowise run it:
// langchain 0.0.x (which wraps @langchain/community 0.0.x) and
// @langchain/community 0.3.x. It saves each exchange with POST and loads a
// session with GET on init.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { apiKey, keyedUrl, newSession, openUrl, readMemory, require } from "./env.js";

const releases = {
  "langchain 0.0.214": () => require("langchain/memory").MotorheadMemory,
  "@langchain/community 0.3.24": () =>
    require("@langchain/community/memory/motorhead_memory").MotorheadMemory,
};

async function memoryFor(MotorheadMemory, url, sessionId) {
  const memory = new MotorheadMemory({ url, sessionId, returnMessages: true });
  await memory.init();
  return memory;
}

for (const [release, load] of Object.entries(releases)) {
  describe(release, () => {
    const MotorheadMemory = load();

    test("saves exchanges and loads them back in order", async () => {
      const session = newSession("lc");
      const memory = await memoryFor(MotorheadMemory, openUrl, session);
      await memory.saveContext({ input: "hi, I am Ada" }, { output: "hello Ada" });
      await memory.saveContext({ input: "what is my name?" }, { output: "Ada" });

      const stored = await readMemory(session);
      assert.deepEqual(stored.messages.map((m) => m.content),
        ["Ada", "what is my name?", "hello Ada", "hi, I am Ada"]);

      const reloaded = await memoryFor(MotorheadMemory, openUrl, session);
      const { history } = await reloaded.loadMemoryVariables({});
      assert.deepEqual(history.map((m) => [m._getType(), m.content]), [
        ["human", "hi, I am Ada"], ["ai", "hello Ada"],
        ["human", "what is my name?"], ["ai", "Ada"],
      ]);
    });

    test("reads a summary given as context", async () => {
      const session = newSession("lc");
      const response = await fetch(`${openUrl}/sessions/${session}/memory`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ messages: [], context: "Ada likes chess" }),
      });
      assert.equal(response.status, 200);
      const memory = await memoryFor(MotorheadMemory, openUrl, session);
      assert.equal(memory.context, "Ada likes chess");
    });

    test("works with keys on through a key in the URL", async () => {
      const session = newSession("lc");
      const url = `${keyedUrl}/key/${apiKey}`;
      const memory = await memoryFor(MotorheadMemory, url, session);
      await memory.saveContext({ input: "keyed" }, { output: "stored" });
      const stored = await readMemory(session, { url: keyedUrl, key: apiKey });
      assert.deepEqual(stored.messages.map((m) => m.content), ["stored", "keyed"]);
      const reloaded = await memoryFor(MotorheadMemory, url, session);
      assert.equal((await reloaded.loadMemoryVariables({})).history.length, 2);
    });
  });
}

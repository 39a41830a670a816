// The Metal SDK's Motorhead client, 4.x, 5.x and 7.x: it sends its key in
// x-metal-api-key and reads `data` of each answer.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { apiKey, keyedUrl, newSession, openUrl, readMemory, require } from "./env.js";

const releases = {
  "4.0.6": () => require("metal-sdk-4").Motorhead,
  "5.0.11": () => require("metal-sdk-5").Motorhead,
  "7.7.1": () => require("metal-sdk-7").Motorhead,
};

const exchange = {
  messages: [
    { role: "Human", content: "remind me to call Bob" },
    { role: "AI", content: "noted: call Bob" },
  ],
};

for (const [release, load] of Object.entries(releases)) {
  describe(`@getmetal/metal-sdk ${release}`, () => {
    const Motorhead = load();

    test("adds, reads and deletes memory", async () => {
      const client = new Motorhead({ baseUrl: openUrl });
      const session = newSession("metal");
      await client.addMemory(session, exchange);
      const memory = await client.getMemory(session);
      assert.deepEqual(memory.messages.map((m) => m.content),
        ["noted: call Bob", "remind me to call Bob"]);
      assert.equal(memory.context, null);
      await client.deleteMemory(session);
      assert.deepEqual((await readMemory(session)).messages, []);
    });

    test("its x-metal-api-key header opens a server with keys on", async () => {
      const client = new Motorhead({ baseUrl: keyedUrl, apiKey, clientId: "c1" });
      const session = newSession("metal");
      await client.addMemory(session, exchange);
      const memory = await client.getMemory(session);
      assert.equal(memory.messages.length, 2);
      await client.deleteMemory(session);
      const stored = await readMemory(session, { url: keyedUrl, key: apiKey });
      assert.deepEqual(stored.messages, []);
    });

    test("a wrong key is refused, not read as an empty session", async () => {
      const client = new Motorhead({ baseUrl: keyedUrl, apiKey: "wrong", clientId: "c1" });
      await assert.rejects(client.getMemory(newSession("metal")));
    });
  });
}

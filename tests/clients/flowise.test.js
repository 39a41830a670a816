// Flowise's Motörhead memory node, flowise-components 1.5.3, loaded from the
// package unmodified: its chains read history only from `data.messages` of
// the GET answer, and it clears a session with DELETE.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { apiKey, keyedUrl, newSession, openUrl, readMemory, require } from "./env.js";

const flowiseDir = process.env.FLOWISE_COMPONENTS_DIR;
const { nodeClass } = require(
  `${flowiseDir}/dist/nodes/memory/MotorheadMemory/MotorheadMemory.js`);

const quietLogger = { info() {}, error() {}, warn() {}, debug() {} };

/** The memory a Flowise flow gets from the node, as its server builds it. */
async function flowiseMemory(baseURL, sessionId) {
  const nodeData = { inputs: { baseURL, sessionId, memoryKey: "chat_history" } };
  return new nodeClass().init(nodeData, "", { logger: quietLogger, chatId: sessionId });
}

describe("flowise-components 1.5.3", () => {
  test("a chain's history is read back, and cleared", async () => {
    const session = newSession("flowise");
    const memory = await flowiseMemory(openUrl, session);
    await memory.addChatMessages([
      { text: "my dog is called Rex", type: "userMessage" },
      { text: "Rex is a fine name", type: "apiMessage" },
    ], session);

    const history = await memory.getChatMessages(session);
    assert.deepEqual(history.map((m) => [m.type, m.message]), [
      ["userMessage", "my dog is called Rex"],
      ["apiMessage", "Rex is a fine name"],
    ]);

    await memory.clearChatMessages(session);
    assert.deepEqual((await readMemory(session)).messages, []);
    assert.deepEqual(await memory.getChatMessages(session), []);
  });

  test("a base URL with a key in it opens a server with keys on", async () => {
    const session = newSession("flowise");
    const memory = await flowiseMemory(`${keyedUrl}/key/${apiKey}`, session);
    await memory.addChatMessages([
      { text: "keyed question", type: "userMessage" },
      { text: "keyed answer", type: "apiMessage" },
    ], session);
    const history = await memory.getChatMessages(session);
    assert.equal(history.length, 2);
    const stored = await readMemory(session, { url: keyedUrl, key: apiKey });
    assert.equal(stored.messages.length, 2);
  });
});

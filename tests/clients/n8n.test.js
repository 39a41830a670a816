// n8n's Motörhead memory node (@n8n/n8n-nodes-langchain 1.80.0) needs n8n
// itself to run, so this repeats its exact calls with the LangChain release
// it pins (@langchain/community 0.3.24): the credential test, GET
// {host}/keys/current with the x-metal-* headers, which must answer 2xx; and
// MotorheadMemory built as the node builds it, on {host}/motorhead.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { apiKey, keyedUrl, newSession, openUrl, readMemory, require } from "./env.js";

const { MotorheadMemory } = require("@langchain/community/memory/motorhead_memory");

/** n8n's credential test: the headers of its generic authentication. */
function testCredential(host, key) {
  return fetch(`${host}/keys/current`, {
    headers: { "x-metal-client-id": "n8n-client", "x-metal-api-key": key },
  });
}

/** MemoryMotorhead.node.js's supplyData, with its credential's host. */
async function n8nMemory(host, key, sessionId) {
  const memory = new MotorheadMemory({
    sessionId,
    url: `${host}/motorhead`,
    clientId: "n8n-client",
    apiKey: key,
    memoryKey: "chat_history",
    returnMessages: true,
    inputKey: "input",
    outputKey: "output",
  });
  await memory.init();
  return memory;
}

describe("n8n's Motörhead node, replayed", () => {
  test("the credential test passes with keys off", async () => {
    assert.equal((await testCredential(openUrl, "anything")).status, 200);
  });

  test("the credential test checks the key when keys are on", async () => {
    assert.equal((await testCredential(keyedUrl, apiKey)).status, 200);
    assert.equal((await testCredential(keyedUrl, "wrong")).status, 401);
  });

  test("messages are stored and reloaded under /motorhead", async () => {
    const session = newSession("n8n");
    const memory = await n8nMemory(openUrl, "anything", session);
    await memory.saveContext({ input: "book a table" }, { output: "for how many?" });
    assert.equal((await readMemory(session)).messages.length, 2);
    const reloaded = await n8nMemory(openUrl, "anything", session);
    const { chat_history: history } = await reloaded.loadMemoryVariables({});
    assert.deepEqual(history.map((m) => m.content), ["book a table", "for how many?"]);
  });

  test("a host with the key in its path works with keys on", async () => {
    // LangChain sends no header to a self-hosted URL, so the key rides in
    // the host; the credential test sends it in x-metal-api-key as well.
    const host = `${keyedUrl}/key/${apiKey}`;
    assert.equal((await testCredential(host, apiKey)).status, 200);
    const session = newSession("n8n");
    const memory = await n8nMemory(host, apiKey, session);
    await memory.saveContext({ input: "keyed" }, { output: "kept" });
    const stored = await readMemory(session, { url: keyedUrl, key: apiKey });
    assert.equal(stored.messages.length, 2);
  });
});

// Where the runner (run.py) started the servers, and helpers the client
// tests share.
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through run.py`);
  return value;
}

/** A server with keys off. */
export const openUrl = required("MOTORHEAD_URL");
/** A server with keys on, and its key. */
export const keyedUrl = required("MOTORHEAD_KEYED_URL");
export const apiKey = required("MOTORHEAD_KEY");
/** A server with keys on and long-term memory off, and a key of it scoped
    to the namespace "tenant". */
export const scopedUrl = required("MOTORHEAD_SCOPED_URL");
export const scopedKey = required("MOTORHEAD_SCOPED_KEY");

export const newSession = (client) => `${client}-${randomUUID()}`;

/** The session's memory as the server answers it, read with plain fetch. */
export async function readMemory(session, { url = openUrl, key } = {}) {
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  const response = await fetch(`${url}/sessions/${session}/memory`, { headers });
  if (!response.ok) throw new Error(`GET answered ${response.status}`);
  return response.json();
}

/** require() for the CommonJS builds of the client packages. */
export const require = createRequire(import.meta.url);

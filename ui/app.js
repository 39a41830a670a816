// The admin page: browses sessions, reads one (its window and its
// metadata, which it can merge into), searches it or its whole namespace,
// deletes it or its whole namespace, and shows the server: its release,
// whether Redis answers, its settings, the cluster and the main metrics
// with their rates. It calls the server's own API, so it sees exactly what
// clients see. Everything a session holds is user data: it is only ever
// put into the page as text, never as HTML.
"use strict";

// The API lives where the page does: "/ui" under "/", "/motorhead" or
// "/key/<key>".
const apiBase = location.pathname.replace(/\/ui(\/.*)?$/, "");
const keyStorage = "motorhead-admin-key";

// [series, label, which samples count]: counters get a rate, gauges not.
const everySample = () => true;
const shownMetrics = [
  ["motorhead_http_requests_total", "HTTP requests", everySample],
  ["motorhead_http_requests_total", "client errors (4xx)",
   (labels) => labels.status?.startsWith("4")],
  ["motorhead_http_requests_total", "server errors (5xx)",
   (labels) => labels.status?.startsWith("5")],
  ["motorhead_http_connections", "open connections", everySample],
  // Sessions read but never written, and deleted ones, keep an actor
  // until they idle: this counts actors, not stored sessions.
  ["motorhead_sessions_live", "session actors", everySample],
  ["motorhead_session_loads_total", "session loads", everySample],
  ["motorhead_folds_queued", "folds queued", everySample],
  ["motorhead_folds_done_total", "folds done", everySample],
  ["motorhead_folds_failed_total", "folds failed", everySample],
  ["motorhead_provider_calls_total", "provider calls", everySample],
  ["motorhead_redis_round_trips_total", "Redis round trips", everySample],
  ["motorhead_redis_errors_total", "Redis errors", everySample],
  ["motorhead_forwarded_requests_total", "forwarded requests", everySample],
  ["process_cpu_seconds_total", "CPU seconds", everySample],
  ["process_resident_memory_bytes", "memory (MiB)", everySample],
];
const serverRefreshMs = 10000;

// `listing` numbers the session listings: an answer that a later listing
// overtook is not shown. `cursors[i]` is where page i + 1 starts; `scrape`
// is the last metrics scrape, for rates.
const state = {
  page: 1, cursors: [""], session: null, listing: 0, scrape: null,
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = {};
  const key = sessionStorage.getItem(keyStorage);
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(apiBase + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = JSON.parse(text).error || message;
    } catch (_) { /* not JSON: keep the status line */ }
    throw new ApiError(response.status, message);
  }
  const type = response.headers.get("Content-Type") || "";
  return type.startsWith("application/json") ? JSON.parse(text) : text;
}

function notify(message) {
  const notice = $("notice");
  notice.textContent = message;
  notice.hidden = !message;
}

/// Runs an action, showing its failure; a 401 asks for a key.
async function attempt(action) {
  try {
    notify("");
    await action();
  } catch (error) {
    if (error.status === 401) askForKey("the key was refused");
    notify(error.message);
  }
}

function askForKey(reason) {
  $("key-form").hidden = false;
  $("key-status").textContent = reason;
}

async function checkKey() {
  try {
    const status = await api("GET", "/keys/current");
    $("key-form").hidden = true;
    $("key-status").textContent = status.authenticated
      ? "key accepted" : "keys are off";
    // Any key may ask, scoped or not: /settings is for operators.
    for (const element of document.querySelectorAll(".retrieval"))
      element.hidden = !status.retrieval;
    $("retrieval-off").hidden = status.retrieval;
    // A key scoped to namespaces lists only within them.
    if (status.namespaces?.length && !$("namespace").value.trim()) {
      $("namespace").value = status.namespaces[0];
      $("key-status").textContent += ` (namespaces ${status.namespaces.join(", ")})`;
    }
    return true;
  } catch (error) {
    if (error.status !== 401) throw error;
    askForKey(sessionStorage.getItem(keyStorage)
      ? "the key was refused" : "this server needs a key");
    return false;
  }
}

/// Fills a description list with [term, detail] pairs, as text.
function showTerms(list, entries) {
  list.replaceChildren(...entries.flatMap(([term, detail]) => {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = detail;
    return [dt, dd];
  }));
}

/// A table cell: its text, and optionally the full text on hover and a
/// class (how it wraps).
const cell = (text, className = "", title = "") => ({ text, className, title });

function replaceRows(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows.map((cells) => {
    const row = document.createElement("tr");
    for (const content of cells) {
      const td = document.createElement("td");
      const { text, className, title } =
        typeof content === "object" ? content : cell(String(content));
      td.textContent = text;
      if (className) td.className = className;
      if (title) td.title = title;
      row.append(td);
    }
    return row;
  }));
}

/// "2026-12-01T20:14:57.123Z" as "2026-12-01 20:14:57", the whole on hover.
const timeCell = (iso) =>
  iso ? cell(iso.slice(0, 19).replace("T", " "), "time", iso) : cell("");
/// Metadata as compact JSON, broken anywhere: it has few spaces.
const jsonCell = (value) => cell(value ? JSON.stringify(value) : "", "json");
/// An id cut to the column's width, the whole on hover.
const idCell = (id) => cell(id ?? "", "clipped", id ?? "");

/// Lists a page by cursor: any number of sessions, none skipped when
/// activity moves one meanwhile.
async function listSessions() {
  const size = Number($("page-size").value);
  const query = new URLSearchParams({ cursor: state.cursors[state.page - 1], size });
  const namespace = $("namespace").value.trim();
  if (namespace) query.set("namespace", namespace);
  const listing = ++state.listing;
  const answer = await api("GET", `/sessions?${query}`);
  if (listing !== state.listing) return;
  const ids = answer.sessions;
  state.cursors.length = state.page;
  if (answer.next_cursor !== null) state.cursors.push(answer.next_cursor);
  $("sessions").replaceChildren(...ids.map((id) => {
    const item = document.createElement("li");
    const link = document.createElement("button");
    link.type = "button";
    link.className = "link";
    link.textContent = id;
    link.title = id;
    link.addEventListener("click", () => attempt(() => openSession(id)));
    item.append(link);
    return item;
  }));
  if (ids.length === 0) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "no sessions on this page";
    $("sessions").append(empty);
  }
  $("namespace-tools").hidden = !namespace;
  $("namespace-name").textContent = namespace;
  $("page-number").textContent = `page ${state.page}`;
  $("previous-page").disabled = state.page === 1;
  $("next-page").disabled = state.cursors.length <= state.page;
}

const sessionPath = (id) => `/sessions/${encodeURIComponent(id)}`;

/// The session's own record; a session that holds nothing yet has none.
async function sessionInfo(id) {
  try {
    return await api("GET", sessionPath(id));
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

function showInfo(info) {
  const entries = info === null ? [["created", "not yet (nothing posted)"]] : [
    ["created", info.created_at ?? "before times were kept"],
    ["updated", info.updated_at ?? "–"],
    ["messages posted", String(info.message_count)],
    ["namespaces", info.namespaces.join(", ") || "none"],
    ["metadata", info.metadata ? JSON.stringify(info.metadata) : "none"],
  ];
  showTerms($("session-info"), entries);
}

async function openSession(id) {
  const [view, info] = await Promise.all([
    api("GET", `${sessionPath(id)}/memory`), sessionInfo(id)]);
  state.session = id;
  showInfo(info);
  $("session-panel").hidden = false;
  $("session-id").textContent = id;
  $("session-tokens").textContent = `${view.tokens} tokens spent on summaries`;
  $("session-context").textContent = view.context ?? "no summary yet";
  replaceRows($("window"), view.messages.map((message) => [
    timeCell(message.created_at),
    cell(message.role, "nowrap"),
    message.content,
    cell(String(message.token_count ?? ""), "nowrap"),
    jsonCell(message.metadata),
    idCell(message.id),
  ]));
  $("hits").hidden = true;
}

async function deleteSession() {
  const id = state.session;
  if (!id || !confirm(`Delete session ${id} and everything it holds?`)) return;
  await api("DELETE", `${sessionPath(id)}/memory`);
  state.session = null;
  $("session-panel").hidden = true;
  notify(`session ${id} deleted`);
  await listSessions();
}

/// Merges the JSON object typed in into the session's metadata (PATCH).
async function saveMetadata() {
  let metadata;
  try {
    metadata = JSON.parse($("metadata-patch").value);
  } catch (_) {
    notify("the metadata must be JSON: an object, or null to remove it all");
    return;
  }
  showInfo(await api("PATCH", sessionPath(state.session), { metadata }));
  $("metadata-patch").value = "";
}

function showHits(table, hits) {
  replaceRows(table, hits.map((hit) => [
    cell(hit.dist.toFixed(3), "nowrap"),
    idCell(hit.session_id ?? state.session),
    timeCell(hit.created_at),
    cell(hit.role, "nowrap"),
    hit.content,
    jsonCell(hit.metadata),
  ]));
  table.hidden = false;
  if (hits.length === 0) notify("nothing matches");
}

async function search() {
  showHits($("hits"), await api("POST", `${sessionPath(state.session)}/retrieval`, {
    text: $("query").value,
    top_k: Number($("top-k").value),
  }));
}

const namespacePath = () =>
  `/namespaces/${encodeURIComponent($("namespace").value.trim())}`;

/// Searches every session of the namespace listed.
async function searchNamespace() {
  const body = { text: $("namespace-query").value, top_k: 10 };
  const role = $("namespace-role").value.trim();
  if (role) body.filter = { role };
  showHits($("namespace-hits"),
           await api("POST", `${namespacePath()}/retrieval`, body));
}

async function deleteNamespace() {
  const namespace = $("namespace").value.trim();
  if (!confirm(`Delete every session of namespace ${namespace}, leaving nothing of them?`))
    return;
  const answer = await api("DELETE", namespacePath());
  state.session = null;
  $("session-panel").hidden = true;
  $("namespace-hits").hidden = true;
  notify(`namespace ${namespace}: ${answer.deleted_sessions} sessions deleted`);
  firstPage();
  await listSessions();
}

/// The samples of an exposition: [name, labels, value].
function samples(text) {
  const found = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const name = line.match(/^[A-Za-z_:][A-Za-z0-9_:]*/)[0];
    const labels = {};
    const braces = line.match(/\{(.*)\}/);
    if (braces)
      for (const [, key, value] of braces[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        labels[key] = value;
    found.push([name, labels, Number(line.slice(line.lastIndexOf(" ") + 1))]);
  }
  return found;
}

/// Each shown metric's sum over the samples it counts; undefined for a
/// series the server does not expose.
function metricTotals(text) {
  const all = samples(text);
  return shownMetrics.map(([name, , counts]) => {
    const matching = all.filter(([sample, labels]) => sample === name && counts(labels));
    if (!all.some(([sample]) => sample === name)) return undefined;
    return matching.reduce((sum, [, , value]) => sum + value, 0);
  });
}

function formatNumber(value, name) {
  if (value === undefined) return "–";
  if (name.endsWith("_bytes")) return (value / 1048576).toFixed(1);
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/// Totals, and per second since the previous scrape for counters.
async function showMetrics() {
  const totals = metricTotals(await api("GET", "/metrics"));
  const now = performance.now();
  const previous = state.scrape;
  state.scrape = { at: now, totals };
  replaceRows($("metrics"), shownMetrics.map(([name, label], i) => {
    let rate = "";
    const change = previous ? totals[i] - previous.totals[i] : NaN;
    // None when the series is new, or was reset (a restarted server).
    if (name.endsWith("_total") && change >= 0) {
      const seconds = (now - previous.at) / 1000;
      rate = (change / seconds).toFixed(1);
    }
    return [label, cell(formatNumber(totals[i], name), "nowrap"),
            cell(rate, "nowrap")];
  }));
}

/// Whether the server can serve: /readyz says why not (Redis, the cluster).
async function readiness() {
  try {
    await api("GET", "/readyz");
    return "ready: Redis answers";
  } catch (error) {
    return `not ready: ${error.message}`;
  }
}

async function showServer() {
  const [settings, ready, view] = await Promise.all([
    api("GET", "/settings"), readiness(), api("GET", "/cluster")]);
  $("version").textContent = `${settings.version} (${settings.commit})`;
  const redis = settings.settings.find((s) => s.name === "REDIS_URL");
  showTerms($("status"), [
    ["release", `${settings.version}, commit ${settings.commit}`],
    ["Redis", redis.value],
    ["status", ready],
  ]);
  showTerms($("cluster"), [
    ["node", view.node],
    ["members", `${view.members.length}: ${view.members.join(", ")}`],
    ["peers", view.peers.join(", ") || "none (a single node)"],
  ]);
  const set = settings.settings.filter((s) => s.set);
  $("settings-details").querySelector("summary").textContent =
    `Settings (${set.length} set, ${settings.settings.length - set.length} default)`;
  replaceRows($("settings"), [...set, ...settings.settings.filter((s) => !s.set)]
    .map((s) => [cell(s.name, "clipped", s.name),
                 cell(s.value || "unset", s.set ? "" : "muted")]));
  await showMetrics();
}

function firstPage() {
  state.page = 1;
  state.cursors = [""];
}

/// The server panel needs a key without a scope: with a scoped key the
/// page still lists and opens the sessions the key reaches.
async function refreshServer() {
  try {
    await showServer();
    $("server-panel").hidden = false;
  } catch (error) {
    if (error.status !== 403) throw error;
    $("server-panel").hidden = true;
  }
}

async function refresh() {
  if (!(await checkKey())) return;
  await refreshServer();
  await listSessions();
  if (state.session) await openSession(state.session);
}

function bind() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(keyStorage, $("key").value);
    $("key").value = "";
    attempt(refresh);
  });
  $("sessions-form").addEventListener("submit", (event) => {
    event.preventDefault();
    firstPage();
    attempt(listSessions);
  });
  $("previous-page").addEventListener("click", () => {
    state.page -= 1;
    attempt(listSessions);
  });
  $("next-page").addEventListener("click", () => {
    state.page += 1;
    attempt(listSessions);
  });
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(() => openSession($("open-id").value.trim()));
  });
  $("delete-session").addEventListener("click", () => attempt(deleteSession));
  $("metadata-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(saveMetadata);
  });
  $("namespace-search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(searchNamespace);
  });
  $("delete-namespace").addEventListener("click", () => attempt(deleteNamespace));
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(search);
  });
  $("refresh").addEventListener("click", () => attempt(refresh));
}

bind();
attempt(refresh);
// The server panel only, and not while a key is asked for: rates need a
// scrape after the first.
setInterval(() => {
  if ($("key-form").hidden && !$("server-panel").hidden)
    refreshServer().catch(() => {});
}, serverRefreshMs);

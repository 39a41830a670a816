// The admin page: browses sessions, reads one (its window and its
// metadata, which it can merge into), searches it or its whole namespace,
// deletes it or its whole namespace, and shows the cluster and the main
// metrics. It calls the server's own API, so
// it sees exactly what clients see. Everything a session holds is user
// data: it is only ever put into the page as text, never as HTML.
"use strict";

// The API lives where the page does: "/ui" under "/", "/motorhead" or
// "/key/<key>".
const apiBase = location.pathname.replace(/\/ui(\/.*)?$/, "");
const keyStorage = "motorhead-admin-key";

const shownMetrics = [
  ["motorhead_sessions_live", "live sessions"],
  ["motorhead_http_requests_total", "HTTP requests"],
  ["motorhead_http_connections", "open connections"],
  ["motorhead_session_loads_total", "session loads"],
  ["motorhead_session_idle_stops_total", "idle stops"],
  ["motorhead_sessions_expired_total", "sessions expired"],
  ["motorhead_folds_queued", "folds queued"],
  ["motorhead_folds_in_flight", "folds in flight"],
  ["motorhead_folds_done_total", "folds done"],
  ["motorhead_folds_failed_total", "folds failed"],
  ["motorhead_provider_calls_total", "provider calls"],
  ["motorhead_provider_tokens_total", "provider tokens"],
  ["motorhead_redis_round_trips_total", "Redis round trips"],
  ["motorhead_redis_errors_total", "Redis errors"],
  ["motorhead_cluster_members", "cluster members"],
  ["motorhead_forwarded_requests_total", "forwarded requests"],
];

// `listing` numbers the session listings: an answer that a later listing
// overtook is not shown.
const state = { page: 1, session: null, listing: 0 };

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

function replaceRows(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows.map((cells) => {
    const row = document.createElement("tr");
    for (const cell of cells) {
      const td = document.createElement("td");
      td.textContent = cell;
      row.append(td);
    }
    return row;
  }));
}

async function listSessions() {
  const size = Number($("page-size").value);
  const query = new URLSearchParams({ page: state.page, size });
  const namespace = $("namespace").value.trim();
  if (namespace) query.set("namespace", namespace);
  const listing = ++state.listing;
  const ids = await api("GET", `/sessions?${query}`);
  if (listing !== state.listing) return;
  $("sessions").replaceChildren(...ids.map((id) => {
    const item = document.createElement("li");
    const link = document.createElement("button");
    link.type = "button";
    link.className = "link";
    link.textContent = id;
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
  $("next-page").disabled = ids.length < size || state.page >= 100;
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
    message.created_at ?? "",
    message.role,
    message.content,
    message.token_count ?? "",
    message.metadata ? JSON.stringify(message.metadata) : "",
    message.id ?? "",
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
    hit.dist.toFixed(3),
    hit.session_id ?? state.session,
    hit.created_at ?? "",
    hit.role,
    hit.content,
    hit.metadata ? JSON.stringify(hit.metadata) : "",
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
  state.page = 1;
  await listSessions();
}

/// Sums each metric over its label sets: "name{labels} value" lines.
function metricTotals(text) {
  const totals = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const name = line.match(/^[A-Za-z_:][A-Za-z0-9_:]*/)[0];
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    totals.set(name, (totals.get(name) || 0) + value);
  }
  return totals;
}

async function showCluster() {
  const view = await api("GET", "/cluster");
  const entries = [
    ["node", view.node],
    ["members", view.members.join(", ") || "none"],
    ["peers", view.peers.join(", ") || "none (a single node)"],
  ];
  showTerms($("cluster"), entries);
  const totals = metricTotals(await api("GET", "/metrics"));
  // A series the server does not expose (the cluster's, on a single node)
  // shows as a dash.
  replaceRows($("metrics"), shownMetrics.map(([name, label]) =>
    [label, totals.has(name) ? String(totals.get(name)) : "–"]));
}

async function refresh() {
  if (!(await checkKey())) return;
  await listSessions();
  await showCluster();
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
    state.page = 1;
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

// ingo dashboard. Plain script, no build step, no dependencies.
//
// Everything a job carries (feedback, problem texts, stdout, stderr,
// launcher, ids) is untrusted: it only ever enters the page as text, through
// el() (text nodes) and textContent, never as markup.
"use strict";
(() => {
  const API = "/api/v1";
  const TOKEN_KEY = "ingo-api-token";
  const RECENT_MAX = 15;
  const META_MAX = 500;
  // HISTORY_EVERY: how often the finished jobs and the per-course summary
  // are read again from the job history, besides when a job finishes.
  const HISTORY_EVERY = 30000;

  const state = {
    running: [],
    waiting: [],
    agents: [],
    receivedAt: 0,
    haveSnapshot: false,
    known: new Map(), // job id -> {task, launcher} of jobs in the last snapshot
    meta: new Map(), // job id -> {task, launcher, env}: all jobs seen, the last META_MAX
    recent: [], // {id, task, launcher, leftAt, job, error}: jobs seen leaving the queue
    history: [], // the newest records of GET /jobs (whoever submitted them), newest first
    historyError: null, // why the history could not be read; null when it was
    summary: null, // the last GET /history/summary
    summaryError: null,
    confirmKill: null, // the job whose Kill asks "Kill? Yes / No"
    killSent: new Set(), // jobs whose kill was sent, until they leave the queue
    mine: new Map(), // job id -> {task, launcher} of jobs this page submitted
    agentKey: "",
    selected: null, // job id shown in the detail view
    selectedJob: null, // its last GET /jobs/{id}
    selectedSSH: null,
    jobSource: null,
    archiveURL: null,
  };

  // ---- small helpers ----

  const $ = (sel) => document.querySelector(sel);

  // el builds an element; strings among children become text nodes.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = String(v);
      else if (k === "dataset") Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c == null) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  // pick returns the first of keys that o has (not null).
  function pick(o, ...keys) {
    if (!o || typeof o !== "object") return undefined;
    for (const k of keys) if (o[k] != null) return o[k];
    return undefined;
  }
  const arr = (v) => (Array.isArray(v) ? v : []);
  const str = (v) => (v == null || v === "" ? "—" : String(v));

  function duration(s) {
    if (typeof s !== "number" || !isFinite(s)) return "—";
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
    if (m) return `${m}m ${String(sec).padStart(2, "0")}s`;
    return `${sec}s`;
  }

  // toMillis reads a time as Unix ms, Unix s or an ISO string.
  function toMillis(v) {
    if (typeof v === "number" && v > 0) return v > 1e11 ? v : v * 1000;
    if (typeof v === "string" && v) {
      const t = Date.parse(v);
      return isNaN(t) ? null : t;
    }
    return null;
  }
  const clock = (ms) => (ms ? new Date(ms).toLocaleTimeString() : "—");
  // when is the clock for today's times, the date too for older ones
  // (the history reaches back 30 days).
  function when(ms) {
    if (!ms) return "—";
    const d = new Date(ms);
    return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  }
  // seconds shows a short span precisely (waits are often under a second).
  function seconds(s) {
    if (typeof s !== "number" || !isFinite(s)) return "—";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return s.toFixed(1) + " s";
    return duration(s);
  }
  // span is the seconds from a to b (Unix ms), or null.
  const span = (a, b) => (a && b ? Math.max(0, (b - a) / 1000) : null);

  const jobID = (j) => String(pick(j, "job_id", "id", "jobid") ?? "");
  function taskOf(j) {
    const c = pick(j, "course_id"), t = pick(j, "task_id");
    if (c || t) return [c, t].filter(Boolean).join("/");
    // "course/task" with an empty course or task loses its lone "/".
    return String(pick(j, "info", "task") || "").replace(/^\/+|\/+$/g, "");
  }
  function envOf(j) {
    const e = pick(j, "environment"), t = pick(j, "environment_type");
    if (typeof e === "string" && e.includes("/")) return e;
    return [t, e].filter(Boolean).join("/");
  }

  const WHY = {
    no_agent: "No agent offers its environment",
    slots_busy: "Next in line; every slot is busy",
    queued: "Behind jobs that came earlier",
    lower_priority: "Behind jobs of a higher priority",
    fair_share: "Other courses' or users' turn (fair share)",
  };
  const why = (j) => {
    const r = pick(j, "why", "reason");
    return WHY[r] || str(r);
  };

  // ---- notices and connection indicator ----

  let noticeTimer = null;
  function notice(text, kind) {
    const n = $("#notice");
    n.textContent = text;
    n.dataset.kind = kind || "info";
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.hidden = true; }, 8000);
  }

  const CONN = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    offline: "Offline — retrying",
  };
  function setConn(s) {
    const c = $("#conn");
    if (c.dataset.state === s) return;
    c.dataset.state = s;
    $("#conn-text").textContent = CONN[s] || s;
  }

  // ---- HTTP API ----

  // The API wants Authorization: Bearer TOKEN on every request. The token
  // is asked for once and kept in sessionStorage: this tab only, gone with
  // it, never in a URL (so never in a history, a log or a Referer).

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
  function showTokenButton() {
    $("#forget-token").hidden = !token();
    $("#set-token").hidden = !!token();
  }

  let asking = null; // one dialog for every request that needs a token
  function askToken(why) {
    if (asking) return asking;
    const d = $("#token-dialog");
    const input = $("#token-input");
    input.value = "";
    $("#token-why").textContent = why || "";
    $("#token-why").hidden = !why;
    asking = new Promise((resolve) => {
      d.addEventListener("close", () => {
        asking = null;
        const v = input.value.trim();
        if (d.returnValue === "ok" && v) {
          sessionStorage.setItem(TOKEN_KEY, v);
          showTokenButton();
          resolve(true);
        } else resolve(false);
      }, { once: true });
      d.returnValue = "";
      d.showModal();
      input.focus();
    });
    return asking;
  }

  // refused forgets a token the API refused and asks for another; it
  // resolves true when the user gave one.
  function refused() {
    const had = !!token();
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenButton();
    return askToken(had ? "The API refused the token: it may belong to another installation, or its key was replaced." : "");
  }

  function authHeaders(extra) {
    const h = Object.assign({}, extra);
    if (token()) h.Authorization = "Bearer " + token();
    return h;
  }

  // api calls the HTTP API; on 401 it asks for a token and tries again.
  // body (a FormData) is sent as it is. It returns {ok, status, body,
  // error}; error is the API's message ({"error": {"code", "message"}})
  // when it gives one.
  async function api(method, path, body) {
    for (;;) {
      let res;
      try {
        res = await fetch(API + path, { method, headers: authHeaders({ Accept: "application/json" }), body, cache: "no-store" });
      } catch (e) {
        return { ok: false, status: 0, body: null, error: "network error" };
      }
      let out = null;
      const text = await res.text();
      if (text) {
        try { out = JSON.parse(text); } catch (e) { out = text; }
      }
      if (res.status === 401 && await refused()) continue;
      return { ok: res.ok, status: res.status, body: out, error: res.ok ? null : errorText(out, res) };
    }
  }

  // stream reads server-sent events with fetch: EventSource cannot send
  // the Authorization header, and the token must not go in the URL.
  // onEvent(name, data) gets each event, onOpen() the answer's arrival,
  // onEnd(status) the end, once: the HTTP status of a refusal, 0 when the
  // network or the server ended it, -1 when close() did. Returns {close}.
  function stream(path, onEvent, onOpen, onEnd) {
    const ctrl = new AbortController();
    let ended = false;
    const end = (status) => { if (!ended) { ended = true; onEnd(status); } };
    (async () => {
      let res;
      try {
        res = await fetch(API + path, { headers: authHeaders({ Accept: "text/event-stream" }), signal: ctrl.signal, cache: "no-store" });
      } catch (e) {
        return end(ctrl.signal.aborted ? -1 : 0);
      }
      if (!res.ok || !res.body) return end(res.status);
      onOpen();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "", name = "", data = [];
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, i).replace(/\r$/, "");
            buf = buf.slice(i + 1);
            if (line === "") {
              if (data.length) onEvent(name || "message", data.join("\n"));
              name = "";
              data = [];
            } else if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
            // Comments (keep-alives) and ids are not needed here.
          }
        }
      } catch (e) {
        return end(ctrl.signal.aborted ? -1 : 0);
      }
      end(0);
    })();
    return { close: () => { ctrl.abort(); end(-1); } };
  }
  const enc = encodeURIComponent;

  // errorText is the message of an error answer, as a string.
  function errorText(body, res) {
    let e = pick(body, "error", "message");
    if (e && typeof e === "object") e = pick(e, "message", "code");
    if (e != null && typeof e !== "object") return String(e);
    if (typeof body === "string" && body.trim()) return body.trim();
    return `${res.status} ${res.statusText}`.trim();
  }

  // ---- queue ----

  let queueSource = null, retryDelay = 1000, retryTimer = null;

  function connectQueue() {
    clearTimeout(retryTimer);
    if (queueSource) queueSource.close();
    const onData = (name, data) => {
      if (name !== "queue" && name !== "message") return;
      let snap;
      try { snap = JSON.parse(data); } catch (e) { return; }
      setConn("live");
      onSnapshot(snap);
    };
    const src = stream("/queue/events", onData, () => { setConn("live"); retryDelay = 1000; }, async (status) => {
      if (queueSource !== src || status === -1) return; // replaced, or closed on purpose
      if (status === 401) {
        setConn("offline");
        if (await refused()) connectQueue();
        return;
      }
      // The network or the server went away: retry, backing off.
      setConn(status ? "offline" : "reconnecting");
      retryTimer = setTimeout(connectQueue, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    });
    queueSource = src;
  }

  function onSnapshot(raw) {
    const running = arr(pick(raw, "running", "jobs_running"));
    const waiting = arr(pick(raw, "waiting", "jobs_waiting"));
    const agents = arr(pick(raw, "agents"));
    const now = new Map();
    for (const j of [...running, ...waiting]) {
      const info = { task: taskOf(j), launcher: pick(j, "launcher"), env: envOf(j) };
      now.set(jobID(j), info);
      state.meta.delete(jobID(j));
      state.meta.set(jobID(j), info);
    }
    while (state.meta.size > META_MAX) state.meta.delete(state.meta.keys().next().value);
    if (state.haveSnapshot) {
      for (const [id, info] of state.known) if (!now.has(id)) finished(id, info);
    }
    const wasSelected = state.selected && phaseOf(state.selected);
    for (const id of state.killSent) if (!now.has(id)) state.killSent.delete(id);
    if (state.confirmKill && !now.has(state.confirmKill)) state.confirmKill = null;
    state.known = now;
    state.running = running;
    state.waiting = waiting;
    state.agents = agents;
    state.receivedAt = Date.now();
    state.haveSnapshot = true;
    renderQueue();
    renderAgents();
    const key = agents.map((a) => `${pick(a, "agent_id", "id")}:${arr(a.environments).join(",")}`).sort().join(";");
    if (key !== state.agentKey) {
      state.agentKey = key;
      loadEnvironments();
    }
    if (state.selected && phaseOf(state.selected) !== wasSelected) loadJob();
  }

  function phaseOf(id) {
    if (state.running.some((j) => jobID(j) === id)) return "running";
    if (state.waiting.some((j) => jobID(j) === id)) return "waiting";
    return "";
  }

  function elapsedOf(j) {
    const e = pick(j, "elapsed");
    if (typeof e === "number") return e + (Date.now() - state.receivedAt) / 1000;
    const st = toMillis(pick(j, "started_at"));
    return st ? (Date.now() - st) / 1000 : null;
  }
  function waitedOf(j) {
    const e = pick(j, "waited", "waiting_for");
    if (typeof e === "number") return e + (Date.now() - state.receivedAt) / 1000;
    const q = toMillis(pick(j, "queued_at"));
    return q ? (Date.now() - q) / 1000 : null;
  }
  function limitOf(j) {
    const m = pick(j, "max_time");
    return typeof m === "number" && m > 0 ? duration(m) + " CPU" : "none";
  }

  function jobButton(id) {
    return el("button", { type: "button", class: "link", title: id, dataset: { action: "show", job: id }, "aria-label": `Show job ${id}` }, id);
  }
  // killButton is Kill, or, once clicked, "Kill? Yes / No": a kill loses
  // the job's work, and the button sits next to others in a busy table.
  function killButton(id, killing) {
    killing = !!killing || state.killSent.has(id);
    if (!killing && state.confirmKill === id) {
      return el("span", { class: "confirm", role: "group", "aria-label": `Kill job ${id}?`, dataset: { confirm: id } },
        el("span", { class: "confirm-q" }, "Kill?"),
        el("button", { type: "button", class: "danger", dataset: { action: "kill-yes", job: id }, "aria-label": `Yes, kill job ${id}` }, "Yes"),
        el("button", { type: "button", class: "quiet", dataset: { action: "kill-no", job: id }, "aria-label": `No, do not kill job ${id}` }, "No"));
    }
    return el("button", {
      type: "button", class: "danger", dataset: { action: "kill", job: id },
      "aria-label": `Kill job ${id}`, disabled: killing,
    }, killing ? "Killing…" : "Kill");
  }

  // rerender replaces a tbody's rows and keeps the keyboard focus on the
  // same button when it is still there.
  function rerender(tbody, rows) {
    const a = document.activeElement;
    const focus = a && tbody.contains(a) && a.dataset ? { action: a.dataset.action, job: a.dataset.job } : null;
    tbody.replaceChildren(...rows);
    if (focus && focus.action) {
      for (const b of tbody.querySelectorAll("button")) {
        if (b.dataset.action === focus.action && b.dataset.job === focus.job) { b.focus(); break; }
      }
    }
  }
  const emptyRow = (cols, text) => el("tr", { class: "empty" }, el("td", { colspan: cols }, text));

  function renderQueue() {
    $("#running-count").textContent = state.running.length;
    $("#waiting-count").textContent = state.waiting.length;
    rerender($("#running tbody"), state.running.length ? state.running.map((j) => {
      const id = jobID(j);
      const killing = !!pick(j, "killing");
      const agent = pick(j, "agent", "agent_name") || pick(j, "agent_id");
      return el("tr", { dataset: { job: id }, class: id === state.selected ? "selected" : null },
        el("td", null, jobButton(id)),
        el("td", null, str(taskOf(j))),
        el("td", null, str(pick(j, "launcher"))),
        el("td", null, str(agent), killing ? el("span", { class: "badge killed" }, "killing") : null),
        el("td", { class: "num" }, str(pick(j, "attempt"))),
        el("td", { class: "num", dataset: { tick: "elapsed", job: id } }, duration(elapsedOf(j))),
        el("td", { class: "num" }, limitOf(j)),
        el("td", { class: "actions" }, killButton(id, killing)));
    }) : [emptyRow(8, "No job is running.")]);
    rerender($("#waiting tbody"), state.waiting.length ? state.waiting.map((j) => {
      const id = jobID(j);
      const reason = pick(j, "why", "reason");
      return el("tr", { dataset: { job: id }, class: id === state.selected ? "selected" : null },
        el("td", { class: "num" }, str(pick(j, "position"))),
        el("td", null, jobButton(id)),
        el("td", null, str(taskOf(j))),
        el("td", null, el("code", null, str(envOf(j)))),
        el("td", null, str(pick(j, "launcher"))),
        el("td", { class: "num", dataset: { tick: "waited", job: id } }, duration(waitedOf(j))),
        el("td", null, el("span", { class: "why", dataset: { why: reason || "" } }, why(j))),
        el("td", { class: "actions" }, killButton(id, false)));
    }) : [emptyRow(8, "No job is waiting.")]);
  }

  function tick() {
    const byID = new Map();
    for (const j of state.running) byID.set("elapsed:" + jobID(j), elapsedOf(j));
    for (const j of state.waiting) byID.set("waited:" + jobID(j), waitedOf(j));
    for (const td of document.querySelectorAll("td[data-tick]")) {
      const v = byID.get(td.dataset.tick + ":" + td.dataset.job);
      if (v !== undefined) td.textContent = duration(v);
    }
    const sel = document.querySelector("#detail [data-tick]");
    if (sel) {
      const j = [...state.running, ...state.waiting].find((x) => jobID(x) === state.selected);
      if (j) sel.textContent = duration(sel.dataset.tick === "elapsed" ? elapsedOf(j) : waitedOf(j));
    }
  }

  // ---- agents and environments ----

  function renderAgents() {
    $("#agents-count").textContent = state.agents.length;
    rerender($("#agents tbody"), state.agents.length ? state.agents.map((a) => {
      const slots = pick(a, "slots");
      let running = pick(a, "running");
      const free = pick(a, "free");
      if (typeof running !== "number" && typeof slots === "number" && typeof free === "number") running = slots - free;
      const name = pick(a, "name") || pick(a, "agent_id", "id");
      const id = pick(a, "agent_id", "id");
      const pct = typeof slots === "number" && slots > 0 && typeof running === "number" ? Math.min(100, Math.round(100 * running / slots)) : 0;
      const seen = toMillis(pick(a, "last_seen"));
      return el("tr", null,
        el("td", null, el("strong", null, str(name)), id && id !== name ? el("span", { class: "muted" }, " " + id) : null),
        el("td", null,
          el("span", { class: "num" }, `${str(running)} of ${str(slots)}`),
          el("span", { class: "meter", role: "presentation" }, el("span", { class: "meter-fill", style: null, dataset: { pct: String(pct) } }))),
        el("td", null, el("ul", { class: "chips" }, arr(a.environments).map((e) => el("li", null, typeof e === "string" ? e : envOf(e))))),
        el("td", null, seen ? clock(seen) : "—"));
    }) : [emptyRow(4, "No agent is connected.")]);
    // Width from data-pct, set through the CSSOM (allowed by the CSP, unlike style attributes).
    for (const f of document.querySelectorAll("#agents .meter-fill")) f.style.width = f.dataset.pct + "%";
  }

  async function loadEnvironments() {
    const r = await api("GET", "/environments");
    const ul = $("#environments");
    if (!r.ok) {
      ul.replaceChildren(el("li", { class: "empty" }, `could not load (${r.error || r.status})`));
      return;
    }
    const b = r.body;
    let names = [];
    const list = Array.isArray(b) ? b : arr(pick(b, "environments"));
    if (list.length) {
      names = list.map((e) => (typeof e === "string" ? e : envOf(e) || pick(e, "name", "id")));
    } else {
      const m = pick(b, "available_environments", "environments") || (b && typeof b === "object" && !Array.isArray(b) ? b : {});
      for (const [typ, ns] of Object.entries(m)) for (const n of arr(ns)) names.push(`${typ}/${typeof n === "string" ? n : pick(n, "name")}`);
    }
    names = [...new Set(names.filter(Boolean))].sort();
    ul.replaceChildren(...(names.length ? names.map((n) => el("li", null, n)) : [el("li", { class: "empty" }, "none")]));
  }

  // ---- recently finished ----

  // The list comes from the job history (GET /jobs), which holds every
  // job, whoever submitted it and whenever; jobs seen leaving the queue
  // are added at once, until their record reaches the history.

  function finished(id, info) {
    if (!id) return;
    state.recent = state.recent.filter((r) => r.id !== id);
    const r = { id, task: info.task, launcher: info.launcher, leftAt: Date.now(), job: null, error: null };
    state.recent.unshift(r);
    state.recent.length = Math.min(state.recent.length, RECENT_MAX);
    renderRecent();
    fetchFinished(r, 0);
    historySoon();
  }

  let historyTimer = null, historySeq = 0, soonTimer = null;
  async function loadHistory() {
    clearTimeout(historyTimer);
    historyTimer = setTimeout(loadHistory, HISTORY_EVERY);
    const seq = ++historySeq;
    const r = await api("GET", "/jobs?limit=" + RECENT_MAX);
    if (seq !== historySeq) return;
    if (r.ok && r.body && Array.isArray(r.body.jobs)) {
      state.history = r.body.jobs.filter((j) => j && typeof j === "object");
      state.historyError = null;
    } else {
      state.historyError = r.error || String(r.status);
    }
    renderRecent();
    // A job the API did not keep gets its times from the history.
    if (state.selectedJob && !state.selectedJob.record && state.history.some((j) => jobID(j) === state.selected)) renderDetail();
    // A job seen leaving the queue but not yet in the history: its record
    // is on its way (the backend writes it in the background).
    const inHistory = new Set(state.history.map(jobID));
    if (!state.historyError && state.recent.some((x) => !inHistory.has(x.id) && Date.now() - x.leftAt < 10000)) historySoon(1500);
  }

  // historySoon reads the history and the summary again shortly: a job
  // has just finished, and several often finish together.
  function historySoon(ms) {
    clearTimeout(soonTimer);
    soonTimer = setTimeout(() => { loadHistory(); loadSummary(); }, ms || 500);
  }

  async function fetchFinished(r, tries) {
    const res = await api("GET", "/jobs/" + enc(r.id));
    if (res.ok && res.body && typeof res.body === "object") {
      r.job = res.body;
      if (res.body.status !== "done" && tries < 10) {
        setTimeout(() => fetchFinished(r, tries + 1), 300 * (tries + 1));
        return;
      }
    } else {
      r.error = res.status === 404 ? "unknown" : (res.error || "error");
      if (res.status !== 404 && tries < 5) {
        setTimeout(() => fetchFinished(r, tries + 1), 1000 * (tries + 1));
      }
    }
    renderRecent();
    if (r.id === state.selected) loadJob();
  }

  function resultOf(job) {
    const r = job && job.result;
    if (!r || typeof r !== "object") return null;
    const inner = r.result && typeof r.result === "object" ? r.result : r;
    return {
      status: pick(inner, "status"),
      text: pick(inner, "text"),
      grade: pick(r, "grade"),
      problems: pick(r, "problems"),
      tests: pick(r, "tests"),
      custom: pick(r, "custom"),
      state: pick(r, "state"),
      archive: pick(r, "archive"),
      stdout: pick(r, "stdout"),
      stderr: pick(r, "stderr"),
      usage: pick(r, "usage"),
    };
  }

  // usageText says what a container used, as the CLI does: "1.02 s CPU,
  // 53 MiB peak, 1.3 s wall"; figures not known (absent) are left out.
  function usageText(u) {
    if (!u || typeof u !== "object") return "";
    const parts = [];
    if (typeof u.cpu_time === "number") parts.push(u.cpu_time.toFixed(2) + " s CPU");
    if (typeof u.memory_peak === "number") parts.push(Math.round(u.memory_peak) + " MiB peak");
    if (typeof u.wall_time === "number") parts.push(u.wall_time.toFixed(1) + " s wall");
    return parts.join(", ");
  }

  function statusBadge(status) {
    const s = status || "unknown";
    return el("span", { class: "badge " + String(s).replace(/[^a-z_-]/gi, ""), dataset: { field: "result-status" } }, s);
  }
  const grade = (g) => (typeof g === "number" ? (Math.round(g * 100) / 100).toString() : str(g));

  // recentRows merges the history's records and the jobs seen leaving
  // the queue that it does not hold yet, newest first.
  function recentRows() {
    const rows = [], seen = new Set();
    for (const j of state.history) {
      const id = jobID(j);
      seen.add(id);
      const submitted = toMillis(pick(j, "submitted_at")), started = toMillis(pick(j, "started_at"));
      const at = toMillis(pick(j, "finished_at"));
      rows.push({ id, task: taskOf(j), launcher: pick(j, "launcher"), status: pick(j, "status"), grade: pick(j, "grade"),
        wait: span(submitted, started), run: span(started, at), at, source: "history" });
    }
    for (const r of state.recent) {
      if (seen.has(r.id)) continue;
      const res = resultOf(r.job);
      const submitted = toMillis(pick(r.job, "submitted_at")), started = toMillis(pick(r.job, "started_at"));
      rows.push({ id: r.id, task: r.task, launcher: r.launcher, status: res ? res.status : null, grade: res ? res.grade : null,
        pending: r.error || (r.job ? pick(r.job, "status") : "fetching…"), wait: span(submitted, started), run: null,
        at: r.leftAt, source: "page" });
    }
    rows.sort((a, b) => (b.at || 0) - (a.at || 0));
    return rows.slice(0, RECENT_MAX);
  }

  function renderRecent() {
    const rows = recentRows();
    rerender($("#recent tbody"), rows.length ? rows.map((r) => el("tr", {
      dataset: { job: r.id, status: r.status ? String(r.status) : "", source: r.source },
      class: r.id === state.selected ? "selected" : null,
    },
    el("td", null, jobButton(r.id)),
    el("td", null, str(r.task)),
    el("td", null, str(r.launcher)),
    el("td", null, r.status ? statusBadge(r.status) : el("span", { class: "muted" }, str(r.pending))),
    el("td", { class: "num" }, r.status ? grade(r.grade) : "—"),
    el("td", { class: "num" }, seconds(r.wait)),
    el("td", { class: "num" }, seconds(r.run)),
    el("td", null, when(r.at)))) : [emptyRow(8, state.historyError ?
      "No job has finished since this page was opened." : "No finished job in the history.")]);
    const note = $("#recent-note");
    note.hidden = !state.historyError;
    note.textContent = state.historyError ? `The job history could not be read (${state.historyError}): this list holds only the jobs that finished since this page was opened.` : "";
  }

  // ---- per course ----

  let summaryTimer = null, summarySeq = 0;
  async function loadSummary() {
    clearTimeout(summaryTimer);
    summaryTimer = setTimeout(loadSummary, HISTORY_EVERY);
    const seq = ++summarySeq;
    const r = await api("GET", "/history/summary?since=" + enc($("#courses-window").value));
    if (seq !== summarySeq) return;
    if (r.ok && r.body && typeof r.body === "object") {
      state.summary = r.body;
      state.summaryError = null;
    } else {
      state.summary = null;
      state.summaryError = r.error || String(r.status);
    }
    renderCourses();
  }

  const STATUS_ORDER = ["success", "failed", "error", "crash", "timeout", "overflow", "killed"];
  function courseRow(c, total) {
    const id = String(pick(c, "course_id") ?? "");
    const sts = c && c.statuses && typeof c.statuses === "object" ? c.statuses : {};
    const rank = (k) => (STATUS_ORDER.includes(k) ? STATUS_ORDER.indexOf(k) : STATUS_ORDER.length);
    const keys = Object.keys(sts).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    return el("tr", { dataset: total ? { total: "all" } : { course: id } },
      total ? el("th", { scope: "row" }, "All courses") :
        el("td", null, id ? id : el("span", { class: "muted" }, "(no course)")),
      el("td", { class: "num", dataset: { field: "finished" } }, str(pick(c, "finished"))),
      el("td", { dataset: { field: "statuses" } }, el("span", { class: "counts" }, keys.map((k) =>
        el("span", { class: "badge " + k.replace(/[^a-z_-]/gi, ""), dataset: { status: k } }, `${k} ${sts[k]}`)))),
      el("td", { class: "num", dataset: { field: "median-wait" } }, seconds(pick(c, "median_wait"))),
      el("td", { class: "num", dataset: { field: "median-run" } }, seconds(pick(c, "median_run"))));
  }

  function renderCourses() {
    const s = state.summary;
    const courses = s ? arr(s.courses) : [];
    rerender($("#courses tbody"), courses.length ? courses.map((c) => courseRow(c, false)) :
      [emptyRow(5, state.summaryError ? `Could not read the job history: ${state.summaryError}` :
        s ? "No job finished in this window." : "Loading…")]);
    $("#courses tfoot").replaceChildren(...(courses.length > 1 && s.total ? [courseRow(s.total, true)] : []));
    const note = $("#courses-note");
    note.hidden = !s;
    if (!s) return;
    let text = `From the job history: ${str(s.scanned)} finished jobs read since ${when(toMillis(s.since))}.`;
    if (s.truncated) text += ` Only the newest were read: the counts cover the jobs finished since ${when(toMillis(s.covered_since))}.`;
    text += " Wait: from submission to start; run: from start to finish.";
    note.textContent = text;
  }

  // ---- job detail ----

  function showJob(id) {
    id = String(id || "").trim();
    if (!id) return;
    if (state.jobSource) { state.jobSource.close(); state.jobSource = null; }
    state.selected = id;
    state.selectedJob = null;
    state.selectedSSH = null;
    const want = "#job=" + enc(id);
    if (location.hash !== want) history.replaceState(null, "", want);
    const d = $("#detail");
    d.hidden = false;
    d.dataset.job = id;
    $("#detail-title").textContent = "Job " + id;
    $("#detail-body").replaceChildren(el("p", { class: "muted" }, "Loading…"));
    d.focus({ preventScroll: true });
    d.scrollIntoView({ block: "start" });
    highlight();
    follow(id);
    loadJob();
  }

  function closeJob() {
    if (state.jobSource) { state.jobSource.close(); state.jobSource = null; }
    state.selected = null;
    $("#detail").hidden = true;
    delete $("#detail").dataset.job;
    history.replaceState(null, "", location.pathname + location.search);
    highlight();
  }

  function highlight() {
    for (const tr of document.querySelectorAll("tbody tr[data-job]")) {
      tr.classList.toggle("selected", tr.dataset.job === state.selected);
    }
  }

  // follow listens to the job's own events while it is not done.
  function follow(id) {
    let src = null;
    const onEvent = (name, data) => {
      if (!["queued", "started", "ssh", "done"].includes(name)) return;
      // A short job may come and go between two queue snapshots: one
      // submitted here still lands in the finished jobs.
      if (name === "done" && state.mine.has(id) && !state.recent.some((r) => r.id === id)) {
        finished(id, state.mine.get(id));
      }
      if (state.selected !== id) { src.close(); return; }
      if (name === "ssh") {
        try { state.selectedSSH = JSON.parse(data); } catch (e) { /* ignore */ }
      }
      if (name === "done") src.close();
      loadJob();
    };
    src = stream("/jobs/" + enc(id) + "/events", onEvent, () => {}, () => {
      if (state.jobSource === src) state.jobSource = null;
    });
    state.jobSource = src;
  }

  let loadSeq = 0;
  async function loadJob() {
    const id = state.selected;
    if (!id) return;
    const seq = ++loadSeq;
    const r = await api("GET", "/jobs/" + enc(id));
    if (seq !== loadSeq || id !== state.selected) return;
    if (!r.ok) {
      $("#detail-body").replaceChildren(el("p", { class: "error" },
        r.status === 404 ? "No such job: the backend does not know it, or has forgotten it." : `Could not load the job: ${r.error || r.status}`));
      return;
    }
    state.selectedJob = r.body;
    if (r.body && r.body.status === "done" && state.jobSource) { state.jobSource.close(); state.jobSource = null; }
    renderDetail();
  }

  // recordOf is the job's history record: in the API's answer, or in the
  // list read from the history; null when neither has it.
  function recordOf(id, job) {
    const r = job && job.record;
    if (r && typeof r === "object") return r;
    return state.history.find((j) => jobID(j) === id) || null;
  }

  function field(label, value, name) {
    return [el("dt", null, label), el("dd", { dataset: name ? { field: name } : null }, value)];
  }

  function pre(text, cls) {
    return el("pre", { class: cls || null, tabindex: "0" }, text == null ? "" : String(text));
  }

  function renderDetail() {
    const job = state.selectedJob || {};
    const id = state.selected;
    const res = resultOf(job);
    const status = pick(job, "status") || "unknown";
    // A finished job may still be in the last queue snapshot (the API asks
    // for one every second): its result wins.
    const phase = status === "done" ? "" : phaseOf(id);
    const q = [...state.running, ...state.waiting].find((x) => jobID(x) === id);
    const parts = [];

    const meta = state.meta.get(id) || {};
    const dl = el("dl", { class: "facts" },
      field("Status", el("span", { class: "badge phase-" + String(status).replace(/[^a-z_-]/gi, "") }, status), "status"));
    // A finished job's history record (the API's answer holds it for
    // jobs it did not submit; the list read from the history for others)
    // says what the queue no longer does: course, task, times.
    const rec = recordOf(id, job) || {};
    const task = taskOf(job) || taskOf(rec) || meta.task;
    const launcher = pick(job, "launcher") || pick(rec, "launcher") || meta.launcher;
    const env = meta.env || envOf(rec);
    if (task) dl.append(...field("Task", task, "task"));
    if (env) dl.append(...field("Environment", env, "environment"));
    if (launcher) dl.append(...field("Launcher", launcher, "launcher"));
    if (pick(rec, "user")) dl.append(...field("User", String(pick(rec, "user")), "user"));
    const submitted = toMillis(pick(job, "submitted_at")) || toMillis(pick(rec, "submitted_at"));
    const started = toMillis(pick(job, "started_at")) || toMillis(pick(rec, "started_at"));
    const ended = toMillis(pick(rec, "finished_at"));
    if (submitted) dl.append(...field("Submitted", when(submitted), "submitted"));
    if (started) dl.append(...field("Started", when(started) + (submitted ? ` (waited ${seconds(span(submitted, started))})` : ""), "started"));
    if (ended) dl.append(...field("Finished", when(ended) + (started ? ` (ran ${seconds(span(started, ended))})` : ""), "finished"));
    const agent = pick(job, "agent") || pick(rec, "agent");
    if (phase !== "running" && agent) {
      dl.append(...field("Agent", String(agent), "agent"), ...field("Attempt", str(pick(job, "attempt") ?? pick(rec, "attempts")), "attempt"));
    }
    if (phase === "running" && q) {
      dl.append(...field("Agent", str(pick(q, "agent") || pick(q, "agent_id"))),
        ...field("Attempt", str(pick(q, "attempt"))),
        ...field("Elapsed", el("span", { dataset: { tick: "elapsed" } }, duration(elapsedOf(q)))));
    } else if (phase === "waiting" && q) {
      dl.append(...field("Position", str(pick(q, "position"))),
        ...field("Why it waits", why(q)),
        ...field("Waiting for", el("span", { dataset: { tick: "waited" } }, duration(waitedOf(q)))));
    }
    if (res) {
      dl.append(...field("Result", statusBadge(res.status)),
        ...field("Grade", grade(res.grade), "grade"));
      if (res.state) dl.append(...field("State", String(res.state)));
      const used = usageText(res.usage);
      if (used) dl.append(...field("Used", used, "usage"));
      const st = res.usage && typeof res.usage === "object" ? res.usage.students : null;
      if (st && typeof st === "object") {
        const n = Number(st.containers) || 0;
        const more = usageText(st);
        dl.append(...field("Student containers", n + (more ? " — " + more : ""), "usage-students"));
      }
    }
    parts.push(dl);

    if (status !== "done" && (phase || status === "queued" || status === "running")) {
      parts.push(el("p", { class: "detail-actions" }, killButton(id, q && pick(q, "killing"))));
    }

    const ssh = state.selectedSSH;
    if (ssh && status !== "done") {
      parts.push(el("p", { class: "ssh" }, "SSH: ",
        el("code", null, `ssh -p ${str(pick(ssh, "port"))} ${str(pick(ssh, "user"))}@${str(pick(ssh, "host"))}`),
        " password ", el("code", null, str(pick(ssh, "password")))));
    }

    if (res) {
      parts.push(el("h3", null, "Feedback"), pre(res.text || "", "feedback"));
      const probs = res.problems;
      const rows = [];
      if (Array.isArray(probs)) {
        for (const p of probs) rows.push([pick(p, "id", "pid", "problem"), p]);
      } else if (probs && typeof probs === "object") {
        for (const [k, v] of Object.entries(probs)) rows.push([k, v]);
      }
      if (rows.length) {
        rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
        parts.push(el("h3", null, "Problems"), el("table", { class: "problems" },
          el("thead", null, el("tr", null, el("th", { scope: "col" }, "Problem"), el("th", { scope: "col" }, "Result"), el("th", { scope: "col" }, "Feedback"))),
          el("tbody", null, rows.map(([pid, p]) => {
            const r = p && typeof p === "object" ? p : { status: p };
            const inner = r.result && typeof r.result === "object" ? r.result : r;
            return el("tr", null, el("th", { scope: "row" }, str(pid)),
              el("td", null, statusBadgePlain(pick(inner, "status"))),
              el("td", null, el("div", { class: "pre-text" }, String(pick(inner, "text") ?? ""))));
          }))));
      }
      for (const [name, v] of [["Tests", res.tests], ["Custom values", res.custom]]) {
        if (v && typeof v === "object" && Object.keys(v).length) {
          parts.push(el("details", null, el("summary", null, name), pre(JSON.stringify(v, null, 2))));
        }
      }
      if (res.stdout) parts.push(el("details", { open: true }, el("summary", null, "stdout"), pre(res.stdout, "out")));
      if (res.stderr) parts.push(el("details", { open: true }, el("summary", null, "stderr"), pre(res.stderr, "out")));
      if (res.archive) parts.push(archiveLink(id, res.archive));
    } else if (status === "done") {
      parts.push(el("p", { class: "muted" }, "Finished, but no result was kept."));
    }
    $("#detail-body").replaceChildren(...parts);
  }

  function statusBadgePlain(s) {
    return el("span", { class: "badge " + String(s || "").replace(/[^a-z_-]/gi, "") }, str(s));
  }

  // archiveLink offers the result's archive (base64 in JSON) as a download.
  function archiveLink(id, archive) {
    if (state.archiveURL) { URL.revokeObjectURL(state.archiveURL); state.archiveURL = null; }
    if (typeof archive !== "string") return el("p", null, "An archive was returned.");
    try {
      const bin = atob(archive);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      state.archiveURL = URL.createObjectURL(new Blob([bytes], { type: "application/gzip" }));
      return el("p", null, el("a", { href: state.archiveURL, download: id + ".tgz" }, `Download archive (${bytes.length} bytes)`));
    } catch (e) {
      return el("p", null, "An archive was returned.");
    }
  }

  // ---- kill ----

  // askKill shows "Kill? Yes / No" in place of the job's Kill buttons (its
  // row and its detail) and moves the focus to No, the safe answer.
  function askKill(id, from) {
    state.confirmKill = id;
    redrawKill(from, "kill-no", id);
  }
  function cancelKill(from) {
    const id = state.confirmKill;
    state.confirmKill = null;
    redrawKill(from, "kill", id);
  }
  // redrawKill redraws where Kill buttons are and focuses the button of
  // action in the section the click came from.
  function redrawKill(from, action, id) {
    const section = from && from.closest("section");
    renderQueue();
    if (state.selectedJob) renderDetail();
    const sel = `button[data-action="${action}"][data-job="${CSS.escape(id || "")}"]`;
    const b = (section && section.querySelector(sel)) || document.querySelector(sel);
    if (b) b.focus();
  }

  async function kill(id) {
    state.confirmKill = null;
    state.killSent.add(id);
    redrawKill(null, "kill", id);
    const r = await api("DELETE", "/jobs/" + enc(id));
    if (r.ok) {
      notice(`Kill sent for job ${id}.`, "info");
    } else {
      notice(`Could not kill job ${id}: ${r.error || r.status}`, "error");
      state.killSent.delete(id);
      redrawKill(null, "kill", id);
    }
  }

  // ---- submit a job ----

  // parseAnswers reads one problem=value per line (blank lines skipped)
  // into the job's inputs. The value is everything after the first "=",
  // as it is; a problem given on several lines gets a list of strings.
  // It returns {inputs} or {error, line}.
  function parseAnswers(text) {
    const inputs = new Map();
    const lines = String(text).split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].replace(/\r$/, "");
      if (!line.trim()) continue;
      const eq = line.indexOf("=");
      const quoted = JSON.stringify(line.length > 40 ? line.slice(0, 40) + "…" : line);
      if (eq < 0) return { line: i + 1, error: `Line ${i + 1} (${quoted}) has no "=": write one problem=value per line.` };
      const key = line.slice(0, eq).trim();
      if (!key) return { line: i + 1, error: `Line ${i + 1} (${quoted}) has no problem id before "=".` };
      const value = line.slice(eq + 1);
      if (!inputs.has(key)) inputs.set(key, value);
      else if (key.startsWith("@")) return { line: i + 1, error: `Line ${i + 1}: ${key} is given twice.` };
      else if (Array.isArray(inputs.get(key))) inputs.get(key).push(value);
      else inputs.set(key, [inputs.get(key), value]);
    }
    return { inputs: Object.fromEntries(inputs) };
  }

  function submitError(text, input) {
    const e = $("#submit-error");
    for (const f of document.querySelectorAll("#submit-form [aria-invalid]")) f.removeAttribute("aria-invalid");
    if (!text) {
      e.hidden = true;
      e.textContent = "";
      return;
    }
    e.textContent = text;
    e.hidden = false;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  let submitting = false;
  async function submitJob(ev) {
    ev.preventDefault();
    if (submitting) return;
    submitError(null);
    const fileInput = $("#submit-task");
    const file = fileInput.files && fileInput.files[0];
    if (!file) return submitError("Choose the task folder's archive (.tar.gz, .tgz, .tar or .zip).", fileInput);
    const answers = $("#submit-answers");
    const parsed = parseAnswers(answers.value);
    if (parsed.error) return submitError(parsed.error, answers);

    const job = { inputs: parsed.inputs, launcher: "dashboard" };
    const task = file.name.replace(/\.(tar\.gz|tgz|tar|zip)$/i, "");
    if (task && task !== file.name) job.task_id = task;
    const envType = $("#submit-env-type").value.trim(), env = $("#submit-env").value.trim();
    if (envType) job.environment_type = envType;
    if (env) job.environment = env;
    const prio = $("#submit-priority");
    if (prio.validity.badInput || (prio.value.trim() !== "" && !Number.isSafeInteger(Number(prio.value)))) {
      return submitError("Priority must be a whole number (lower runs first).", prio);
    }
    if (prio.value.trim() !== "") job.priority = Number(prio.value);

    const body = new FormData();
    body.append("job", JSON.stringify(job));
    body.append("task", file, file.name);
    const btn = $("#submit-button");
    submitting = true;
    btn.disabled = true;
    btn.textContent = "Submitting…";
    let r;
    try {
      r = await api("POST", "/jobs", body);
    } finally {
      submitting = false;
      btn.disabled = false;
      btn.textContent = "Submit";
    }
    const id = r.ok ? pick(r.body, "job_id") : null;
    if (!id) {
      submitError(r.ok ? "The API accepted the job but did not say its id." :
        `The job was not submitted: ${r.error || r.status}`);
      return;
    }
    notice(`Job ${id} submitted.`, "info");
    state.mine.set(String(id), { task: task || "", launcher: "dashboard" });
    showJob(String(id));
  }

  // ---- wiring ----

  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (!b) return;
    const id = b.dataset.job;
    switch (b.dataset.action) {
      case "show": showJob(id); break;
      case "kill": askKill(id, b); break;
      case "kill-yes": kill(id); break;
      case "kill-no": cancelKill(b); break;
      case "close-detail": closeJob(); break;
    }
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && state.confirmKill) cancelKill(document.activeElement);
  });
  $("#courses-window").addEventListener("change", () => loadSummary());
  $("#lookup").addEventListener("submit", (ev) => {
    ev.preventDefault();
    showJob($("#lookup-id").value);
  });
  $("#submit-form").addEventListener("submit", submitJob);
  $("#submit-answers").addEventListener("input", () => {
    if ($("#submit-answers").getAttribute("aria-invalid")) submitError(null);
  });
  $("#forget-token").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenButton();
    const q = queueSource;
    queueSource = null;
    if (q) q.close();
    setConn("offline");
    notice("API token forgotten.", "info");
  });
  $("#set-token").addEventListener("click", async () => {
    if (await askToken("")) start();
  });
  window.addEventListener("hashchange", () => {
    const m = /^#job=(.+)$/.exec(location.hash);
    if (m && decodeURIComponent(m[1]) !== state.selected) showJob(decodeURIComponent(m[1]));
  });

  // start connects once there is a token: the page asks for one first.
  function start() {
    connectQueue();
    loadHistory();
    loadSummary();
    const m = /^#job=(.+)$/.exec(location.hash);
    if (m && decodeURIComponent(m[1]) !== state.selected) showJob(decodeURIComponent(m[1]));
  }

  showTokenButton();
  renderQueue();
  renderAgents();
  renderRecent();
  renderCourses();
  setInterval(tick, 1000);
  (async () => {
    if (token() || await askToken("")) start();
    else setConn("offline");
  })();
})();

// semroute playground: routes what you type through POST /v1/route and
// edits intents through the intents API, on this page's own origin only.
// Keys live in memory; localStorage holds them only when "remember" is
// ticked. Text from the service or the user is set with textContent only.
"use strict";

(function () {
  const STORE = "semroute.playground.keys";
  const DEBOUNCE_MS = 250;
  const $ = (id) => document.getElementById(id);

  const state = {
    info: null,      // GET /playground/info
    keys: { client: "", admin: "" },
    seq: 0,          // the latest route request; older answers are dropped
    timer: 0,
    decision: null,  // the last decision shown
    intents: [],
  };

  const REASONS = {
    matched_out_of_scope: () => "it is nearer the out-of-scope examples than any intent",
    below_threshold: (d) => `the best intent${best(d)} has confidence ${fmt(d.score)}, under its threshold ${fmt(d.threshold)}`,
    below_margin: (d) => `the best intent${best(d)} leads the runner-up by only ${fmt(d.margin)}` +
      (state.info ? `, less than the margin ${fmt(state.info.margin)} it needs` : ""),
    below_similarity: (d) => `its nearest utterance is only ${fmt(d.similarity)} similar` +
      (state.info ? `, under min_similarity ${fmt(state.info.min_similarity)}` : ""),
    no_words: () => "it has no word the router knows",
    judged_out_of_scope: () => "the routing judge found no intent that fits",
  };

  function best(d) {
    const a = d.alternatives && d.alternatives[0];
    return a ? ` (${a.intent})` : "";
  }

  function fmt(x) {
    return typeof x === "number" ? x.toFixed(3) : "–";
  }

  function kb(n) {
    return (n / 1000).toFixed(1) + " kB";
  }

  // say puts a message in a box: kind is "", "hint", "ok" or "error".
  function say(id, text, kind) {
    const box = $(id);
    box.textContent = text || "";
    box.className = "msg" + (kind ? " " + kind : "");
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function targetText(t) {
    if (!t) return "";
    const list = (v) => (Array.isArray(v) ? v.join(", ") : v);
    if (t.model) return "model: " + list(t.model);
    if (t.rag) return "rag: " + t.rag;
    if (t.moderation) return "moderation: " + t.moderation;
    if (t.handoff) return "handoff: " + t.handoff;
    if (t.cascade) return "cascade: " + list(t.cascade);
    return "";
  }

  // call sends a JSON request to this origin. It never throws: it returns
  // {ok, status, body, problem}, where problem is a sentence for the page.
  async function call(method, path, body, keyKind) {
    const headers = { "Accept": "application/json" };
    const key = keyKind === "admin" ? state.keys.admin : (state.keys.client || state.keys.admin);
    if (key) headers["Authorization"] = "Bearer " + key;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let resp;
    try {
      resp = await fetch(path, { method, headers, body, credentials: "omit", cache: "no-store" });
    } catch (e) {
      return { ok: false, status: 0, problem: "Could not reach semroute at this address: is `semroute serve` still running?" };
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (resp.ok) return { ok: true, status: resp.status, body: data };
    return { ok: false, status: resp.status, body: data, problem: problem(resp.status, data, keyKind, key) };
  }

  function problem(status, data, keyKind, key) {
    const said = data && data.error && data.error.message ? data.error.message : "no explanation in the answer";
    const who = keyKind === "admin" ? "admin key" : "client key";
    switch (true) {
      case status === 401 && !key:
        return `This service needs a ${who}: type it under Keys. (401: ${said})`;
      case status === 401:
        return `The ${who} was refused: it is not one of the service's keys. (401: ${said})`;
      case status === 403:
        return `Not allowed with this key. (403: ${said})`;
      case status === 413:
        return `The prompt is too large for this service. (413: ${said})`;
      case status === 400:
        return `The service refused the request. (400: ${said})`;
      case status === 404:
        return `Not found. (404: ${said})`;
      case status === 429:
        return `Too many requests; wait and try again. (429: ${said})`;
      case status === 503:
        return `The service is not ready or a store is down. (503: ${said})`;
      case status >= 500:
        return `The service failed on this request (${status}: ${said}); its log says more.`;
      default:
        return `Unexpected answer ${status}: ${said}`;
    }
  }

  // ---- routing ------------------------------------------------------------

  function schedule() {
    clearTimeout(state.timer);
    showSize();
    state.timer = setTimeout(routeNow, DEBOUNCE_MS);
  }

  function showSize() {
    const text = $("prompt").value;
    const words = text.split(/\s+/).filter(Boolean).length;
    let s = text ? `${text.length.toLocaleString("en")} characters, ${words.toLocaleString("en")} words` : "";
    const cap = state.info && state.info.max_words;
    if (cap && words > cap) s += ` — routed on its first and last ${cap / 2} words (routing.max_words ${cap})`;
    $("prompt-size").textContent = s;
  }

  // routeNow routes the prompt and shows the decision; it returns it (or
  // null) so that the add flow can compare.
  async function routeNow() {
    clearTimeout(state.timer);
    const text = $("prompt").value;
    const seq = ++state.seq;
    if (text.trim() === "") {
      hideDecision();
      say("message", "Type a prompt above: it is routed as you type. (An empty prompt is not sent.)", "hint");
      return null;
    }
    const body = JSON.stringify({ input: text });
    const size = new TextEncoder().encode(body).length;
    const limit = state.info && state.info.max_body_bytes;
    if (limit && size > limit) {
      hideDecision();
      say("message", `This prompt is ${kb(size)} as a request, over this service's limit of ${kb(limit)} ` +
        "(server.max_body_bytes). Nothing was sent: shorten it.", "error");
      return null;
    }
    say("message", "routing…", "");
    const r = await call("POST", "/v1/route", body, "client");
    if (seq !== state.seq) return null; // a newer prompt is on its way
    if (!r.ok) {
      hideDecision();
      say("message", r.problem, "error");
      return null;
    }
    say("message", "", "");
    showDecision(r.body);
    return r.body;
  }

  function hideDecision() {
    state.decision = null;
    $("decision").hidden = true;
  }

  function showDecision(d) {
    state.decision = d;
    $("decision").hidden = false;
    const intent = $("d-intent");
    intent.textContent = d.fallback ? "fallback" : d.intent;
    intent.className = d.fallback ? "intent fallback" : "intent";
    $("d-target").textContent = "→ " + targetText(d.target);
    $("d-by").textContent = d.decided_by === "judge" ? "decided by the judge" : "decided by the embeddings";
    const why = d.fallback ? (REASONS[d.reason] || (() => d.reason || "no reason given"))(d) : "";
    $("d-reason").textContent = d.fallback ? "Fell back: " + why + "." : "";
    $("d-reason").className = d.fallback ? "reason" : "";
    $("d-score").textContent = fmt(d.score);
    $("d-threshold").textContent = fmt(d.threshold);
    $("d-bar").style.width = pct(d.score);
    $("d-bar").className = "fill" + (d.score >= d.threshold ? " pass" : " under");
    $("d-mark").style.left = pct(d.threshold);
    $("d-margin").textContent = fmt(d.margin) + needs("margin");
    $("d-matched").textContent = d.matched_utterance ? `“${d.matched_utterance}”` : "–";
    $("d-similarity").textContent = fmt(d.similarity) + needs("min_similarity");
    $("d-decided").textContent = decidedText(d);
    $("d-latency").textContent = typeof d.latency_us === "number" ? `${Math.round(d.latency_us)} µs` : "–";
    showAlternatives(d.alternatives || []);
  }

  // needs names the cut-off a figure is held to, when there is one.
  function needs(field) {
    const v = state.info && state.info[field];
    return v > 0 ? ` (needs ${fmt(v)})` : "";
  }

  function decidedText(d) {
    if (!d.judge) return d.decided_by || "embedding";
    const j = d.judge;
    const pick = j.intent ? `chose ${j.intent}` : "chose none";
    return `${d.decided_by}: judge ${j.model} ${pick}` + (j.error ? ` (${j.error})` : "") + (j.cache ? `, from cache (${j.cache})` : "");
  }

  function pct(x) {
    return Math.max(0, Math.min(1, x || 0)) * 100 + "%";
  }

  function showAlternatives(alts) {
    const list = $("d-alts");
    list.replaceChildren();
    if (alts.length === 0) list.append(el("li", "muted", "none"));
    for (const a of alts) {
      const li = el("li", "bar-row");
      li.append(el("span", "bar-name", a.intent));
      const track = el("span", "bar-track");
      const fill = el("span", "bar-fill");
      fill.style.width = pct(a.score);
      track.append(fill);
      li.append(track, el("span", "bar-value", fmt(a.score)));
      list.append(li);
    }
  }

  // ---- intents --------------------------------------------------------------

  async function loadIntents() {
    const list = $("intent-list");
    if (!state.keys.admin) {
      list.replaceChildren();
      fillSelect([]);
      const why = state.info && !state.info.admin_key ?
        "This service has no admin key (server.api_keys with scope admin), so its intents API is closed." :
        "Type the admin key under Keys to list the intents and add utterances.";
      say("intents-message", why, "hint");
      return false;
    }
    const r = await call("GET", "/v1/intents", undefined, "admin");
    if (!r.ok) {
      list.replaceChildren();
      fillSelect([]);
      say("intents-message", r.problem, "error");
      say("key-message", r.problem, "error");
      return false;
    }
    state.intents = (r.body && r.body.data) || [];
    say("intents-message", `${state.intents.length} intents`, "");
    say("key-message", "The admin key works.", "ok");
    list.replaceChildren(...state.intents.map(intentCard));
    fillSelect(state.intents);
    return true;
  }

  function intentCard(it) {
    const box = el("details", "intent-card");
    box.dataset.intent = it.name;
    const sum = el("summary");
    sum.append(el("b", "", it.name), el("span", "muted", ` → ${targetText(it.target)} · ${it.utterances.length} utterances`));
    box.append(sum);
    const ul = el("ul", "utterances");
    for (const u of it.utterances) ul.append(el("li", "", u));
    box.append(ul);
    return box;
  }

  function fillSelect(list) {
    const sel = $("add-intent");
    const keep = sel.value;
    sel.replaceChildren();
    if (list.length === 0) {
      sel.append(new Option("(enter the admin key to list intents)", ""));
      return;
    }
    sel.append(new Option("choose an intent…", ""));
    for (const it of list) sel.append(new Option(it.name, it.name));
    if (list.some((it) => it.name === keep)) sel.value = keep;
  }

  async function addUtterance() {
    const text = $("prompt").value;
    const name = $("add-intent").value;
    if (!state.keys.admin) return say("add-message", "Type the admin key under Keys first.", "error");
    if (text.trim() === "") return say("add-message", "Type the prompt to add first.", "error");
    if (!name) return say("add-message", "Choose the intent the prompt belongs to.", "error");
    const before = state.decision;
    say("add-message", `adding to ${name}…`, "");
    const r = await call("POST", "/v1/intents/" + encodeURIComponent(name) + "/utterances",
      JSON.stringify({ utterances: [text] }), "admin");
    if (!r.ok) return say("add-message", r.problem, "error");
    await loadIntents();
    const after = await routeNow();
    const was = before ? (before.fallback ? "fallback" : before.intent) : "no decision";
    const now = after ? (after.fallback ? "fallback" : after.intent) : "no decision";
    say("add-message", `Added to ${name}. The decision was ${was}; now it is ${now}.`, now === name ? "ok" : "hint");
  }

  // ---- keys -------------------------------------------------------------------

  function readKeys() {
    state.keys.client = $("client-key").value.trim();
    state.keys.admin = $("admin-key").value.trim();
    if ($("remember").checked) {
      localStorage.setItem(STORE, JSON.stringify(state.keys));
    } else {
      localStorage.removeItem(STORE);
    }
  }

  function restoreKeys() {
    let saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(STORE) || "null");
    } catch (e) {
      localStorage.removeItem(STORE);
    }
    if (!saved) return;
    $("client-key").value = saved.client || "";
    $("admin-key").value = saved.admin || "";
    $("remember").checked = true;
    state.keys.client = saved.client || "";
    state.keys.admin = saved.admin || "";
  }

  // keysChanged applies the typed keys: on the button, or when a field
  // loses focus with another key in it.
  async function keysChanged(ev) {
    const before = state.keys.client + "\n" + state.keys.admin;
    readKeys();
    if (ev && ev.type === "change" && before === state.keys.client + "\n" + state.keys.admin) return;
    say("key-message", "", "");
    await loadIntents();
    if ($("prompt").value.trim() !== "") await routeNow();
  }

  // ---- the eval report --------------------------------------------------------

  function showReport(info) {
    const msg = $("report-message");
    if (!info.reports_dir) {
      msg.textContent = "No report is published: set server.playground.reports_dir to the folder `semroute eval --out DIR` writes.";
      return;
    }
    if (!info.report) {
      msg.textContent = "No report.html in server.playground.reports_dir yet: run `semroute eval --out DIR` with that folder, then reload.";
      return;
    }
    msg.textContent = `report.html, written ${new Date(info.report.modified).toLocaleString()}.`;
    $("report-link").hidden = false;
    const frame = $("report-frame");
    frame.src = info.report.url;
    frame.hidden = false;
  }

  // ---- start --------------------------------------------------------------------

  async function start() {
    restoreKeys();
    $("prompt").addEventListener("input", schedule);
    $("add").addEventListener("click", addUtterance);
    for (const id of ["client-key", "admin-key"]) $(id).addEventListener("change", keysChanged);
    $("use-keys").addEventListener("click", keysChanged);
    $("remember").addEventListener("change", readKeys);
    const r = await call("GET", "/playground/info", undefined, "client");
    if (!r.ok) {
      $("status").textContent = "not ready";
      say("message", r.problem + " Reload the page to try again.", "error");
      return;
    }
    state.info = r.body;
    $("status").textContent = `connected · scorer ${state.info.scorer}` + (state.info.judge ? " · judge on" : "");
    $("client-row").hidden = !state.info.client_key;
    showReport(state.info);
    await loadIntents();
    if ($("prompt").value.trim() !== "") {
      await routeNow();
    } else {
      say("message", "Type a prompt above: it is routed as you type.", "hint");
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();

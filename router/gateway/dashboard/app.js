// semroute cost dashboard: draws GET /v1/spend as SVG built here by hand
// (no chart library, nothing fetched from elsewhere). The admin key lives
// in memory; localStorage holds it only when "remember" is ticked. Text
// from the service is set with textContent only.
"use strict";

(function () {
  const STORE = "semroute.dashboard.key";
  const SVG = "http://www.w3.org/2000/svg";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const $ = (id) => document.getElementById(id);

  const state = { key: "", report: null, seq: 0 };

  // ---- formatting ---------------------------------------------------------

  // usd writes dollars with the digits small amounts need: $1,234,
  // $12.50, $0.0018 (at least two decimals, three significant digits).
  function usd(v) {
    const a = Math.abs(v);
    let s;
    if (a >= 1000) {
      s = Math.round(a).toLocaleString("en-US");
    } else if (a >= 1 || a === 0) {
      s = a.toFixed(2);
    } else {
      const decimals = Math.min(8, 2 - Math.floor(Math.log10(a)));
      s = a.toFixed(decimals).replace(/0+$/, "");
      if (s.split(".")[1].length < 2) s = a.toFixed(2);
    }
    return (v < 0 ? "−$" : "$") + s;
  }

  // day writes "2026-12-11" as "Dec 11".
  function day(d) {
    return MONTHS[Number(d.slice(5, 7)) - 1] + " " + Number(d.slice(8, 10));
  }

  // when writes an RFC 3339 time as "Dec 11 15:00 UTC".
  function when(iso) {
    const t = new Date(iso);
    const hh = String(t.getUTCHours()).padStart(2, "0"), mm = String(t.getUTCMinutes()).padStart(2, "0");
    return `${MONTHS[t.getUTCMonth()]} ${t.getUTCDate()} ${hh}:${mm} UTC`;
  }

  function say(id, text, kind) {
    const box = $(id);
    box.textContent = text || "";
    box.className = "msg wide" + (kind ? " " + kind : "");
  }

  // ---- SVG ----------------------------------------------------------------

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function titled(e, text) {
    e.appendChild(svg("title", {}, text));
    return e;
  }

  function canvas(host, w, h, label) {
    host.replaceChildren();
    const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label });
    host.appendChild(root);
    return root;
  }

  function empty(host, text) {
    host.replaceChildren();
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = text;
    host.appendChild(p);
  }

  // scale picks round ticks (1, 2 or 5 × a power of ten) covering lo..hi,
  // lo ≤ 0 ≤ hi.
  function scale(lo, hi) {
    if (hi - lo <= 0) hi = lo + 1;
    const raw = (hi - lo) / 4;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const n = raw / mag;
    const step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
    const first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
    const ticks = [];
    for (let i = first; i <= last; i++) ticks.push(i * step);
    return { lo: first * step, hi: last * step, ticks };
  }

  // columns draws one column a day, each stacked from series (positive
  // parts up from zero, negative down), with a USD axis.
  function columns(host, days, series, label) {
    const W = 1200, H = 260, L = 78, R = 12, T = 16, B = 34;
    const up = days.map((d) => series.reduce((s, x) => s + Math.max(0, x.values[d] || 0), 0));
    const down = days.map((d) => series.reduce((s, x) => s + Math.min(0, x.values[d] || 0), 0));
    const sc = scale(Math.min(0, ...down), Math.max(0, ...up));
    const root = canvas(host, W, H, label);
    const y = (v) => T + (H - T - B) * (sc.hi - v) / (sc.hi - sc.lo);
    for (const t of sc.ticks) {
      root.appendChild(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(t), y2: y(t) }));
      root.appendChild(svg("text", { class: "tick", x: L - 6, y: y(t) + 4, "text-anchor": "end" }, usd(t)));
    }
    root.appendChild(svg("line", { class: "axis", x1: L, x2: W - R, y1: y(0), y2: y(0) }));
    root.appendChild(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
    const slot = (W - L - R) / days.length, bw = Math.max(2, slot * 0.7);
    const every = Math.ceil(days.length / 15);
    const labelled = days.filter((d, i) => up[i] - down[i] > 0).length <= 15;
    days.forEach((d, i) => {
      const x = L + slot * i + (slot - bw) / 2;
      let top = 0, bottom = 0;
      for (const s of series) {
        const v = s.values[d] || 0;
        if (v === 0) continue;
        const from = v > 0 ? top : bottom, to = from + v;
        if (v > 0) top = to; else bottom = to;
        root.appendChild(titled(svg("rect", {
          class: "bar " + s.cls, x, width: bw, y: y(Math.max(from, to)), height: Math.max(1, Math.abs(y(from) - y(to))),
          "data-day": d, "data-series": s.name, "data-value": v,
        }), `${day(d)} · ${s.name}: ${usd(v)}`));
      }
      if (labelled && top + bottom !== 0) {
        root.appendChild(svg("text", { class: "value", x: x + bw / 2, y: y(top) - 4, "text-anchor": "middle" }, usd(top + bottom)));
      }
      if ((days.length - 1 - i) % every === 0) { // today always labelled
        root.appendChild(svg("text", { class: "tick", x: x + bw / 2, y: H - B + 16, "text-anchor": "middle" }, day(d)));
      }
    });
  }

  // bars draws one horizontal bar per id, largest first (ten at most, the
  // rest summed as "other"), with its amount in USD.
  function bars(host, totals, label, what) {
    let rows = Object.entries(totals).filter(([, v]) => v !== 0).sort((a, b) => b[1] - a[1]);
    if (rows.length === 0) return empty(host, `No spend by ${what} in these days.`);
    if (rows.length > 10) {
      const rest = rows.slice(9);
      rows = rows.slice(0, 9).concat([[`other (${rest.length})`, rest.reduce((s, r) => s + r[1], 0)]]);
    }
    const W = 600, L = 150, R = 80, T = 6, RH = 28, B = 26;
    const H = T + rows.length * RH + B;
    const sc = scale(0, Math.max(...rows.map((r) => r[1])));
    const x = (v) => L + (W - L - R) * v / sc.hi;
    const root = canvas(host, W, H, label);
    for (const t of sc.ticks) {
      root.appendChild(svg("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - B }));
      root.appendChild(svg("text", { class: "tick", x: x(t), y: H - B + 16, "text-anchor": "middle" }, usd(t)));
    }
    rows.forEach(([id, v], i) => {
      const yy = T + i * RH;
      const name = id.length > 22 ? id.slice(0, 21) + "…" : id;
      root.appendChild(titled(svg("text", { class: "label", x: L - 8, y: yy + RH / 2 + 4, "text-anchor": "end" }, name), id));
      root.appendChild(titled(svg("rect", { class: "bar", x: L, y: yy + 5, width: Math.max(1, x(v) - L), height: RH - 10,
        "data-label": id, "data-value": v }), `${id}: ${usd(v)}`));
      root.appendChild(svg("text", { class: "value", x: x(v) + 6, y: yy + RH / 2 + 4 }, usd(v)));
    });
    root.appendChild(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  }

  // budgetChart draws each budget's window: spent (solid), projected to
  // the window's end (pale), and the limit (a black mark).
  function budgetChart(host, budgets) {
    if (!budgets || budgets.length === 0) return empty(host, "No budgets are configured (budgets: in the config).");
    const W = 1200, L = 250, R = 130, RH = 64;
    const root = canvas(host, W, budgets.length * RH + 8, "budgets against their limits");
    budgets.forEach((b, i) => {
      const top = 6 + i * RH;
      const over = b.spent_usd >= b.limit_usd || b.reaches_limit_at !== null;
      const hi = Math.max(b.limit_usd, b.projected_usd, b.spent_usd) * 1.05 || 1;
      const x = (v) => L + (W - L - R) * v / hi;
      const g = svg("g", { class: "budget", "data-name": b.name });
      g.appendChild(svg("text", { class: "label", x: L - 10, y: top + 17, "text-anchor": "end", "font-weight": 600 }, b.name));
      g.appendChild(svg("text", { class: "tick", x: L - 10, y: top + 33, "text-anchor": "end" },
        `${b.scope}${b.id ? " " + b.id : ""}, ${b.window}`));
      g.appendChild(svg("rect", { class: "track", x: L, y: top + 6, width: W - L - R, height: 20 }));
      g.appendChild(titled(svg("rect", { class: "projected" + (over ? " over" : ""), x: L, y: top + 6, width: Math.max(0, x(b.projected_usd) - L), height: 20,
        "data-value": b.projected_usd }), `projected by ${when(b.resets_at)}: ${usd(b.projected_usd)}`));
      g.appendChild(titled(svg("rect", { class: "spent" + (over ? " over" : ""), x: L, y: top + 6, width: Math.max(0, x(b.spent_usd) - L), height: 20,
        "data-value": b.spent_usd }), `spent: ${usd(b.spent_usd)}`));
      g.appendChild(titled(svg("line", { class: "limit", x1: x(b.limit_usd), x2: x(b.limit_usd), y1: top, y2: top + 32,
        "data-value": b.limit_usd }), `limit: ${usd(b.limit_usd)}`));
      g.appendChild(svg("text", { class: "value", x: W - R + 8, y: top + 21 }, "limit " + usd(b.limit_usd)));
      const pct = b.limit_usd > 0 ? ` (${Math.round(100 * b.spent_usd / b.limit_usd)} %)` : "";
      let note = `spent ${usd(b.spent_usd)} of ${usd(b.limit_usd)}${pct} since ${when(b.window_start)} · ` +
        `projected ${usd(b.projected_usd)} by ${when(b.resets_at)}`;
      if (b.spent_usd >= b.limit_usd) note += " · at its limit: requests it covers get 429 until the window resets";
      else if (b.reaches_limit_at) note += ` · reaches its limit ${when(b.reaches_limit_at)}`;
      else note += " · stays under its limit";
      g.appendChild(svg("text", { class: "note" + (over ? " over" : ""), x: L, y: top + 46 }, note));
      root.appendChild(g);
    });
  }

  // ---- the report ---------------------------------------------------------

  // lastDays lists the n UTC days that end with the server's today.
  function lastDays(now, n) {
    const end = Date.UTC(Number(now.slice(0, 4)), Number(now.slice(5, 7)) - 1, Number(now.slice(8, 10)));
    const out = [];
    for (let i = n - 1; i >= 0; i--) out.push(new Date(end - i * 86400000).toISOString().slice(0, 10));
    return out;
  }

  // sum adds one dimension's amounts by id over days.
  function sum(report, days, dim) {
    const out = {};
    for (const d of days) {
      const ids = (report.days[d] || {})[dim] || {};
      for (const [id, v] of Object.entries(ids)) out[id] = (out[id] || 0) + v;
    }
    return out;
  }

  function byDay(report, days, dim, id) {
    const out = {};
    for (const d of days) out[d] = ((report.days[d] || {})[dim] || {})[id] || 0;
    return out;
  }

  function draw() {
    const r = state.report;
    if (!r) return;
    const days = lastDays(r.now, Number($("range").value));
    const spent = sum(r, days, "global").total || 0;
    const saved = sum(r, days, "saved");
    $("sum-spent").textContent = usd(spent);
    $("sum-range").textContent = `${day(days[0])} – ${day(days[days.length - 1])}`;
    $("sum-today").textContent = usd(((r.days[days[days.length - 1]] || {}).global || {}).total || 0);
    $("sum-now").textContent = "as of " + when(r.now);
    $("sum-cache").textContent = usd(saved.cache || 0);
    $("sum-cascade").textContent = usd(saved.cascade || 0);
    if (!r.recording) {
      say("notice", "This service records no spend: spend is booked only when budgets or teams are configured " +
        "(budgets: or teams: in its config; each booking is an fsync of the ledger). The charts stay empty until then.", "hint");
    } else if (Object.keys(r.days).length === 0) {
      say("notice", "No spend is booked yet: the charts fill as requests are answered.", "hint");
    } else {
      say("notice", "");
    }
    columns($("chart-days"), days, [{ name: "spent", cls: "", values: byDay(r, days, "global", "total") }], "spend by day in USD");
    columns($("chart-saved"), days, [
      { name: "cache", cls: "cache", values: byDay(r, days, "saved", "cache") },
      { name: "cascade", cls: "cascade", values: byDay(r, days, "saved", "cascade") },
    ], "savings by day in USD");
    bars($("chart-model"), sum(r, days, "model"), "spend by model in USD", "model");
    bars($("chart-intent"), sum(r, days, "intent"), "spend by intent in USD", "intent");
    bars($("chart-key"), sum(r, days, "key"), "spend by API key in USD", "key");
    bars($("chart-team"), sum(r, days, "team"), "spend by team in USD", "team");
    budgetChart($("budgets"), r.budgets);
    $("rule").textContent = "Projection: " + r.projection_rule + ".";
    $("totals").hidden = false;
    document.querySelectorAll("main > section.card").forEach((s) => { s.hidden = false; });
  }

  function problem(status, data) {
    const said = data && data.error && data.error.message ? data.error.message : "no explanation in the answer";
    switch (true) {
      case status === 401 && !state.key:
        return `This service needs the admin key: type it above. (401: ${said})`;
      case status === 401:
        return `The admin key was refused: it is not one of the service's keys. (401: ${said})`;
      case status === 403:
        return `This key may not read the spend: the dashboard needs a key with scope admin. (403: ${said})`;
      case status === 503:
        return `The service is not ready or its spend ledger is down. (503: ${said})`;
      default:
        return `Unexpected answer ${status}: ${said}`;
    }
  }

  async function load() {
    const seq = ++state.seq;
    const headers = { "Accept": "application/json" };
    if (state.key) headers["Authorization"] = "Bearer " + state.key;
    $("status").textContent = "loading…";
    let resp, data = null;
    try {
      resp = await fetch("/v1/spend", { headers, credentials: "omit", cache: "no-store" });
      data = await resp.json().catch(() => null);
    } catch (e) {
      if (seq !== state.seq) return;
      $("status").textContent = "not connected";
      say("message", "Could not reach semroute at this address: is `semroute serve` still running?", "error");
      return;
    }
    if (seq !== state.seq) return;
    if (!resp.ok) {
      $("status").textContent = "not shown";
      say("message", problem(resp.status, data), "error");
      return;
    }
    say("message", "");
    $("status").textContent = "connected";
    state.report = data;
    draw();
  }

  function start() {
    const kept = localStorage.getItem(STORE);
    if (kept) {
      state.key = kept;
      $("admin-key").value = kept;
      $("remember").checked = true;
      load();
    }
    $("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      state.key = $("admin-key").value.trim();
      if ($("remember").checked && state.key) localStorage.setItem(STORE, state.key);
      else localStorage.removeItem(STORE);
      load();
    });
    $("range").addEventListener("change", draw);
  }

  start();
})();

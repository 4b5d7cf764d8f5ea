/* somnomyo review page.
 *
 * Uses only the JSON API documented in docs/review.md (the same one a script can use). Plain
 * canvas drawing (min/max columns from GET /api/signal), no library, no network beyond the
 * server that served this page. Every text that comes from a file (channel labels, annotation
 * texts) is inserted with textContent or drawn with fillText, never parsed as HTML.
 *
 * For the benchmark: window.somnomyoReview.latencies holds, for each key press that moved the
 * epoch view, the milliseconds from the key event to the end of the draw (performance.now()).
 */
"use strict";

(function () {
  const KINDS = ["leg_movement", "fragmentary_myoclonus", "myoclonic_jerk", "hypnic_jerk",
    "jerk_cluster", "negative_myoclonus", "phasic_emg"];
  const KIND_ABBR = { leg_movement: "LM", fragmentary_myoclonus: "FM", myoclonic_jerk: "MJ",
    hypnic_jerk: "HJ", jerk_cluster: "JC", negative_myoclonus: "NM", phasic_emg: "PE" };
  const KIND_COLOR = { leg_movement: "#1f5fbf", fragmentary_myoclonus: "#c2410c",
    myoclonic_jerk: "#7e22ce", hypnic_jerk: "#0f766e", jerk_cluster: "#a16207",
    negative_myoclonus: "#475569", phasic_emg: "#be185d" };
  const STAGES = ["W", "R", "N1", "N2", "N3"];            // hypnogram rows, top to bottom
  const STAGE_COLOR = { W: "#f6d365", R: "#f4a6a6", N1: "#b8e3f0", N2: "#7fb2e5", N3: "#3d6fb3", UNS: "#dddddd" };
  const ROLE_ORDER = ["eeg", "eog", "chin", "arm_left", "arm_right", "leg_left", "leg_right", "legs",
    "other_emg", "ecg", "respiratory", "position", "other"];
  // default half-row height in the channel's unit (µV for EMG/EEG), chosen as on a paper PSG
  const ROLE_SCALE = { eeg: 70, eog: 150, chin: 50, arm_left: 50, arm_right: 50, leg_left: 50,
    leg_right: 50, legs: 50, other_emg: 50, ecg: 1000 };
  const SCALE_STEPS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100,
    150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, 10000, 20000, 50000];
  const WINDOWS = [10, 30, 60, 120, 300];
  const LIST_ROW = 20;
  const TOP_STRIP = 46;       // px above the channels: epoch stages, PLM series, arousals, respiratory
  const AXIS_H = 20;          // px for the clock-time axis below the channels
  const EDGE_PX = 5;          // an event edge grabbed within this many pixels
  const CACHE_MAX = 16;

  const $ = (id) => document.getElementById(id);
  const state = {
    token: "", ov: null, channels: [], byLabel: new Map(), shown: [], scale: new Map(),
    events: [], byId: new Map(), maxDur: 0, start: 0, dur: 30, selected: null,
    cache: new Map(), nav: 0, data: null, dataKey: "", layout: null, spans: [], drag: null,
    pending: 0, editChain: Promise.resolve(), lastSaved: null, failed: null,
    listRows: [], headline: null, fullReload: 0, lastStart: 0,
  };
  const perf = { latencies: [], drawMs: [], draws: 0, saves: 0, lastLatency: null, ready: false, p95: p95 };
  window.somnomyoReview = perf;

  function p95() {
    const a = perf.latencies.slice().sort((x, y) => x - y);
    return a.length ? a[Math.min(a.length - 1, Math.floor(0.95 * (a.length - 1) + 0.5))] : null;
  }

  // ---------------------------------------------------------------- API
  async function api(method, path, body) {
    const init = { method: method, headers: { Authorization: "Bearer " + state.token } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new Error("the review server does not answer (" + e.message + ")");
    }
    let payload = null;
    const text = await res.text();
    if (text) {
      try { payload = JSON.parse(text); } catch (e) { payload = { error: text.slice(0, 200) }; }
    }
    if (!res.ok) {
      const msg = payload && payload.error ? payload.error : res.statusText;
      const err = new Error(res.status + ": " + msg);
      err.status = res.status;
      throw err;
    }
    return payload;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (Array.isArray(v)) v.forEach((x) => q.append(k, x)); else if (v !== undefined && v !== null) q.append(k, v);
    }
    return q.toString();
  }

  // ---------------------------------------------------------------- formatting
  function clockBase() {
    const s = state.ov && state.ov.recording && state.ov.recording.start;
    const m = s ? /T(\d\d):(\d\d):(\d\d(?:\.\d+)?)/.exec(s) : null;
    return m ? (+m[1]) * 3600 + (+m[2]) * 60 + (+m[3]) : null;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(t, withFrac) {
    const base = clockBase();
    let x = base === null ? t : base + t;
    let sign = "";
    if (base === null) { sign = "+"; } else { x = ((x % 86400) + 86400) % 86400; }
    const h = Math.floor(x / 3600), m = Math.floor((x % 3600) / 60), s = x % 60;
    const sec = withFrac ? s.toFixed(1).padStart(4, "0") : pad(Math.floor(s + 1e-6));
    return sign + pad(h) + ":" + pad(m) + ":" + sec;
  }
  function fmtNum(v, key) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v !== "number") return String(v);
    if (/count$/.test(key || "")) return String(Math.round(v));
    if (/periodicity/.test(key || "")) return v.toFixed(2);
    return v.toFixed(1);
  }
  function unitText(u) { return u === "uV" ? "µV" : String(u || ""); }
  function stageAt(t) {
    const h = state.ov && state.ov.hypnogram;
    if (!h || !h.stages || !h.stages.length) return "UNS";
    const i = Math.floor(t / h.epoch_s);
    return h.stages[Math.max(0, Math.min(h.stages.length - 1, i))] || "UNS";
  }
  function showError(msg) {
    const el = $("error");
    el.textContent = msg;
    el.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => { el.hidden = true; }, 8000);
  }

  // ---------------------------------------------------------------- events store
  function setEvents(list) {
    state.events = list;
    state.byId = new Map(list.map((e) => [e.id, e]));
    state.maxDur = list.reduce((m, e) => Math.max(m, e.duration || 0), 0);
    sortEvents();
  }
  function sortEvents() {
    state.events.sort((a, b) => (a.onset - b.onset) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  function mergeEvents(list, removedIds) {
    for (const e of list) {
      const old = state.byId.get(e.id);
      if (old) Object.assign(old, e); else { state.events.push(e); state.byId.set(e.id, e); }
      state.maxDur = Math.max(state.maxDur, e.duration || 0);
    }
    for (const id of removedIds || []) {
      if (state.byId.has(id)) {
        state.byId.delete(id);
        state.events = state.events.filter((e) => e.id !== id);
        if (state.selected === id) state.selected = null;
      }
    }
    sortEvents();
  }
  function lowerBound(t) {       // first index whose onset >= t
    let lo = 0, hi = state.events.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (state.events[mid].onset < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function eventsIn(t0, t1) {
    const out = [];
    for (let i = lowerBound(t0 - state.maxDur); i < state.events.length; i++) {
      const e = state.events[i];
      if (e.onset >= t1) break;
      if (e.onset + e.duration > t0) out.push(e);
    }
    return out;
  }
  function channelsOf(e) { return String(e.channel || "").split(",").map((s) => s.trim()).filter(Boolean); }

  // ---------------------------------------------------------------- loading
  async function loadOverview() {
    const ov = await api("GET", "/api/overview");
    state.ov = ov;
    return ov;
  }
  async function loadEvents() {
    setEvents(await api("GET", "/api/events"));
  }
  async function loadHeadline() {
    state.headline = await api("GET", "/api/headline");
    renderHeadline();
  }
  function scheduleFullReload() {
    clearTimeout(state.fullReload);
    state.fullReload = setTimeout(async () => {
      if (state.pending) { scheduleFullReload(); return; }
      try {
        const [events, ov] = await Promise.all([api("GET", "/api/events"), api("GET", "/api/overview")]);
        if (state.pending) { scheduleFullReload(); return; }
        const sel = state.selected;
        setEvents(events);
        state.ov = ov;
        if (sel && !state.byId.has(sel)) state.selected = null;
        refreshList();
        drawOverview();
        drawEpoch();
      } catch (e) { showError("Could not refresh the event list: " + e.message); }
    }, 1500);
  }

  // ---------------------------------------------------------------- signal windows
  function plotWidth() { return Math.max(16, Math.floor($("epoch").getBoundingClientRect().width)); }
  function signalKey(start, dur, width, chans) { return start + "|" + dur + "|" + width + "|" + chans.join("\u0001"); }
  function fetchSignal(start, dur) {
    const width = plotWidth();
    const chans = state.shown.slice();
    const key = signalKey(start, dur, width, chans);
    let hit = state.cache.get(key);
    if (!hit) {
      const q = query({ start: start, duration: dur, width: width, channels: chans });
      hit = api("GET", "/api/signal?" + q);
      hit.catch(() => state.cache.delete(key));
      state.cache.set(key, hit);
      while (state.cache.size > CACHE_MAX) state.cache.delete(state.cache.keys().next().value);
    } else {       // LRU: move to the end
      state.cache.delete(key);
      state.cache.set(key, hit);
    }
    return { key: key, promise: hit };
  }
  function clampStart(s) {
    const d = state.ov ? state.ov.recording.duration_s : 0;
    const last = Math.max(0, Math.ceil(d / state.dur - 1e-9) * state.dur - state.dur);
    return Math.max(0, Math.min(last, s));
  }
  async function navigate(start, t0) {
    state.start = clampStart(start);
    const nav = ++state.nav;
    renderToolbar();
    drawOverview();
    if (!state.shown.length) { state.data = null; drawEpoch(); return; }
    const { key, promise } = fetchSignal(state.start, state.dur);
    $("loading").hidden = false;
    let data;
    try { data = await promise; } catch (e) {
      if (nav === state.nav) { $("loading").hidden = true; showError("Could not read the signal: " + e.message); }
      return;
    }
    if (nav !== state.nav) return;          // a later key press wins
    $("loading").hidden = true;
    state.data = data;
    state.dataKey = key;
    drawEpoch();
    if (t0 !== undefined) {
      const ms = performance.now() - t0;
      perf.latencies.push(ms);
      perf.lastLatency = ms;
      $("latency").textContent = "key → drawn " + ms.toFixed(0) + " ms (p95 " + p95().toFixed(0) + ")";
    }
    refreshListSelection();
    prefetchAround();
  }
  // Prefetch, one request at a time (the server reads one window at a time, so a key press is never
  // queued behind many), the pages a key press can open next: the neighbours in the direction of
  // travel and the pages of the next and previous event that j / k would jump to.
  let prefetchQueue = [];
  let prefetching = false;
  function prefetchAround() {
    const dir = state.start >= state.lastStart ? 1 : -1;
    state.lastStart = state.start;
    const starts = [];
    const cur = state.selected && state.byId.get(state.selected);
    const from = cur && cur.onset >= state.start - state.maxDur && cur.onset < state.start + state.dur ? cur : null;
    for (const d of [dir, -dir]) {
      const e = findNext(from, d);
      if (e && (e.onset < state.start || e.onset >= state.start + state.dur)) starts.push(Math.floor(e.onset / state.dur) * state.dur);
    }
    for (const k of [dir, -dir, 2 * dir]) starts.push(state.start + k * state.dur);
    prefetchQueue = [];
    for (const s0 of starts) {
      const s = clampStart(s0);
      if (s !== state.start && prefetchQueue.indexOf(s) < 0) prefetchQueue.push(s);
    }
    if (!prefetching) runPrefetch();
  }
  async function runPrefetch() {
    prefetching = true;
    try {
      while (prefetchQueue.length) {
        const s = prefetchQueue.shift();
        try { await fetchSignal(s, state.dur).promise; } catch (e) { /* shown when that page is opened */ }
      }
    } finally { prefetching = false; }
  }
  function page(k, t0) { navigate(state.start + k * state.dur, t0); }
  function openAt(t, t0) {                   // the page (aligned to the window length) holding t
    navigate(Math.floor(t / state.dur) * state.dur, t0);
  }

  // ---------------------------------------------------------------- epoch view
  function layoutEpoch() {
    const cv = $("epoch");
    const wrap = $("epoch-wrap");
    const w = Math.max(16, Math.floor(cv.getBoundingClientRect().width));
    const h = Math.max(120, Math.floor(wrap.getBoundingClientRect().height));
    const n = Math.max(1, state.shown.length);
    const rowH = (h - TOP_STRIP - AXIS_H) / n;
    const dpr = window.devicePixelRatio || 1;
    if (cv.width !== Math.round(w * dpr) || cv.height !== Math.round(h * dpr)) {
      cv.width = Math.round(w * dpr);
      cv.height = Math.round(h * dpr);
      cv.style.height = h + "px";
    }
    state.layout = { w: w, h: h, rowH: rowH, dpr: dpr };
    renderLabels();
    return state.layout;
  }
  function rowTop(i) { return TOP_STRIP + i * state.layout.rowH; }
  function xOf(t) { return (t - state.start) / state.dur * state.layout.w; }
  function tOf(x) { return state.start + x / state.layout.w * state.dur; }
  function rowAt(y) {
    const i = Math.floor((y - TOP_STRIP) / state.layout.rowH);
    return i >= 0 && i < state.shown.length ? i : -1;
  }
  function scaleOf(label) {
    let s = state.scale.get(label);
    if (s === undefined) {
      const ch = state.byLabel.get(label);
      s = ch && ROLE_SCALE[ch.role] !== undefined && (ch.unit || "").toLowerCase().indexOf("v") >= 0 ? ROLE_SCALE[ch.role] : null;
      state.scale.set(label, s);
    }
    return s;
  }
  function autoScale(label, ch) {
    const vals = ch.mode === "raw" ? ch.y : ch.max;
    const lo = ch.mode === "raw" ? ch.y : ch.min;
    const a = [];
    for (let i = 0; i < vals.length; i++) {
      if (vals[i] !== null) a.push(Math.abs(vals[i]));
      if (lo[i] !== null) a.push(Math.abs(lo[i]));
    }
    a.sort((x, y) => x - y);
    const q = a.length ? a[Math.floor(0.98 * (a.length - 1))] : 1;
    const s = SCALE_STEPS.find((v) => v >= q * 1.1) || SCALE_STEPS[SCALE_STEPS.length - 1];
    state.scale.set(label, s);
    return s;
  }
  function stepScale(label, dir) {
    const s = scaleOf(label) || 50;
    let i = SCALE_STEPS.findIndex((v) => v >= s - 1e-12);
    if (i < 0) i = SCALE_STEPS.length - 1;
    i = Math.max(0, Math.min(SCALE_STEPS.length - 1, i - dir));   // more gain = smaller range
    state.scale.set(label, SCALE_STEPS[i]);
  }

  function renderLabels() {
    const box = $("labels");
    box.replaceChildren();
    const rowH = state.layout.rowH;
    const head = document.createElement("div");
    head.className = "chan";
    head.style.top = "0px";
    head.style.height = TOP_STRIP + "px";
    head.style.borderTop = "none";
    const hs = document.createElement("span");
    hs.className = "scale";
    hs.textContent = "stage\nPLM series · arousal · respiratory";
    hs.style.whiteSpace = "pre-line";
    head.appendChild(hs);
    box.appendChild(head);
    state.shown.forEach((label, i) => {
      const ch = state.byLabel.get(label) || {};
      const d = document.createElement("div");
      d.className = "chan";
      d.style.top = rowTop(i) + "px";
      d.style.height = rowH + "px";
      d.dataset.channel = label;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = label;
      name.title = label + (ch.role ? " (" + ch.role + ")" : "");
      const sc = document.createElement("span");
      sc.className = "scale";
      const s = scaleOf(label);
      sc.textContent = s === null ? "auto" : "±" + s + " " + unitText(ch.unit);
      const g = document.createElement("span");
      g.className = "gain";
      const minus = document.createElement("button");
      minus.type = "button"; minus.textContent = "−"; minus.title = "less gain";
      const plus = document.createElement("button");
      plus.type = "button"; plus.textContent = "+"; plus.title = "more gain";
      minus.addEventListener("click", () => { stepScale(label, -1); renderLabels(); drawEpoch(); });
      plus.addEventListener("click", () => { stepScale(label, +1); renderLabels(); drawEpoch(); });
      g.append(minus, plus);
      d.append(name, sc, g);
      box.appendChild(d);
    });
  }

  function drawEpoch() {
    if (!state.ov) return;
    const tDraw = performance.now();
    const L = layoutEpoch();
    const cv = $("epoch");
    const ctx = cv.getContext("2d");
    ctx.setTransform(L.dpr, 0, 0, L.dpr, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, L.w, L.h);
    const t0 = state.start, t1 = state.start + state.dur;
    const chBottom = TOP_STRIP + state.shown.length * L.rowH;
    drawGrid(ctx, L, t0, t1, chBottom);
    drawTopStrip(ctx, L, t0, t1);
    // unscorable shading under the traces
    const uns = state.ov.unscorable || {};
    state.shown.forEach((label, i) => {
      for (const iv of uns[label] || []) {
        if (iv[0] + iv[1] <= t0 || iv[0] >= t1) continue;
        ctx.fillStyle = "rgba(120,120,120,0.16)";
        const x0 = Math.max(0, xOf(iv[0])), x1 = Math.min(L.w, xOf(iv[0] + iv[1]));
        ctx.fillRect(x0, rowTop(i), x1 - x0, L.rowH);
      }
    });
    // event spans (only those on screen), then traces over them
    const rowOf = new Map(state.shown.map((l, i) => [l, i]));
    state.spans = [];
    const visible = eventsIn(t0, t1);
    for (const e of visible) {
      for (const c of channelsOf(e)) {
        const i = rowOf.get(c);
        if (i === undefined) continue;
        let on = e.onset, off = e.onset + e.duration;
        if (state.drag && state.drag.mode === "edge" && state.drag.id === e.id) { on = state.drag.on; off = state.drag.off; }
        const x0 = xOf(on), x1 = Math.max(xOf(off), x0 + 1.5);
        state.spans.push({ id: e.id, row: i, x0: x0, x1: x1 });
        drawSpanFill(ctx, e, x0, x1, rowTop(i), L.rowH);
      }
    }
    const chData = new Map();
    if (state.data) for (const ch of state.data.channels || []) chData.set(ch.label, ch);
    state.shown.forEach((label, i) => {
      const ch = chData.get(label);
      if (!ch) return;
      let s = scaleOf(label);
      if (s === null) { s = autoScale(label, ch); renderLabels(); }
      drawTrace(ctx, ch, rowTop(i), L.rowH, s);
    });
    const labelEnd = new Map();      // per row: where the last label drawn ends (labels never overlap)
    for (const sp of state.spans) {
      const end = drawSpanLabel(ctx, state.byId.get(sp.id), sp, rowTop(sp.row), L.rowH, labelEnd.get(sp.row) || -1);
      if (end !== null) labelEnd.set(sp.row, end);
    }
    if (state.drag && state.drag.mode === "new") {
      const i = state.drag.row;
      const a = Math.min(state.drag.x0, state.drag.x1), b = Math.max(state.drag.x0, state.drag.x1);
      ctx.fillStyle = "rgba(31,95,191,0.18)";
      ctx.fillRect(a, rowTop(i), b - a, L.rowH);
      ctx.strokeStyle = "#1f5fbf"; ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5;
      ctx.strokeRect(a + 0.5, rowTop(i) + 0.5, b - a, L.rowH - 1);
      ctx.setLineDash([]);
    }
    // channel separators and the time axis
    ctx.strokeStyle = "#c9ced4"; ctx.lineWidth = 1;
    ctx.beginPath();
    for (let i = 0; i <= state.shown.length; i++) { const y = Math.round(rowTop(i)) + 0.5; ctx.moveTo(0, y); ctx.lineTo(L.w, y); }
    ctx.stroke();
    drawAxis(ctx, L, t0, t1, chBottom);
    perf.draws += 1;
    perf.drawMs.push(performance.now() - tDraw);
    if (perf.drawMs.length > 1000) perf.drawMs.shift();
    document.body.dataset.draws = String(perf.draws);
    document.body.dataset.windowStart = String(state.start);
    document.body.dataset.windowDuration = String(state.dur);
  }

  function tickStep(dur) {
    return dur <= 10 ? [1, 1] : dur <= 30 ? [1, 5] : dur <= 60 ? [1, 10] : dur <= 120 ? [5, 30] : [10, 60];
  }
  function drawGrid(ctx, L, t0, t1, bottom) {
    const [minor, major] = tickStep(state.dur);
    ctx.lineWidth = 1;
    for (let t = Math.ceil(t0 / minor) * minor; t <= t1; t += minor) {
      const x = Math.round(xOf(t)) + 0.5;
      const isEpoch = state.ov.hypnogram && Math.abs(t / state.ov.hypnogram.epoch_s - Math.round(t / state.ov.hypnogram.epoch_s)) < 1e-9;
      ctx.strokeStyle = isEpoch ? "#8b949e" : (Math.abs(t / major - Math.round(t / major)) < 1e-9 ? "#d5d9de" : "#eef0f2");
      ctx.beginPath(); ctx.moveTo(x, TOP_STRIP); ctx.lineTo(x, bottom); ctx.stroke();
    }
  }
  function drawAxis(ctx, L, t0, t1, y) {
    const major = tickStep(state.dur)[1];
    ctx.fillStyle = "#1b1f24"; ctx.strokeStyle = "#5b6470";
    ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "top";
    ctx.beginPath(); ctx.moveTo(0, y + 0.5); ctx.lineTo(L.w, y + 0.5); ctx.stroke();
    for (let t = Math.ceil(t0 / major) * major; t < t1 + 1e-9; t += major) {
      const x = xOf(t);
      ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, y); ctx.lineTo(Math.round(x) + 0.5, y + 4); ctx.stroke();
      const s = clock(t);
      const w = ctx.measureText(s).width;
      ctx.fillText(s, Math.max(0, Math.min(L.w - w, x - w / 2)), y + 5);
    }
  }
  function drawTopStrip(ctx, L, t0, t1) {
    const h = state.ov.hypnogram;
    ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
    if (h && h.stages) {     // one cell per scoring epoch, stage written in it
      for (let k = Math.floor(t0 / h.epoch_s); k * h.epoch_s < t1; k++) {
        const st = h.stages[k] || "UNS";
        const x0 = Math.max(0, xOf(k * h.epoch_s)), x1 = Math.min(L.w, xOf((k + 1) * h.epoch_s));
        ctx.fillStyle = STAGE_COLOR[st] || "#ddd";
        ctx.fillRect(x0, 1, x1 - x0 - 1, 14);
        ctx.fillStyle = st === "N3" ? "#ffffff" : "#1b1f24";
        if (x1 - x0 > 24) ctx.fillText(st, x0 + 4, 8);
      }
    }
    const lane = (k, color, items, label) => {
      const y = 17 + k * 9.5;
      ctx.fillStyle = "#8b949e"; ctx.fillRect(0, y + 4, L.w, 0.5);
      for (const it of items) {
        const a = it[0], b = it[1];
        if (b <= t0 || a >= t1) continue;
        const x0 = Math.max(0, xOf(a)), x1 = Math.min(L.w, Math.max(xOf(b), xOf(a) + 2));
        ctx.fillStyle = color; ctx.fillRect(x0, y, x1 - x0, 8);
        if (label && x1 - x0 > 40) {
          ctx.fillStyle = "#ffffff"; ctx.font = "9px system-ui, sans-serif";
          ctx.fillText(label(it), x0 + 3, y + 4.5);
          ctx.font = "11px system-ui, sans-serif";
        }
      }
    };
    lane(0, KIND_COLOR.leg_movement, (state.ov.plm_series || []).map((s) => [s.onset, s.end, s]), (it) => "PLM series " + it[2].series_id + " (" + it[2].n + ")");
    lane(1, "#b42318", (state.ov.arousals || []).map((a) => [a[0], a[0] + a[1]]), () => "arousal");
    lane(2, "#0e7490", (state.ov.respiratory || []).map((r) => [r[0], r[0] + r[1], r[2]]), (it) => String(it[2] || "respiratory"));
  }
  function drawTrace(ctx, ch, top, rowH, scale) {
    const mid = top + rowH / 2;
    const k = (rowH / 2) / scale;
    const dtPx = ch.dt / state.dur * state.layout.w;
    const x0 = xOf(ch.t0);
    ctx.save();
    ctx.beginPath(); ctx.rect(0, top, state.layout.w, rowH); ctx.clip();
    ctx.lineWidth = 1; ctx.strokeStyle = "#111418";
    ctx.beginPath();
    let pen = false;
    if (ch.mode === "raw") {
      const y = ch.y;
      for (let i = 0; i < y.length; i++) {
        if (y[i] === null) { pen = false; continue; }
        const px = x0 + i * dtPx, py = mid - y[i] * k;
        if (pen) ctx.lineTo(px, py); else { ctx.moveTo(px, py); pen = true; }
      }
    } else {          // min/max columns: one vertical stroke per pixel column, joined
      const lo = ch.min, hi = ch.max;
      for (let i = 0; i < lo.length; i++) {
        if (lo[i] === null || hi[i] === null) { pen = false; continue; }
        const px = x0 + (i + 0.5) * dtPx;
        const a = mid - hi[i] * k, b = mid - lo[i] * k;
        if (pen) ctx.lineTo(px, a); else { ctx.moveTo(px, a); pen = true; }
        ctx.lineTo(px, Math.max(b, a + 0.5));
      }
    }
    ctx.stroke();
    if (ch.lm) drawLm(ctx, ch, mid, k, x0, dtPx);
    ctx.restore();
  }
  function drawLm(ctx, ch, mid, k, x0, dtPx) {
    const off = ch.mode === "raw" ? 0 : 0.5;
    const line = (arr, color, dash, width) => {
      if (!arr || !arr.length) return;
      ctx.beginPath(); ctx.strokeStyle = color; ctx.setLineDash(dash); ctx.lineWidth = width;
      let pen = false;
      for (let i = 0; i < arr.length; i++) {
        if (arr[i] === null) { pen = false; continue; }
        const px = x0 + (i + off) * dtPx, py = mid - arr[i] * k;
        if (pen) ctx.lineTo(px, py); else { ctx.moveTo(px, py); pen = true; }
      }
      ctx.stroke(); ctx.setLineDash([]);
    };
    line(ch.lm.envelope, "rgba(14,116,144,0.75)", [], 1);
    line(ch.lm.baseline, "#5b6470", [6, 3], 1);
    line(ch.lm.offset_threshold, "#d97706", [2, 2], 1.2);
    line(ch.lm.onset_threshold, "#b42318", [5, 3], 1.2);
  }
  function drawSpanFill(ctx, e, x0, x1, top, rowH) {
    const color = KIND_COLOR[e.trial_type] || "#444";
    const rejected = e.status === "rejected";
    ctx.globalAlpha = rejected ? 0.10 : 0.17;
    ctx.fillStyle = rejected ? "#6b7280" : color;
    ctx.fillRect(x0, top + 1, x1 - x0, rowH - 2);
    ctx.globalAlpha = 1;
  }
  function drawSpanLabel(ctx, e, sp, top, rowH, freeFrom) {
    if (!e) return null;
    const color = e.status === "rejected" ? "#6b7280" : (KIND_COLOR[e.trial_type] || "#444");
    const sel = e.id === state.selected;
    ctx.strokeStyle = sel ? "#111418" : color;
    ctx.lineWidth = sel ? 2 : (e.status === "accepted" || e.status === "added" ? 1.5 : 1);
    ctx.setLineDash(e.status === "unreviewed" ? [4, 2] : e.status === "rejected" ? [2, 3] : []);
    ctx.strokeRect(sp.x0 + 0.5, top + 1.5, Math.max(1, sp.x1 - sp.x0 - 1), rowH - 3);
    ctx.setLineDash([]);
    if (sel) {          // edge handles
      ctx.fillStyle = "#111418";
      ctx.fillRect(sp.x0 - 2, top + rowH / 2 - 7, 4, 14);
      ctx.fillRect(sp.x1 - 2, top + rowH / 2 - 7, 4, 14);
    }
    const mark = { accepted: " ✓", rejected: " ✗", added: " +", unreviewed: "" }[e.status] || "";
    let text = (KIND_ABBR[e.trial_type] || e.trial_type) + mark;
    if (e.periodic && e.series_id !== null && e.series_id !== undefined) text += " PLM·S" + e.series_id;
    if (e.arousal) text += " ·A";
    if (e.respiratory) text += " ·R";
    ctx.font = "bold 10px system-ui, sans-serif"; ctx.textBaseline = "top";
    const w = ctx.measureText(text).width + 6;
    if (sp.x0 + 1 < freeFrom && !sel) return null;
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(sp.x0 + 1, top + 2, w, 13);
    ctx.fillStyle = color;
    ctx.fillText(text, sp.x0 + 4, top + 3);
    return sp.x0 + 1 + w;
  }

  // ---------------------------------------------------------------- overview
  function overviewRows() {
    const rows = [{ kind: "hyp", h: 56 }, { kind: "plm", h: 10, label: "PLM series" },
      { kind: "arousal", h: 10, label: "Arousals" }, { kind: "resp", h: 10, label: "Respiratory" }];
    const chans = [];
    for (const d of state.ov.density || []) if (chans.indexOf(d.channel) < 0) chans.push(d.channel);
    chans.sort((a, b) => roleRank(a) - roleRank(b));
    for (const c of chans) {
      const kinds = (state.ov.density || []).filter((d) => d.channel === c && d.counts.some((x) => x > 0));
      rows.push({ kind: "density", channel: c, label: c, series: kinds, h: Math.max(10, 6 * kinds.length) });
    }
    return rows;
  }
  function roleRank(label) {
    const ch = state.byLabel.get(label);
    const r = ch ? ROLE_ORDER.indexOf(ch.role) : -1;
    return r < 0 ? ROLE_ORDER.length : r;
  }
  const OV_GUTTER = 86;
  function drawOverview() {
    if (!state.ov) return;
    const cv = $("overview");
    const rows = overviewRows();
    const cssW = Math.max(200, Math.floor(cv.parentElement.getBoundingClientRect().width));
    const cssH = rows.reduce((s, r) => s + r.h + 2, 0) + 18;
    const dpr = window.devicePixelRatio || 1;
    if (cv.width !== Math.round(cssW * dpr) || cv.height !== Math.round(cssH * dpr)) {
      cv.width = Math.round(cssW * dpr); cv.height = Math.round(cssH * dpr); cv.style.height = cssH + "px";
    }
    const ctx = cv.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, cssW, cssH);
    const D = state.ov.recording.duration_s;
    const W = cssW - OV_GUTTER - 8;
    const X = (t) => OV_GUTTER + t / D * W;
    state.ovGeom = { X: X, W: W, D: D };
    ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
    let y = 2;
    const lights = state.ov.lights || {};
    for (const r of rows) {
      ctx.fillStyle = "#1b1f24";
      if (r.kind === "hyp") {
        const h = state.ov.hypnogram;
        const lh = r.h / STAGES.length;
        STAGES.forEach((s, i) => {
          ctx.fillStyle = "#5b6470"; ctx.fillText(s, OV_GUTTER - 22, y + lh * (i + 0.5));
          ctx.fillStyle = "#f0f1f3"; ctx.fillRect(OV_GUTTER, y + lh * (i + 0.5), W, 0.5);
        });
        if (h && h.stages && h.stages.length) {
          ctx.strokeStyle = "#1b1f24"; ctx.lineWidth = 1.2; ctx.beginPath();
          let pen = false;
          h.stages.forEach((s, k) => {
            const i = STAGES.indexOf(s);
            if (i < 0) { pen = false; return; }
            const yy = y + lh * (i + 0.5), xa = X(k * h.epoch_s), xb = X((k + 1) * h.epoch_s);
            if (pen) ctx.lineTo(xa, yy); else { ctx.moveTo(xa, yy); pen = true; }
            ctx.lineTo(xb, yy);
            if (s === "R") { ctx.stroke(); ctx.fillStyle = "#b42318"; ctx.fillRect(xa, yy - 2, xb - xa, 4); ctx.beginPath(); ctx.moveTo(xb, yy); }
          });
          ctx.stroke();
        } else {
          ctx.fillStyle = "#5b6470"; ctx.fillText("no hypnogram", OV_GUTTER + 6, y + r.h / 2);
        }
        ctx.fillStyle = "#1b1f24"; ctx.fillText("Stage", 4, y + r.h / 2);
      } else {
        ctx.fillText(r.label, 4, y + r.h / 2, OV_GUTTER - 8);
        ctx.fillStyle = "#f5f6f8"; ctx.fillRect(OV_GUTTER, y, W, r.h);
        if (r.kind === "plm") {
          ctx.fillStyle = KIND_COLOR.leg_movement;
          for (const s of state.ov.plm_series || []) ctx.fillRect(X(s.onset), y + 1, Math.max(1.5, X(s.end) - X(s.onset)), r.h - 2);
        } else if (r.kind === "arousal") {
          ctx.fillStyle = "#b42318";
          for (const a of state.ov.arousals || []) ctx.fillRect(X(a[0]), y + 1, Math.max(1, X(a[0] + a[1]) - X(a[0])), r.h - 2);
        } else if (r.kind === "resp") {
          ctx.fillStyle = "#0e7490";
          for (const a of state.ov.respiratory || []) ctx.fillRect(X(a[0]), y + 1, Math.max(1, X(a[0] + a[1]) - X(a[0])), r.h - 2);
        } else if (r.kind === "density") {
          const uns = (state.ov.unscorable || {})[r.channel] || [];
          ctx.fillStyle = "rgba(120,120,120,0.45)";
          for (const iv of uns) ctx.fillRect(X(iv[0]), y, Math.max(1, X(iv[0] + iv[1]) - X(iv[0])), r.h);
          const sh = r.h / Math.max(1, r.series.length);
          const bw = state.ov.bin_s / D * W;
          r.series.forEach((d, j) => {
            const nz = d.counts.filter((c) => c > 0).sort((a, b) => a - b);
            const q = nz.length ? Math.max(1, nz[Math.floor(0.9 * (nz.length - 1))]) : 1;
            ctx.fillStyle = KIND_COLOR[d.trial_type] || "#444";
            d.counts.forEach((c, b) => {
              if (!c) return;
              ctx.globalAlpha = Math.min(1, 0.25 + 0.75 * c / q);
              ctx.fillRect(X(b * state.ov.bin_s), y + j * sh, Math.max(1, bw), sh - 0.5);
            });
            ctx.globalAlpha = 1;
          });
        }
      }
      r.y = y;
      y += r.h + 2;
    }
    // lights off / on
    ctx.strokeStyle = "#9a6700"; ctx.lineWidth = 1.5;
    for (const t of [lights.off, lights.on]) {
      if (t === null || t === undefined) continue;
      ctx.beginPath(); ctx.moveTo(X(t), 0); ctx.lineTo(X(t), y); ctx.stroke();
    }
    // clock axis: hour ticks (or 10 min for a short night)
    const step = D > 4 * 3600 ? 3600 : D > 3600 ? 1800 : 600;
    const base = clockBase() || 0;
    ctx.fillStyle = "#1b1f24"; ctx.strokeStyle = "#5b6470"; ctx.lineWidth = 1; ctx.textBaseline = "top";
    ctx.beginPath(); ctx.moveTo(OV_GUTTER, y + 0.5); ctx.lineTo(OV_GUTTER + W, y + 0.5); ctx.stroke();
    for (let t = Math.ceil(base / step) * step - base; t <= D; t += step) {
      const x = X(t);
      ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x, y + 4); ctx.stroke();
      const s = clock(t).slice(0, 5);
      const w = ctx.measureText(s).width;
      ctx.fillText(s, Math.min(cssW - w, Math.max(OV_GUTTER, x - w / 2)), y + 5);
    }
    // the window shown below
    ctx.fillStyle = "rgba(31,95,191,0.22)"; ctx.strokeStyle = "#1f5fbf"; ctx.lineWidth = 1.5;
    const wx = X(state.start), ww = Math.max(2, X(state.start + state.dur) - wx);
    ctx.fillRect(wx, 0, ww, y); ctx.strokeRect(wx, 0.5, ww, y - 1);
  }

  // ---------------------------------------------------------------- indices, quality, layers
  function renderHeadline() {
    const hl = state.headline;
    const body = $("indices-table").tBodies[0];
    body.replaceChildren();
    if (!hl) return;
    for (const it of hl.indices || []) {
      const tr = document.createElement("tr");
      tr.dataset.key = it.key;
      const changed = JSON.stringify(it.automatic) !== JSON.stringify(it.reviewed);
      if (changed) tr.className = "changed";
      const cells = [it.label + (it.unit ? " (" + it.unit + ")" : ""), fmtNum(it.automatic, it.key), "→", fmtNum(it.reviewed, it.key)];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        td.textContent = c;
        td.className = ["name", "before", "arrow", "after"][i];
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    const c = hl.counts || {};
    $("counts").textContent = (c.accepted || 0) + " accepted · " + (c.rejected || 0) + " rejected · " +
      (c.added || 0) + " added · " + (c.adjusted || 0) + " adjusted · " + (c.unreviewed || 0) + " unreviewed";
  }
  function renderQuality() {
    const ul = $("quality");
    ul.replaceChildren();
    let flags = 0;
    const add = (text, flag) => {
      const li = document.createElement("li");
      li.textContent = text;
      if (flag) { li.className = "flag"; flags += 1; }
      ul.appendChild(li);
    };
    const q = (state.ov.quality || {}).channels || {};
    for (const [label, c] of Object.entries(q)) {
      const uns = c.unscorable_total_s || 0;
      const why = Object.entries(c.unscorable_s || {}).filter((kv) => kv[1] > 0).map((kv) => kv[0] + " " + Math.round(kv[1]) + " s");
      const frac = c.fraction_scorable === null || c.fraction_scorable === undefined ? "" : " · " + (100 * c.fraction_scorable).toFixed(1) + "% scorable";
      add(label + ": " + (uns > 0 ? Math.round(uns / 60 * 10) / 10 + " min unscorable (" + why.join(", ") + ")" : "scorable") + frac +
        (c.unit_warning ? " · " + c.unit_warning : ""), uns > 0 || !!c.unit_warning);
    }
    for (const w of state.ov.warnings || []) add(String(w), true);
    const badge = $("quality-badge");
    badge.textContent = flags ? "(" + flags + " flag" + (flags > 1 ? "s" : "") + ")" : "(no flags)";
    badge.className = flags ? "flag" : "";
  }
  async function loadLayers() {
    let layers = [];
    try { layers = await api("GET", "/api/layers"); } catch (e) { return; }
    const sel = $("agreement-layer");
    for (const l of layers) {
      if (l.current) {
        if (l.edits) setSaved("ok", l.edits + " edits saved");
        continue;
      }
      const o = document.createElement("option");
      o.value = l.slug;
      o.textContent = l.slug === "automatic" ? "automatic" : (l.scorer || l.slug) + " (" + (l.edits || 0) + " edits)";
      sel.appendChild(o);
    }
  }
  async function showAgreement() {
    const b = $("agreement-layer").value;
    const out = $("agreement");
    if (!b) { out.textContent = ""; return; }
    try {
      const a = await api("GET", "/api/agreement?" + query({ b: b }));
      const k = a.kappa === null || a.kappa === undefined ? "κ –" : "κ " + a.kappa.toFixed(2);
      const pct = a.percent_agreement === null || a.percent_agreement === undefined ? "–" : a.percent_agreement.toFixed(1) + "%";
      out.textContent = pct + " agree (" + k + ") on " + a.n_both_reviewed + " events reviewed by both";
    } catch (e) { out.textContent = "agreement: " + e.message; }
  }

  // ---------------------------------------------------------------- saved indicator + edits
  function setSaved(kind, text) {
    const el = $("saved");
    el.className = "saved " + kind;
    el.textContent = text;
    document.body.dataset.saved = kind;
  }
  function edit(run) {          // edits run one after another, in the order made
    state.pending += 1;
    setSaved("pending", "Saving…");
    const p = state.editChain.then(run).then((ok) => {
      state.pending -= 1;
      if (ok === false) { if (!state.pending) setSaved("idle", "Nothing to undo"); return; }
      state.lastSaved = new Date();
      state.failed = null;
      perf.saves += 1;
      document.body.dataset.saves = String(perf.saves);
      if (!state.pending) setSaved("ok", "Saved " + state.lastSaved.toTimeString().slice(0, 8));
      afterEdit();
    }, (e) => {
      state.pending -= 1;
      state.failed = e.message;
      setSaved("failed", "Not saved: " + e.message);
      showError("The edit was not saved: " + e.message);
    });
    state.editChain = p.catch(() => {});
    return p;
  }
  async function afterEdit() {
    drawEpoch();
    renderDetail();
    refreshList();
    try {      // the rescored neighbourhood (series ids, periodic flags) and the indices
      const pad = 600;
      const [near] = await Promise.all([
        api("GET", "/api/events?" + query({ start: Math.max(0, state.start - pad), end: state.start + state.dur + pad })),
        loadHeadline(),
      ]);
      mergeEvents(near);
      drawEpoch(); renderDetail(); refreshList();
    } catch (e) { showError("Could not refresh after the edit: " + e.message); }
    scheduleFullReload();
  }
  function patchEvent(id, body) {
    return edit(async () => {
      const e = await api("PATCH", "/api/events/" + encodeURIComponent(id), body);
      mergeEvents([e]);
    });
  }
  function setStatus(status) {
    const id = state.selected;
    if (!id) { showError("Select an event first (click it, or j / k)."); return; }
    patchEvent(id, { status: status });
    if ($("advance").checked && status !== "unreviewed") {
      const nxt = findNext(state.byId.get(id), +1);
      if (nxt) selectEvent(nxt.id, true);
    }
  }
  function undo() {
    edit(async () => {
      let r;
      try { r = await api("POST", "/api/undo", {}); } catch (e) {
        if (e.status === 409) return false;
        throw e;
      }
      const id = r.undone && r.undone.id;
      if (r.event) mergeEvents([r.event]); else if (id) mergeEvents([], [id]);
      const ev = r.event || (id && state.byId.get(id));
      if (ev) { state.selected = ev.id; if (ev.onset < state.start || ev.onset >= state.start + state.dur) openAt(ev.onset); }
      return true;
    });
  }
  function addEvent(channel, on, off) {
    const ch = state.byLabel.get(channel) || {};
    const kind = $("new-kind").value || (/^leg/.test(ch.role || "") ? "leg_movement" : "myoclonic_jerk");
    edit(async () => {
      const e = await api("POST", "/api/events", { onset: round3(on), duration: round3(off - on), trial_type: kind, channel: channel });
      mergeEvents([e]);
      state.selected = e.id;
    });
  }
  function round3(x) { return Math.round(x * 1000) / 1000; }

  // ---------------------------------------------------------------- selection, j/k
  function matchesJk(e) {
    const kind = $("jk-kind").value;
    if (kind && e.trial_type !== kind) return false;
    if ($("jk-unreviewed").checked && e.status !== "unreviewed") return false;
    return true;
  }
  function findNext(from, dir) {
    const ev = state.events;
    let i;
    if (from) i = ev.indexOf(from) + dir;
    else i = dir > 0 ? lowerBound(state.start) : lowerBound(state.start) - 1;
    for (; i >= 0 && i < ev.length; i += dir) if (matchesJk(ev[i])) return ev[i];
    return null;
  }
  function selectEvent(id, reveal, t0) {
    state.selected = id;
    const e = state.byId.get(id);
    renderDetail();
    refreshListSelection(true);
    if (e && reveal && (e.onset < state.start || e.onset >= state.start + state.dur)) openAt(e.onset, t0);
    else { drawEpoch(); prefetchAround(); }   // the next j / k page may now be another one
  }
  function renderDetail() {
    const e = state.selected && state.byId.get(state.selected);
    $("detail-empty").hidden = !!e;
    $("detail-fields").hidden = !e;
    $("detail-actions").hidden = !e;
    if (!e) return;
    const dl = $("detail-fields");
    dl.replaceChildren();
    const row = (k, v) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      dl.append(dt, dd);
    };
    row("time", clock(e.onset, true) + "  (" + e.onset.toFixed(2) + " s)");
    row("duration", e.duration.toFixed(2) + " s");
    row("kind", e.trial_type);
    row("channel", e.channel);
    row("stage", e.stage || "–");
    row("status", e.status + (e.adjusted ? ", adjusted" : "") + (e.origin === "added" && e.status !== "added" ? " (an added event)" : ""));
    if (e.trial_type === "leg_movement") {
      row("PLM", e.periodic ? "series " + e.series_id : "not periodic");
      row("CLM", e.clm_id === null || e.clm_id === undefined ? "–" : String(e.clm_id));
      row("respiratory", fmtNum(e.respiratory));
    }
    row("arousal", fmtNum(e.arousal));
    if (e.amplitude_uv !== null && e.amplitude_uv !== undefined) row("amplitude", e.amplitude_uv.toFixed(1) + " µV");
    if (e.confidence !== null && e.confidence !== undefined) row("confidence", fmtNum(e.confidence));
    if (e.automatic) row("automatic", e.automatic.trial_type + " " + clock(e.automatic.onset, true) + ", " + e.automatic.duration.toFixed(2) + " s");
    $("detail-kind").value = e.trial_type;
  }

  // ---------------------------------------------------------------- event list (virtualized)
  function listFilter() {
    const kind = $("f-kind").value, chan = $("f-channel").value, stage = $("f-stage").value, status = $("f-status").value;
    const conf = parseFloat($("f-conf").value);
    const confKey = state.hasConfidence ? "confidence" : "amplitude_uv";
    return (e) => (!kind || e.trial_type === kind) && (!chan || channelsOf(e).indexOf(chan) >= 0) &&
      (!stage || e.stage === stage) && (!status || e.status === status) &&
      (isNaN(conf) || (e[confKey] !== null && e[confKey] !== undefined && e[confKey] >= conf));
  }
  function refreshList() {
    const f = listFilter();
    state.listRows = state.events.filter(f);
    $("list-count").textContent = "(" + state.listRows.length + " of " + state.events.length + ")";
    $("list-spacer").style.height = state.listRows.length * LIST_ROW + "px";
    renderListRows();
  }
  const rowPool = [];
  function renderListRows() {
    const box = $("list");
    const first = Math.max(0, Math.floor(box.scrollTop / LIST_ROW) - 3);
    const n = Math.ceil(box.clientHeight / LIST_ROW) + 6;
    const last = Math.min(state.listRows.length, first + n);
    for (let k = last - first; k < rowPool.length; k++) { rowPool[k].hidden = true; delete rowPool[k].dataset.id; }
    for (let i = first, k = 0; i < last; i++, k++) {
      let r = rowPool[k];
      if (!r) {
        r = document.createElement("div");
        r.className = "row";
        for (let j = 0; j < 6; j++) r.appendChild(document.createElement("span"));
        r.addEventListener("click", () => { const id = r.dataset.id; if (id) selectEvent(id, true); $("epoch").focus(); });
        box.appendChild(r);
        rowPool.push(r);
      }
      const e = state.listRows[i];
      r.hidden = false;
      r.style.top = i * LIST_ROW + "px";
      r.dataset.id = e.id;
      r.classList.toggle("selected", e.id === state.selected);
      const c = r.children;
      c[0].textContent = clock(e.onset);
      c[1].textContent = e.trial_type;
      c[2].textContent = e.channel;
      c[3].textContent = e.stage || "";
      c[4].textContent = e.status + (e.adjusted ? "*" : "");
      c[4].className = "st-" + e.status;
      c[5].textContent = e.periodic ? "S" + e.series_id : "";
    }
  }
  function refreshListSelection(scroll) {
    if (scroll && state.selected) {
      const i = state.listRows.findIndex((e) => e.id === state.selected);
      const box = $("list");
      if (i >= 0 && (i * LIST_ROW < box.scrollTop || (i + 1) * LIST_ROW > box.scrollTop + box.clientHeight)) {
        box.scrollTop = Math.max(0, i * LIST_ROW - box.clientHeight / 2);
      }
    }
    renderListRows();
  }
  function fillSelect(sel, values, labelFn) {
    const keep = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const v of values) {
      const o = document.createElement("option");
      o.value = v; o.textContent = labelFn ? labelFn(v) : v;
      sel.appendChild(o);
    }
    sel.value = keep;
  }

  // ---------------------------------------------------------------- toolbar, channels dialog
  function renderToolbar() {
    $("window-time").textContent = clock(state.start) + " – " + clock(state.start + state.dur) +
      "  (epoch " + (Math.floor(state.start / ((state.ov.hypnogram && state.ov.hypnogram.epoch_s) || 30)) + 1) + ")";
    const st = stageAt(state.start);
    const b = $("window-stage");
    b.textContent = st;
    b.style.background = STAGE_COLOR[st] || "#ddd";
    b.style.color = st === "N3" ? "#fff" : "#1b1f24";
    $("window-size").value = String(state.dur);
  }
  function renderChannelDialog() {
    const box = $("channel-checks");
    box.replaceChildren();
    for (const ch of state.channels) {
      const l = document.createElement("label");
      const cb = document.createElement("input");
      cb.type = "checkbox";
      cb.checked = state.shown.indexOf(ch.label) >= 0;
      cb.addEventListener("change", () => {
        state.shown = state.channels.filter((c) => c.label === ch.label ? cb.checked : state.shown.indexOf(c.label) >= 0).map((c) => c.label);
        state.cache.clear();
        navigate(state.start);
      });
      const t = document.createElement("span");
      t.textContent = " " + ch.label + " (" + (ch.role || "?") + (ch.scored ? ", scored" : "") + ")";
      l.append(cb, t);
      box.appendChild(l);
    }
  }

  // ---------------------------------------------------------------- input
  function canvasXY(ev) {
    const r = $("epoch").getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }
  function hitSpan(x, y) {
    const row = rowAt(y);
    if (row < 0) return null;
    let best = null;
    for (const sp of state.spans) {
      if (sp.row !== row) continue;
      const nearOn = Math.abs(x - sp.x0) <= EDGE_PX, nearOff = Math.abs(x - sp.x1) <= EDGE_PX;
      const sel = sp.id === state.selected;
      if (nearOn || nearOff) {
        const side = nearOn && nearOff ? (Math.abs(x - sp.x0) < Math.abs(x - sp.x1) ? "on" : "off") : nearOn ? "on" : "off";
        const cand = { sp: sp, edge: side };
        if (!best || sel || !best.edge) best = cand;
      } else if (x > sp.x0 && x < sp.x1 && !best) best = { sp: sp, edge: null };
    }
    return best;
  }
  function onPointerDown(ev) {
    if (ev.button !== 0 || !state.layout) return;
    const [x, y] = canvasXY(ev);
    const row = rowAt(y);
    $("epoch").focus();
    const hit = hitSpan(x, y);
    if (hit && hit.edge) {
      const e = state.byId.get(hit.sp.id);
      state.selected = e.id;
      state.drag = { mode: "edge", id: e.id, side: hit.edge, on: e.onset, off: e.onset + e.duration, moved: false };
    } else if (hit) {
      selectEvent(hit.sp.id, false);
      return;
    } else if (row >= 0) {
      state.drag = { mode: "new", row: row, x0: x, x1: x };
    } else return;
    $("epoch").setPointerCapture(ev.pointerId);
    renderDetail();
    drawEpoch();
  }
  function onPointerMove(ev) {
    if (!state.layout) return;
    const [x, y] = canvasXY(ev);
    const d = state.drag;
    const cv = $("epoch");
    if (!d) {
      const hit = hitSpan(x, y);
      cv.style.cursor = hit && hit.edge ? "ew-resize" : hit ? "pointer" : rowAt(y) >= 0 ? "crosshair" : "default";
      return;
    }
    const t = Math.max(0, Math.min(state.ov.recording.duration_s, tOf(Math.max(0, Math.min(state.layout.w, x)))));
    const minDur = 0.02;
    if (d.mode === "edge") {
      if (d.side === "on") d.on = Math.min(t, d.off - minDur); else d.off = Math.max(t, d.on + minDur);
      d.moved = true;
    } else d.x1 = Math.max(0, Math.min(state.layout.w, x));
    drawEpoch();
  }
  function onPointerUp() {
    const d = state.drag;
    if (!d) return;
    state.drag = null;
    if (d.mode === "edge") {
      const e = state.byId.get(d.id);
      if (d.moved && e && (Math.abs(d.on - e.onset) > 1e-3 || Math.abs(d.off - e.onset - e.duration) > 1e-3)) {
        patchEvent(d.id, { onset: round3(d.on), duration: round3(d.off - d.on) });
      } else drawEpoch();
    } else {
      const a = Math.min(d.x0, d.x1), b = Math.max(d.x0, d.x1);
      if (b - a >= 3) addEvent(state.shown[d.row], tOf(a), tOf(b));
      else { state.selected = null; renderDetail(); refreshListSelection(); drawEpoch(); }
    }
  }
  function onKey(ev) {
    const tag = (ev.target && ev.target.tagName) || "";
    const typing = tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && ev.target.type !== "checkbox");
    if (typing && ev.key !== "Escape") return;
    if (ev.altKey || ev.metaKey) return;
    const t0 = ev.timeStamp || performance.now();
    const k = ev.key;
    let handled = true;
    if (ev.ctrlKey) {
      if (k === "z") undo(); else handled = false;
    } else if (k === "ArrowRight" || k === "PageDown") page(ev.shiftKey ? 0.5 : 1, t0);
    else if (k === "ArrowLeft" || k === "PageUp") page(ev.shiftKey ? -0.5 : -1, t0);
    else if (k === "Home") navigate(0, t0);
    else if (k === "End") navigate(1e12, t0);
    else if (k === "j" || k === "k") {
      const cur = state.selected && state.byId.get(state.selected);
      const from = cur && cur.onset >= state.start - state.maxDur && cur.onset < state.start + state.dur ? cur : null;
      const e = findNext(from, k === "j" ? 1 : -1);
      if (e) selectEvent(e.id, true, t0); else showError("No " + (k === "j" ? "next" : "previous") + " event matches the j/k filter.");
    } else if (k === "a") setStatus("accepted");
    else if (k === "r" || k === "Delete") setStatus("rejected");
    else if (k === "c") setStatus("unreviewed");
    else if (k === "u") undo();
    else if (k === "t") { if (state.selected) $("detail-kind").focus(); }
    else if (k >= "1" && k <= "5") setWindow(WINDOWS[+k - 1], t0);
    else if (k === "+" || k === "=") { state.shown.forEach((l) => stepScale(l, +1)); renderLabels(); drawEpoch(); }
    else if (k === "-") { state.shown.forEach((l) => stepScale(l, -1)); renderLabels(); drawEpoch(); }
    else if (k === "?") toggleHelp();
    else if (k === "Escape") {
      if (!$("help").hidden) toggleHelp(); else if (!$("channel-dialog").hidden) $("channel-dialog").hidden = true;
      else { state.selected = null; renderDetail(); refreshListSelection(); drawEpoch(); }
      if (typing) ev.target.blur();
    } else handled = false;
    if (handled) ev.preventDefault();
  }
  function toggleHelp() { $("help").hidden = !$("help").hidden; }
  function setWindow(d, t0) {
    const centre = state.selected && state.byId.get(state.selected) ? state.byId.get(state.selected).onset : state.start;
    state.dur = d;
    navigate(Math.floor(centre / d) * d, t0);
  }

  // ---------------------------------------------------------------- start
  async function main() {
    const params = new URLSearchParams(location.search);
    state.token = params.get("token") || "";
    if (!state.token) {
      showError("This page needs its access token: open the URL that `somnomyo review` printed (it ends in ?token=...).");
      return;
    }
    // The token stays in the address bar so that a reload works; Referrer-Policy no-referrer
    // keeps it from leaving the page.
    let ov;
    try {
      [ov] = await Promise.all([loadOverview(), loadEvents()]);
    } catch (e) {
      showError("Could not load the night: " + e.message);
      return;
    }
    state.channels = (ov.channels || []).slice().sort((a, b) => {
      const ra = ROLE_ORDER.indexOf(a.role), rb = ROLE_ORDER.indexOf(b.role);
      return (ra < 0 ? 99 : ra) - (rb < 0 ? 99 : rb);
    });
    state.byLabel = new Map(state.channels.map((c) => [c.label, c]));
    state.shown = state.channels.filter((c) => c.scored).map((c) => c.label);
    if (!state.shown.length) state.shown = state.channels.map((c) => c.label);
    state.hasConfidence = state.events.some((e) => e.confidence !== null && e.confidence !== undefined);
    if (state.hasConfidence) { $("f-conf").placeholder = "confidence"; $("f-conf").step = "0.05"; }
    $("scorer-name").textContent = (ov.scorer && ov.scorer.name) || "?";
    const rec = ov.recording || {};
    $("recording").title = String(rec.path || "");
    $("recording").textContent = String(rec.path || "").split(/[\\/]/).pop() + (rec.start ? " · " + rec.start.replace("T", " ") : "") +
      " · " + (rec.duration_s / 3600).toFixed(2) + " h · " + (ov.standard || "");
    document.title = "somnomyo review · " + String(rec.path || "").split(/[\\/]/).pop();
    if (ov.headline) { state.headline = ov.headline; renderHeadline(); } else loadHeadline();
    renderQuality();
    fillSelect($("jk-kind"), KINDS);
    const editable = ov.editable_kinds || KINDS;  // derived kinds (jerk clusters) are found by rescoring
    fillSelect($("new-kind"), editable);
    fillSelect($("f-kind"), KINDS);
    fillSelect($("f-channel"), state.channels.map((c) => c.label));
    fillSelect($("f-stage"), ["W", "N1", "N2", "N3", "R", "UNS"]);
    const dk = $("detail-kind");
    for (const k of editable) { const o = document.createElement("option"); o.value = k; o.textContent = k; dk.appendChild(o); }
    renderChannelDialog();
    wire();
    refreshList();
    layoutEpoch();
    drawOverview();
    await navigate(0);
    loadLayers();
    perf.ready = true;
    document.body.dataset.ready = "yes";
  }
  function wire() {
    document.addEventListener("keydown", onKey);
    const cv = $("epoch");
    cv.addEventListener("pointerdown", onPointerDown);
    cv.addEventListener("pointermove", onPointerMove);
    cv.addEventListener("pointerup", onPointerUp);
    cv.addEventListener("pointercancel", () => { state.drag = null; drawEpoch(); });
    $("overview").addEventListener("click", (ev) => {
      const g = state.ovGeom;
      if (!g) return;
      const x = ev.clientX - $("overview").getBoundingClientRect().left;
      const t = (x - g.X(0)) / g.W * g.D;
      if (t >= 0 && t <= g.D) openAt(t, performance.now());
    });
    $("prev").addEventListener("click", () => page(-1));
    $("next").addEventListener("click", () => page(1));
    $("window-size").addEventListener("change", () => { setWindow(+$("window-size").value); $("epoch").focus(); });
    $("accept").addEventListener("click", () => setStatus("accepted"));
    $("reject").addEventListener("click", () => setStatus("rejected"));
    $("clear").addEventListener("click", () => setStatus("unreviewed"));
    $("detail-kind").addEventListener("change", () => {
      const id = state.selected, e = id && state.byId.get(id);
      if (e && $("detail-kind").value !== e.trial_type) patchEvent(id, { trial_type: $("detail-kind").value });
      $("epoch").focus();
    });
    $("help-button").addEventListener("click", toggleHelp);
    $("help-close").addEventListener("click", toggleHelp);
    $("channels-button").addEventListener("click", () => { $("channel-dialog").hidden = !$("channel-dialog").hidden; });
    $("channel-close").addEventListener("click", () => { $("channel-dialog").hidden = true; });
    $("agreement-layer").addEventListener("change", showAgreement);
    for (const id of ["f-kind", "f-channel", "f-stage", "f-status", "f-conf"]) $(id).addEventListener("input", () => { $("list").scrollTop = 0; refreshList(); });
    $("list").addEventListener("scroll", renderListRows, { passive: true });
    let rt = 0;
    window.addEventListener("resize", () => { clearTimeout(rt); rt = setTimeout(() => { drawOverview(); navigate(state.start); refreshList(); }, 120); });
    window.addEventListener("beforeunload", (ev) => { if (state.pending) { ev.preventDefault(); ev.returnValue = ""; } });
  }

  // read-only hooks for tests and benchmarks (benchmarks/bench_review.py reads latencies)
  perf.event = (id) => state.byId.get(id) || null;
  perf.selected = () => state.selected;
  perf.clock = (t) => clock(t);
  perf.signalModes = () => (state.data ? state.data.channels.map((c) => c.mode) : []);
  perf.overviewX = (t) => (state.ovGeom ? state.ovGeom.X(t) : -1);
  perf.revealInList = (id) => {
    const i = state.listRows.findIndex((e) => e.id === id);
    if (i >= 0) $("list").scrollTop = Math.max(0, i * LIST_ROW - $("list").clientHeight / 2);
    renderListRows();
    return i;
  };

  document.addEventListener("DOMContentLoaded", main);
})();

// The page's behaviour (inlined into index.html at build time). "Generate" streams POST /v1/completions
// (server-sent events, the BLT extension asked for: ids and patches per chunk); "Patch this text" posts
// the text to POST /v1/patch. Either way the bytes are shown as patch boxes shaded by the entropy of each
// patch's first byte, with a sparkline of every byte's entropy and the patcher's threshold.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const MAX_NATS = Math.log(256);  // the shading scale: a uniform next byte
  const SPARK_W = 600, SPARK_H = 80;

  // UTF-8 bytes of one code point.
  const utf8Length = (cp) => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);

  // Background of a patch whose first byte has entropy h (nats; null: not entropy patching).
  function shade(h) {
    if (h === null || h === undefined) return { bg: "hsl(210 15% 94%)", fg: "inherit" };
    const t = Math.min(Math.max(h / MAX_NATS, 0), 1);
    const lightness = 97 - 42 * t;
    return { bg: `hsl(210 80% ${lightness.toFixed(1)}%)`, fg: lightness < 66 ? "#fff" : "inherit" };
  }

  // The bytes shown so far: patch boxes in #output, entropies for the sparkline.
  class PatchView {
    constructor() { this.reset(""); }

    reset(promptText) {
      const out = $("output");
      out.replaceChildren();
      if (promptText) {
        const p = document.createElement("span");
        p.className = "prompt";
        p.textContent = promptText;
        out.append(p);
      }
      this.box = null;
      this.bytes = 0;
      this.patches = 0;
      this.entropies = [];
      this.lo = Infinity;  // the entropies' range, kept as they come (no spread of a long array)
      this.hi = -Infinity;
      this.threshold = null;
      this.drawSparkline();
    }

    // text: whole UTF-8 characters (the server sends an ill-formed byte as "?"); starts, entropies: per byte
    // of text (entropies may be empty).
    append(text, starts, entropies) {
      let pos = 0;
      for (const ch of text) {
        const n = utf8Length(ch.codePointAt(0));
        const opens = starts.slice(pos, pos + n).indexOf(1);
        if (this.box === null || opens >= 0) this.openBox(entropies[pos + Math.max(opens, 0)]);
        this.box.textContent += ch;
        pos += n;
      }
      this.bytes += pos;
      for (const h of entropies.slice(0, pos)) {
        this.entropies.push(h);
        this.lo = Math.min(this.lo, h);
        this.hi = Math.max(this.hi, h);
      }
    }

    openBox(h) {
      const box = document.createElement("span");
      const s = shade(h);
      box.className = "patch";
      box.style.background = s.bg;
      box.style.color = s.fg;
      if (h !== undefined) box.title = `first byte entropy ${h.toFixed(3)} nats`;
      $("output").append(box);
      this.box = box;
      this.patches += 1;
    }

    // The sparkline spans the entropies seen and the threshold (boxes keep the fixed 0 … ln 256 scale).
    drawSparkline() {
      const hs = this.entropies;
      const t = this.threshold === null ? [] : [this.threshold];
      const any = hs.length > 0 || t.length > 0;
      const lo = any ? Math.min(this.lo, ...t) : 0;
      const hi = any ? Math.max(this.hi, ...t) : MAX_NATS;
      const span = hi - lo > 1e-6 ? hi - lo : 1;
      const y = (h) => (SPARK_H - 3 - ((h - lo) / span) * (SPARK_H - 6)).toFixed(1);
      const dx = hs.length > 1 ? SPARK_W / (hs.length - 1) : 0;
      $("sparkline-line").setAttribute("points", hs.map((h, i) => `${(i * dx).toFixed(1)},${y(h)}`).join(" "));
      const line = $("sparkline-threshold");
      line.setAttribute("visibility", this.threshold === null ? "hidden" : "visible");
      if (this.threshold !== null) {
        line.setAttribute("y1", y(this.threshold));
        line.setAttribute("y2", y(this.threshold));
      }
      const spark = hs.length ? `; sparkline ${lo.toFixed(2)} … ${hi.toFixed(2)} nats` : "";
      const threshold = this.threshold === null ? "" : `, threshold ${this.threshold.toFixed(3)} (dashed)`;
      $("legend-text").textContent = `0 … ${MAX_NATS.toFixed(2)}${spark}${threshold}`;
    }
  }

  const view = new PatchView();
  let controller = null;  // the AbortController of the running request

  function requestHeaders() {
    const headers = { "Content-Type": "application/json" };
    const key = $("api-key").value.trim();
    if (key) headers.Authorization = `Bearer ${key}`;
    return headers;
  }

  function setStatus(text) { $("status").textContent = text; }

  function showError(message) {
    const e = $("error");
    e.textContent = message;
    e.hidden = message === "";
  }

  function setBusy(busy) {
    $("generate").disabled = busy;
    $("patch-mode").disabled = busy;
    $("stop").disabled = !busy;
  }

  // Throws an Error "HTTP <status>: <the server's message>" for a non-2xx response.
  async function checkResponse(resp) {
    if (resp.ok) return;
    let message = resp.statusText;
    try {
      const body = await resp.json();
      if (body.error && body.error.message) message = body.error.message;
    } catch (_) { /* not JSON: keep the status text */ }
    throw new Error(`HTTP ${resp.status}: ${message}`);
  }

  async function post(path, body) {
    controller = new AbortController();
    const resp = await fetch(path, {
      method: "POST", headers: requestHeaders(), body: JSON.stringify(body), signal: controller.signal,
    });
    await checkResponse(resp);
    return resp;
  }

  // The data payloads of a server-sent event stream, one string per event.
  async function* sseData(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
        if (data) yield data;
      }
    }
  }

  function showStats(t0, tFirst, globalSteps) {
    $("bytes").textContent = String(view.bytes);
    $("patch-count").textContent = String(view.patches);
    if (tFirst !== null) {
      $("ttfb").textContent = `${((tFirst - t0) / 1000).toFixed(3)} s`;
      const seconds = (performance.now() - tFirst) / 1000;
      if (seconds > 0) $("rate").textContent = (view.bytes / seconds).toFixed(1);
    }
    if (globalSteps !== null && view.bytes > 0) {
      $("steps-per-byte").textContent = (globalSteps / view.bytes).toFixed(3);
    }
  }

  function readOptions() {
    return {
      prompt: $("prompt").value,
      max_tokens: Number.parseInt($("max-tokens").value, 10),
      temperature: Number.parseFloat($("temperature").value),
      seed: Number.parseInt($("seed").value, 10),
    };
  }

  // Runs render() in the next animation frame, once however often it is asked for before then (the latest
  // one): a long stream brings thousands of chunks, and redrawing the sparkline (every byte) for each would
  // keep the page too busy to answer a click on Stop.
  let pendingRender = null;
  function scheduleRender(render) {
    const first = pendingRender === null;
    pendingRender = render;
    if (first) requestAnimationFrame(() => {
      const r = pendingRender;
      pendingRender = null;
      if (r) r();
    });
  }
  function renderNow(render) {
    pendingRender = null;
    render();
  }

  async function generate() {
    const request = { ...readOptions(), stream: true, blt: { ids: true, patches: true } };
    view.reset(request.prompt);
    for (const id of ["rate", "ttfb", "steps-per-byte"]) $(id).textContent = "–";
    const t0 = performance.now();
    let tFirst = null, globalSteps = null, finish = null;
    setStatus("waiting");
    const resp = await post("/v1/completions", request);
    setStatus("streaming");
    const render = () => {
      view.drawSparkline();
      showStats(t0, tFirst, globalSteps);
    };
    try {
      for await (const data of sseData(resp.body)) {
        if (data === "[DONE]") break;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(`stream: ${chunk.error.message}`);
        const choice = chunk.choices[0];
        const blt = choice.blt || {};
        const patches = blt.patches || {};
        if (choice.text) {
          if (tFirst === null) tFirst = performance.now();
          view.append(choice.text, patches.starts || [], patches.entropies || []);
        }
        if (patches.threshold !== undefined) view.threshold = patches.threshold;
        if (blt.global_steps !== undefined) globalSteps = blt.global_steps;
        if (choice.finish_reason) finish = choice.finish_reason;
        scheduleRender(render);
      }
    } finally {
      renderNow(render);  // the last chunks' figures, also when stopped
    }
    setStatus(finish ? `done (${finish})` : "done");
  }

  async function patchText() {
    const text = $("prompt").value;
    view.reset("");
    for (const id of ["rate", "ttfb", "steps-per-byte"]) $(id).textContent = "–";
    setStatus("patching");
    const resp = await post("/v1/patch", { text });
    const r = await resp.json();  // starts and entropies per byte of text
    view.threshold = r.threshold ?? null;
    view.append(text, r.starts || [], r.entropies || []);
    view.drawSparkline();
    showStats(0, null, null);
    setStatus(`patched (${r.mode || "?"})`);
  }

  // Runs one request: busy buttons, errors shown, a stop is not an error.
  async function run(task) {
    showError("");
    setBusy(true);
    try {
      await task();
    } catch (err) {
      if (err.name === "AbortError") {
        setStatus("stopped");
      } else {
        setStatus("error");
        showError(err.message);
      }
    } finally {
      controller = null;
      setBusy(false);
    }
  }

  $("key-form").addEventListener("submit", (e) => e.preventDefault());  // Enter in the key field: no reload
  $("generate").addEventListener("click", () => run(generate));
  $("patch-mode").addEventListener("click", () => run(patchText));
  $("stop").addEventListener("click", () => { if (controller) controller.abort(); });
})();

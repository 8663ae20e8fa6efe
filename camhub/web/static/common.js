// Shared by the grid and the camera page. No framework, no build step.
// Camera names are data: they only ever reach the page through textContent,
// and URLs are built with encodeURIComponent.
"use strict";

const camhub = (() => {
  const decoder = new TextDecoder();

  function cameraPath(name) {
    return "/api/cameras/" + encodeURIComponent(name);
  }

  function pageUrl(name) {
    return "/camera?name=" + encodeURIComponent(name);
  }

  async function getJSON(url) {
    const resp = await fetch(url, { cache: "no-store" });
    if (!resp.ok) throw new Error(url + ": HTTP " + resp.status);
    return resp.json();
  }

  // Shows the newest picture in an <img>, never queueing: while one picture decodes,
  // later ones replace each other and only the last is shown.
  class ImageSink {
    constructor(img) {
      this.img = img;
      this.loading = null; // object URL being decoded
      this.current = null; // object URL on screen
      this.pending = null;
      this.shown = 0;
      img.addEventListener("load", () => this._done());
      img.addEventListener("error", () => this._done());
    }
    put(bytes) {
      const blob = new Blob([bytes], { type: "image/jpeg" });
      if (this.loading) { this.pending = blob; return; }
      this._show(blob);
    }
    _show(blob) {
      this.loading = URL.createObjectURL(blob);
      this.img.src = this.loading;
    }
    _done() {
      // Free the previous picture only once the new one is on screen (no black flashes).
      if (this.current) URL.revokeObjectURL(this.current);
      this.current = this.loading;
      this.loading = null;
      this.shown += 1;
      this.img.dataset.shown = String(this.shown);
      if (this.pending) { const next = this.pending; this.pending = null; this._show(next); }
    }
  }

  // Reads /api/stream: records of [u32 header length][JSON header][u32 JPEG length][JPEG],
  // big-endian. One HTTP connection carries every camera (browsers allow only ~6 per host).
  function openStream(url, onPicture, onState) {
    let stopped = false;
    let controller = null;
    async function run() {
      let delay = 500;
      while (!stopped) {
        try {
          controller = new AbortController();
          const resp = await fetch(url, { cache: "no-store", signal: controller.signal });
          if (!resp.ok) throw new Error("HTTP " + resp.status);
          onState && onState(true);
          delay = 500;
          await readRecords(resp.body.getReader(), onPicture);
        } catch (err) {
          if (stopped) return;
        }
        onState && onState(false);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
    run();
    return { close() { stopped = true; if (controller) controller.abort(); } };
  }

  async function readRecords(reader, onPicture) {
    let buf = new Uint8Array(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const merged = new Uint8Array(buf.length + value.length);
      merged.set(buf, 0);
      merged.set(value, buf.length);
      buf = merged;
      let pos = 0;
      for (;;) {
        if (buf.length - pos < 4) break;
        const view = new DataView(buf.buffer, buf.byteOffset + pos);
        const headLen = view.getUint32(0);
        if (buf.length - pos < 8 + headLen) break;
        const jpegLen = view.getUint32(4 + headLen);
        const end = pos + 8 + headLen + jpegLen;
        if (buf.length < end) break;
        const head = JSON.parse(decoder.decode(buf.subarray(pos + 4, pos + 4 + headLen)));
        onPicture(head, buf.slice(pos + 8 + headLen, end));
        pos = end;
      }
      buf = buf.slice(pos);
    }
  }

  function fmtAge(ms) {
    if (ms === null || ms === undefined) return "";
    return ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(1) + " s";
  }

  // How long ago, in words short enough for a badge: "4.2 s", "12 s", "3 min", "2 h".
  function fmtAgo(seconds) {
    if (seconds < 10) return seconds.toFixed(1) + " s";
    if (seconds < 120) return Math.round(seconds) + " s";
    if (seconds < 7200) return Math.round(seconds / 60) + " min";
    return Math.round(seconds / 3600) + " h";
  }

  // 24-hour clock, the same everywhere whatever the browser's locale (logs use it too).
  function fmtClock(epochSeconds) {
    const d = new Date(epochSeconds * 1000);
    return [d.getHours(), d.getMinutes(), d.getSeconds()]
      .map((n) => String(n).padStart(2, "0")).join(":");
  }

  function fmtRes(cam) {
    return cam.width && cam.height ? cam.width + "×" + cam.height : "";
  }

  // Bytes per second, as camhub send and the hub log print them (kB/s, MB/s).
  function fmtRate(kbps) {
    const bytes = (kbps * 1000) / 8;
    if (bytes >= 1e6) return (bytes / 1e6).toFixed(1) + " MB/s";
    return Math.round(bytes / 1e3) + " kB/s";
  }

  // A picture older than this is stale: greyed, and never called live.
  const STALE_AFTER_S = 3;

  // What a camera's tile or page should say. hubDownFor: seconds since the last answer
  // from the hub, or 0 while it answers. Returns {state, age, badge}; state is one of
  // live, stale, offline, hub-down, waiting (configured, never connected).
  function cameraState(cam, hubDownFor) {
    const idle = (cam.idle_s || 0) + hubDownFor;
    if (hubDownFor > 0) return { state: "hub-down", age: idle, badge: "hub unreachable · " + fmtAgo(idle) };
    if (cam.frames === 0) return { state: "waiting", age: null, badge: "not connected" };
    if (!cam.online) return { state: "offline", age: idle, badge: "offline · " + fmtAgo(idle) };
    if (idle > STALE_AFTER_S) return { state: "stale", age: idle, badge: "stale · " + fmtAgo(idle) };
    return { state: "live", age: idle, badge: "live" };
  }

  function describeProcessor(name, proc) {
    if (!proc || !proc.data) return name + ": waiting";
    const d = proc.data;
    if (typeof d.regions === "number") return name + ": " + (d.regions ? d.regions + " region(s)" : "none");
    const n = proc.detections ? proc.detections.length : 0;
    return name + ": " + n + " detection(s)";
  }

  return { cameraPath, pageUrl, getJSON, ImageSink, openStream, fmtAge, fmtAgo, fmtClock,
           fmtRes, fmtRate, cameraState, describeProcessor, STALE_AFTER_S };
})();

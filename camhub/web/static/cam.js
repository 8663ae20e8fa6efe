// The phone camera page: camera -> canvas -> JPEG -> WebSocket -> hub.
// Flow control: one frame in flight; the next is captured only after the hub's ack, so a
// slow link or a slow hub lowers the frame rate and never builds a queue.
// Protocol: camhub/phones/wire.py. State for tests and people: data-* on <body>.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const KEY_TOKEN = "camhub.token";
  const KEY_NAME = "camhub.name";
  const KEY_PAIR = "camhub.pair";
  const FINAL_CODES = new Set([4401, 4403]); // unknown / revoked token: retrying cannot help
  const STALL_MS = 5000; // no ack for this long: the link is dead even if TCP has not noticed

  const s = {
    running: false,
    stream: null,
    ws: null,
    connected: false,
    inflight: false,
    inflightSince: 0,
    lastSent: 0,
    seq: 0,
    acked: 0,
    dropped: 0,
    sentAt: [],
    ageMs: null,
    offset: 0, // hub clock minus this phone's clock, in seconds
    bestRtt: Infinity,
    maxFps: 30,
    backoff: 500,
    retryTimer: null,
    loopTimer: null,
    wakeLock: null,
    reason: "",
    reconnects: 0,
  };
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { alpha: false });
  const enc = new TextEncoder();

  // -- pairing --------------------------------------------------------------------------

  const params = new URLSearchParams(location.search);
  if (params.get("pair")) {
    localStorage.setItem(KEY_PAIR, params.get("pair"));
    history.replaceState(null, "", location.pathname); // keep the code out of history/screens
  }

  function showPaired() {
    const name = localStorage.getItem(KEY_NAME);
    const paired = !!localStorage.getItem(KEY_TOKEN) && !!name;
    $("name").value = name || $("name").value;
    $("name").readOnly = paired;
    $("paired").hidden = !paired;
    $("paired").textContent = paired ? `Paired with this hub as “${name}”.` : "";
    $("forget").hidden = !paired;
  }

  async function ensureToken() {
    if (localStorage.getItem(KEY_TOKEN)) return true;
    const code = localStorage.getItem(KEY_PAIR);
    if (!code) return true; // connect anyway: the hub says why it refuses
    const name = $("name").value.trim();
    if (!name) {
      showMessage("Enter a device name first (it becomes the camera's name on the hub).");
      return false;
    }
    let response;
    try {
      response = await fetch("/cam/pair", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ code, name }),
      });
    } catch (e) {
      showMessage("Cannot reach the hub to pair: check the Wi-Fi and that the hub runs.");
      return false;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      showMessage(body.error || `Pairing refused (HTTP ${response.status}).`);
      return false;
    }
    localStorage.setItem(KEY_TOKEN, body.token);
    localStorage.setItem(KEY_NAME, body.name);
    localStorage.removeItem(KEY_PAIR);
    showPaired();
    return true;
  }

  // -- camera ---------------------------------------------------------------------------

  function constraints() {
    const [w, h] = $("size").value.split("x").map(Number);
    const fps = Number($("fps").value);
    const video = { width: { ideal: w }, height: { ideal: h }, frameRate: { ideal: fps } };
    const choice = $("camera").value;
    if (choice.startsWith("id:")) video.deviceId = { exact: choice.slice(3) };
    else video.facingMode = { ideal: choice };
    return { audio: false, video };
  }

  async function openCamera() {
    closeCamera();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("This browser gives the camera only to secure pages: open the https link the hub printed.");
    }
    const stream = await navigator.mediaDevices.getUserMedia(constraints());
    s.stream = stream;
    const video = $("preview");
    video.srcObject = stream;
    await video.play().catch(() => {});
    for (const track of stream.getVideoTracks()) {
      track.addEventListener("ended", () => {
        if (s.running && s.stream === stream) setStatus("camera stopped by the phone; tap Start again or return to this page");
      });
    }
    await listCameras();
  }

  function closeCamera() {
    if (s.stream) for (const track of s.stream.getTracks()) track.stop();
    s.stream = null;
    $("preview").srcObject = null;
  }

  async function listCameras() {
    const select = $("camera");
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch (e) {
      return;
    }
    const known = new Set(Array.from(select.options, (o) => o.value));
    let n = 0;
    for (const d of devices) {
      if (d.kind !== "videoinput") continue;
      n += 1;
      const value = "id:" + d.deviceId;
      if (!d.deviceId || known.has(value)) continue;
      const option = document.createElement("option");
      option.value = value;
      option.textContent = d.label || `Camera ${n}`;
      select.appendChild(option);
    }
  }

  function cameraError(e) {
    if (e && e.name === "NotAllowedError") return "Camera permission was denied: allow the camera for this site in the browser's settings, then tap Start.";
    if (e && e.name === "NotFoundError") return "No camera matches this choice: pick another camera.";
    if (e && e.name === "OverconstrainedError") return "The camera cannot do this size or frame rate: pick a smaller one.";
    return (e && e.message) || String(e);
  }

  // -- wake lock ------------------------------------------------------------------------

  async function keepAwake() {
    if (!("wakeLock" in navigator) || s.wakeLock) return;
    try {
      s.wakeLock = await navigator.wakeLock.request("screen");
      s.wakeLock.addEventListener("release", () => { s.wakeLock = null; });
    } catch (e) {
      s.wakeLock = null; // e.g. battery saver; the note on the page says what happens
    }
  }

  document.addEventListener("visibilitychange", async () => {
    if (document.visibilityState !== "visible" || !s.running) return;
    keepAwake();
    const live = s.stream && s.stream.getVideoTracks().some((t) => t.readyState === "live");
    if (!live) {
      try {
        await openCamera();
      } catch (e) {
        showMessage(cameraError(e));
      }
    }
    if (!s.ws) connect();
  });

  // -- the socket -----------------------------------------------------------------------

  function now() {
    return (performance.timeOrigin + performance.now()) / 1000;
  }

  function connect() {
    clearTimeout(s.retryTimer);
    s.retryTimer = null;
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/cam/ws";
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      retry("cannot open a connection");
      return;
    }
    s.ws = ws;
    s.reason = "";
    setState("connecting", "connecting…");
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: localStorage.getItem(KEY_TOKEN) || "" }));
    ws.onmessage = (ev) => onMessage(ws, ev);
    ws.onclose = (ev) => onClose(ws, ev);
  }

  function ping(ws) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping", t: now() * 1000 }));
  }

  function onMessage(ws, ev) {
    if (typeof ev.data !== "string") return;
    let m;
    try {
      m = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    if (m.type === "welcome") {
      s.connected = true;
      s.backoff = 500;
      s.maxFps = m.max_fps || 30;
      s.offset = m.hub_time - now();
      s.bestRtt = Infinity;
      document.body.dataset.camera = m.camera;
      hideMessage();
      setState("live", "connected");
      for (let i = 0; i < 5; i += 1) setTimeout(() => ping(ws), 100 * i);
      schedule(0);
    } else if (m.type === "pong" && typeof m.t === "number") {
      const rtt = now() * 1000 - m.t;
      if (rtt < s.bestRtt) {
        s.bestRtt = rtt;
        s.offset = m.hub - (m.t + rtt / 2) / 1000;
      }
    } else if (m.type === "ack") {
      s.inflight = false;
      s.acked += 1;
      s.ageMs = m.age_ms;
      schedule(0);
    } else if (m.type === "drop") {
      s.inflight = false;
      s.dropped += 1;
      schedule(1000 / s.maxFps);
    } else if (m.type === "refused") {
      s.reason = m.reason || "";
    }
  }

  function onClose(ws, ev) {
    if (s.ws !== ws) return;
    s.ws = null;
    s.connected = false;
    s.inflight = false;
    const reason = s.reason || ev.reason || "";
    if (!s.running) return;
    if (FINAL_CODES.has(ev.code)) {
      localStorage.removeItem(KEY_TOKEN);
      showPaired();
      stop(false);
      setState("refused", "refused by the hub");
      showMessage(`The hub refused this phone: ${reason}`);
      return;
    }
    retry(reason || (ev.code === 1006 ? "hub unreachable" : `connection closed (${ev.code})`));
  }

  function retry(why) {
    s.reconnects += 1;
    const wait = s.backoff;
    s.backoff = Math.min(s.backoff * 2, 5000);
    setState("retry", `reconnecting in ${(wait / 1000).toFixed(1)} s: ${why}`);
    clearTimeout(s.retryTimer);
    s.retryTimer = setTimeout(() => { if (s.running && !s.ws) connect(); }, wait);
  }

  // -- sending --------------------------------------------------------------------------

  function schedule(ms) {
    if (s.loopTimer === null) s.loopTimer = setTimeout(tick, Math.max(0, ms));
  }

  function tick() {
    s.loopTimer = null;
    if (!s.running || !s.connected || s.inflight) return;
    const fps = Math.min(Number($("fps").value), s.maxFps);
    const wait = s.lastSent + 1000 / fps - performance.now();
    if (wait > 1) {
      schedule(wait);
      return;
    }
    capture();
  }

  function capture() {
    const video = $("preview");
    const ws = s.ws;
    if (!ws || video.readyState < 2 || !video.videoWidth) {
      schedule(100);
      return;
    }
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    s.inflight = true;
    s.inflightSince = s.lastSent = performance.now();
    const ts = now() + s.offset;
    ctx.drawImage(video, 0, 0, w, h);
    s.seq += 1;
    const seq = s.seq;
    canvas.toBlob((blob) => {
      if (!blob || s.ws !== ws || ws.readyState !== WebSocket.OPEN) {
        s.inflight = false;
        schedule(100);
        return;
      }
      const head = enc.encode(JSON.stringify({ seq, ts }));
      ws.send(new Blob([new Uint8Array([head.length >> 8, head.length & 255]), head, blob]));
      s.sentAt.push(performance.now());
      document.body.dataset.width = String(w);
      document.body.dataset.height = String(h);
    }, "image/jpeg", Number($("quality").value));
  }

  // Status line once a second; also the watchdog for a link that died silently.
  setInterval(() => {
    const t = performance.now();
    while (s.sentAt.length && s.sentAt[0] < t - 2000) s.sentAt.shift();
    const fps = s.sentAt.length / 2;
    const body = document.body.dataset;
    body.sent = String(s.seq);
    body.acked = String(s.acked);
    body.fps = fps.toFixed(1);
    body.age = s.ageMs === null ? "" : String(s.ageMs);
    body.reconnects = String(s.reconnects);
    if (s.running && s.inflight && t - s.inflightSince > STALL_MS && s.ws) {
      s.reason = "no answer from the hub";
      s.ws.close();
      onClose(s.ws, { code: 1006, reason: "" });
    }
    if (s.running && s.connected) {
      const age = s.ageMs === null ? "" : ` · frame age ${Math.round(s.ageMs)} ms at the hub`;
      const size = canvas.width ? ` · ${canvas.width}×${canvas.height}` : "";
      setStatus(`connected · ${fps.toFixed(1)} fps sent${age}${size}`);
    }
    if (s.running && s.ws && s.connected && s.sentAt.length === 0 && !s.inflight) schedule(0);
    if (s.running && s.ws && s.ws.readyState === WebSocket.OPEN && Math.random() < 0.1) ping(s.ws);
  }, 1000);

  // -- controls -------------------------------------------------------------------------

  function setState(kind, text) {
    const el = $("state");
    el.className = "state " + ({ live: "live", retry: "retry", refused: "refused" }[kind] || "idle");
    el.textContent = kind === "live" ? "live" : kind === "retry" ? "reconnecting" : kind === "refused" ? "refused" : kind === "connecting" ? "connecting" : "stopped";
    document.body.dataset.state = kind;
    setStatus(text);
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  function showMessage(text) {
    $("message").textContent = text;
    $("message").hidden = false;
    document.body.dataset.message = text;
  }

  function hideMessage() {
    $("message").hidden = true;
    delete document.body.dataset.message;
  }

  async function start() {
    hideMessage();
    $("start").disabled = true;
    try {
      if (!(await ensureToken())) return;
      try {
        await openCamera();
      } catch (e) {
        showMessage(cameraError(e));
        return;
      }
      s.running = true;
      $("start").textContent = "Stop";
      $("start").classList.add("stop");
      keepAwake();
      connect();
    } finally {
      $("start").disabled = false;
    }
  }

  function stop(closeSocket = true) {
    s.running = false;
    clearTimeout(s.retryTimer);
    clearTimeout(s.loopTimer);
    s.loopTimer = null;
    if (closeSocket && s.ws) s.ws.close(1000, "stopped on the phone");
    s.ws = null;
    s.connected = false;
    s.inflight = false;
    closeCamera();
    if (s.wakeLock) s.wakeLock.release().catch(() => {});
    s.wakeLock = null;
    $("start").textContent = "Start";
    $("start").classList.remove("stop");
    setState("stopped", "stopped");
  }

  async function restartCamera() {
    if (!s.running) return;
    try {
      await openCamera();
    } catch (e) {
      showMessage(cameraError(e));
    }
  }

  $("start").addEventListener("click", () => (s.running ? stop() : start()));
  $("camera").addEventListener("change", restartCamera);
  $("size").addEventListener("change", restartCamera);
  $("fps").addEventListener("change", restartCamera);
  $("forget").addEventListener("click", () => {
    if (s.running) stop();
    localStorage.removeItem(KEY_TOKEN);
    localStorage.removeItem(KEY_NAME);
    $("name").value = "";
    showPaired();
  });
  if (!("wakeLock" in navigator)) {
    $("wake").textContent += " This browser cannot keep the screen on by itself: turn off auto-lock while streaming.";
  }
  showPaired();
  document.body.dataset.state = "stopped";
})();

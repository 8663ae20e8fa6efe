// The phone camera page: camera -> WebCodecs video encoder (H.264, else VP8/VP9; the
// phone's hardware encoder where it has one) -> WebSocket -> hub; or, where the browser
// or the hub has no video, camera -> canvas -> JPEG -> WebSocket -> hub.
// Flow control: JPEG keeps one frame in flight (the next is captured after the hub's
// ack); video up to 3 (in the encoder or awaiting their ack), so a slow link or a slow
// hub lowers the frame rate and never builds a queue. A chunk lost anyway (the hub
// dropped it, the socket closed) costs the rest of its group: nothing more is sent until
// the next keyframe, which the encoder is asked for at once.
// Protocol: camhub/phones/wire.py. State for tests and people: data-* on <body>.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const KEY_TOKEN = "camhub.token";
  const KEY_NAME = "camhub.name";
  const KEY_PAIR = "camhub.pair";
  const KEY_CODEC = "camhub.codec";
  const FINAL_CODES = new Set([4401, 4403]); // unknown / revoked token: retrying cannot help
  const STALL_MS = 5000; // no ack for this long: the link is dead even if TCP has not noticed

  const s = {
    running: false,
    stream: null,
    ws: null,
    connected: false,
    pending: [], // send times of frames awaiting their ack, oldest first
    lastCapture: 0,
    seq: 0,
    acked: 0,
    dropped: 0,
    skipped: 0,
    bytes: 0,
    sentAt: [],
    sentBytes: [],
    mode: null,
    modeToken: 0,
    hubCodecs: [],
    videoFailed: "",
    width: 0,
    height: 0,
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
      s.hubCodecs = Array.isArray(m.video) ? m.video : [];
      s.pending = [];
      document.body.dataset.camera = m.camera;
      hideMessage();
      setState("live", "connected");
      for (let i = 0; i < 5; i += 1) setTimeout(() => ping(ws), 100 * i);
      if (s.mode) s.mode.lost(); // a new connection starts at a keyframe
      selectMode();
    } else if (m.type === "pong" && typeof m.t === "number") {
      const rtt = now() * 1000 - m.t;
      if (rtt < s.bestRtt) {
        s.bestRtt = rtt;
        s.offset = m.hub - (m.t + rtt / 2) / 1000;
      }
    } else if (m.type === "ack") {
      s.pending.shift();
      s.acked += 1;
      s.ageMs = m.age_ms;
      schedule(0);
    } else if (m.type === "drop") {
      s.pending.shift();
      s.dropped += 1;
      if (s.mode) s.mode.lost(); // video: what follows the dropped chunk cannot decode
      schedule(1000 / s.maxFps);
    } else if (m.type === "refused") {
      s.reason = m.reason || "";
    }
  }

  function onClose(ws, ev) {
    if (s.ws !== ws) return;
    s.ws = null;
    s.connected = false;
    s.pending = [];
    const reason = s.reason || ev.reason || "";
    if (!s.running) return;
    if (ev.code === 1007 && s.mode && s.mode.name !== "jpeg") {
      // The hub refused a chunk of this browser's encoder: JPEG from here on.
      useJpeg(`the hub refused the ${s.mode.label} video: ${reason}`);
    }
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
  // A sending mode is an object with capture(video, ws) (take a picture now and send it,
  // at once or when its encoder is done), busy() (pictures taken and not yet sent),
  // lost() (a frame it sent was dropped), close(), a name ("jpeg", "h264", "vp8", "vp9"),
  // a label for people, and window: how many frames may be on their way (in the encoder
  // or awaiting their ack). JPEG waits for each ack (window 1); video keeps a few on
  // their way, so that neither the encoder's time nor a Wi-Fi round trip is paid once
  // per frame.

  function message(head, payload) {
    const h = enc.encode(JSON.stringify(head));
    return new Blob([new Uint8Array([h.length >> 8, h.length & 255]), h, payload]);
  }

  function sent(ws, head, payload, w, h) {
    const data = message(head, payload);
    ws.send(data);
    const t = performance.now();
    s.pending.push(t);
    s.sentAt.push(t);
    s.sentBytes.push([t, data.size]);
    s.bytes += data.size;
    s.width = w;
    s.height = h;
  }

  class JpegMode {
    constructor(why) {
      this.name = "jpeg";
      this.label = "JPEG";
      this.window = 1;
      this.why = why; // why not video, shown on the page
      this.making = false; // one picture at a time: the next waits for this one
    }

    busy() {
      return this.making ? 1 : 0;
    }

    capture(video, ws) {
      const w = video.videoWidth;
      const h = video.videoHeight;
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      this.making = true;
      const ts = now() + s.offset;
      ctx.drawImage(video, 0, 0, w, h);
      s.seq += 1;
      const seq = s.seq;
      canvas.toBlob((blob) => {
        this.making = false;
        if (!blob || s.ws !== ws || ws.readyState !== WebSocket.OPEN) {
          schedule(100);
          return;
        }
        sent(ws, { seq, ts }, blob, w, h);
      }, "image/jpeg", Number($("quality").value));
    }

    lost() {}

    close() {}
  }

  const KEYFRAME_MS = 2000; // a keyframe every ~2 s: how long a new viewer waits at most
  const VIDEO_WINDOW = 3; // enough for a Wi-Fi round trip at 15-30 fps; more only adds age
  // Bits per pixel per frame, by the quality setting: at "medium" H.264 beats the JPEG
  // mode's PSNR on a real scene (bench/bench_phone_video.py) at about 9x fewer bytes.
  const BITS_PER_PIXEL = { "0.5": 0.08, "0.7": 0.15, "0.85": 0.3 };
  const VIDEO_CODECS = ["h264", "vp8", "vp9"]; // the page's preference: hardware first

  function codecString(name, w, h) {
    if (name === "vp8") return "vp8";
    if (name === "vp9") return "vp09.00.41.08";
    // Constrained Baseline (no B-frames: chunks come out in order), at the level the
    // picture size needs (macroblocks per frame: 3.0 1620, 3.1 3600, 4.0 8192, 5.1 36864).
    const mbs = Math.ceil(w / 16) * Math.ceil(h / 16);
    const level = mbs <= 1620 ? "1e" : mbs <= 3600 ? "1f" : mbs <= 8192 ? "28" : "33";
    return "avc1.42e0" + level;
  }

  function videoConfig(name, w, h, hardware) {
    const fps = Math.min(Number($("fps").value), s.maxFps);
    const bpp = BITS_PER_PIXEL[$("quality").value] || 0.15;
    const config = {
      codec: codecString(name, w, h),
      width: w,
      height: h,
      bitrate: Math.round(w * h * fps * bpp),
      framerate: fps,
      latencyMode: "realtime",
      hardwareAcceleration: hardware ? "prefer-hardware" : "no-preference",
    };
    // Annex B: start codes and SPS/PPS in every keyframe, as the hub's wire carries H.264.
    if (name === "h264") config.avc = { format: "annexb" };
    return config;
  }

  class VideoMode {
    constructor(name, hardware) {
      this.name = name;
      this.hardware = hardware;
      this.label = { h264: "H.264", vp8: "VP8", vp9: "VP9" }[name] + (hardware ? " (hardware)" : "");
      this.window = VIDEO_WINDOW;
      this.encoder = null;
      this.width = 0;
      this.height = 0;
      this.needKey = true; // make the next picture a keyframe
      this.waitKey = true; // send nothing until a keyframe: the group before was cut
      this.lastKey = -Infinity;
      this.submitted = new Map(); // timestamp -> when it went into the encoder
    }

    busy() {
      // A realtime encoder may skip a picture and never answer for it: forget those.
      const t = performance.now();
      for (const [ts, at] of this.submitted) if (t - at > 1000) this.submitted.delete(ts);
      return this.submitted.size;
    }

    open(w, h) {
      this.close();
      const encoder = new VideoEncoder({
        output: (chunk) => this.output(encoder, chunk),
        error: (e) => this.fail(encoder, e),
      });
      encoder.configure(videoConfig(this.name, w, h, this.hardware));
      this.encoder = encoder;
      this.width = w;
      this.height = h;
      this.lost();
    }

    capture(video, ws) {
      let frame;
      const timestamp = Math.round(performance.now() * 1000);
      try {
        frame = new VideoFrame(video, { timestamp });
      } catch (e) {
        schedule(100); // no picture yet
        return;
      }
      try {
        const w = frame.displayWidth;
        const h = frame.displayHeight;
        if (!this.encoder || w !== this.width || h !== this.height) this.open(w, h);
        if (this.encoder.encodeQueueSize > 2) {
          s.skipped += 1; // the encoder is behind: skip a picture, lose no chunk
          return;
        }
        const t = performance.now();
        const keyFrame = this.needKey || t - this.lastKey >= KEYFRAME_MS;
        if (keyFrame) {
          this.needKey = false;
          this.lastKey = t;
        }
        this.encoder.encode(frame, { keyFrame });
        this.submitted.set(timestamp, t);
      } catch (e) {
        this.fail(this.encoder, e);
      } finally {
        frame.close();
      }
    }

    output(encoder, chunk) {
      if (encoder !== this.encoder) return;
      this.submitted.delete(chunk.timestamp);
      // Every chunk takes a seq, sent or not: the hub sees a dropped one as a gap and
      // decodes nothing of the rest of its group.
      s.seq += 1;
      const key = chunk.type === "key";
      if (key) this.waitKey = false;
      if (this.waitKey) {
        s.dropped += 1; // the rest of a cut group; a keyframe is already asked for
        return;
      }
      const ws = s.ws;
      if (!ws || !s.connected || ws.readyState !== WebSocket.OPEN || s.pending.length >= this.window) {
        s.dropped += 1; // behind: drop to the next keyframe, and ask for it now
        this.lost();
        return;
      }
      const data = new Uint8Array(chunk.byteLength);
      chunk.copyTo(data);
      const head = {
        seq: s.seq,
        ts: (performance.timeOrigin + chunk.timestamp / 1000) / 1000 + s.offset,
        enc: this.name,
        key: key ? 1 : 0,
        width: this.width,
        height: this.height,
        pts: Math.round(chunk.timestamp * 0.09), // microseconds -> 90 kHz ticks
      };
      sent(ws, head, data, this.width, this.height);
    }

    lost() {
      this.needKey = true;
      this.waitKey = true;
    }

    fail(encoder, e) {
      if (encoder !== this.encoder) return;
      useJpeg(`${this.label} encoder failed: ${(e && e.message) || e}`);
    }

    close() {
      const encoder = this.encoder;
      this.encoder = null;
      this.submitted.clear();
      if (encoder && encoder.state !== "closed") {
        try {
          encoder.close();
        } catch (e) {
          // already closed by an error
        }
      }
    }
  }

  // The first codec both the hub and this browser take, hardware encoders first; else
  // JPEG, with the reason.
  async function chooseMode(hubCodecs) {
    if ($("codec").value === "jpeg") return new JpegMode("JPEG chosen");
    if (s.videoFailed) return new JpegMode(s.videoFailed);
    if (typeof VideoEncoder === "undefined" || typeof VideoFrame === "undefined") {
      return new JpegMode("this browser has no WebCodecs video encoder");
    }
    const codecs = VIDEO_CODECS.filter((c) => (hubCodecs || []).includes(c));
    if (!codecs.length) return new JpegMode("the hub takes JPEG only");
    const video = $("preview");
    const [sw, sh] = $("size").value.split("x").map(Number);
    const w = video.videoWidth || sw;
    const h = video.videoHeight || sh;
    for (const hardware of [true, false]) {
      for (const name of codecs) {
        try {
          const answer = await VideoEncoder.isConfigSupported(videoConfig(name, w, h, hardware));
          if (answer.supported) return new VideoMode(name, hardware);
        } catch (e) {
          // a config this browser cannot even parse: try the next
        }
      }
    }
    return new JpegMode(`this browser encodes none of ${codecs.join(", ")}`);
  }

  async function selectMode() {
    const token = (s.modeToken += 1);
    const mode = await chooseMode(s.hubCodecs);
    if (token !== s.modeToken) return; // a newer choice is under way
    setMode(mode);
  }

  function setMode(mode) {
    if (s.mode) s.mode.close();
    s.mode = mode;
    const body = document.body.dataset;
    body.codec = mode.name;
    body.hardware = mode.hardware ? "yes" : "no";
    if (mode.why) body.why = mode.why;
    else delete body.why;
    schedule(0);
  }

  function useJpeg(why) {
    s.videoFailed = why; // for the rest of this visit: reloading the page tries again
    setMode(new JpegMode(why));
  }

  function schedule(ms) {
    if (s.loopTimer === null) s.loopTimer = setTimeout(tick, Math.max(0, ms));
  }

  function tick() {
    s.loopTimer = null;
    const mode = s.mode;
    if (!s.running || !s.connected || !mode) return;
    if (s.pending.length + mode.busy() >= mode.window) {
      // Full. An ack or a drop schedules the next tick; a picture still in the encoder
      // (or one it skipped) does not, so look again shortly.
      if (!s.pending.length) schedule(20);
      return;
    }
    const fps = Math.min(Number($("fps").value), s.maxFps);
    const wait = s.lastCapture + 1000 / fps - performance.now();
    if (wait > 1) {
      schedule(wait);
      return;
    }
    const video = $("preview");
    if (!s.ws || video.readyState < 2 || !video.videoWidth) {
      schedule(100);
      return;
    }
    s.lastCapture = performance.now();
    mode.capture(video, s.ws);
    if (mode.window > 1) schedule(1000 / fps);
  }

  // Status line once a second; also the watchdog for a link that died silently.
  setInterval(() => {
    const t = performance.now();
    while (s.sentAt.length && s.sentAt[0] < t - 2000) s.sentAt.shift();
    while (s.sentBytes.length && s.sentBytes[0][0] < t - 2000) s.sentBytes.shift();
    const fps = s.sentAt.length / 2;
    const rate = s.sentBytes.reduce((sum, [, n]) => sum + n, 0) / 2;
    const body = document.body.dataset;
    body.sent = String(s.seq);
    body.acked = String(s.acked);
    body.dropped = String(s.dropped);
    body.skipped = String(s.skipped);
    body.bytes = String(s.bytes);
    body.fps = fps.toFixed(1);
    body.age = s.ageMs === null ? "" : String(s.ageMs);
    body.reconnects = String(s.reconnects);
    if (s.width) {
      body.width = String(s.width);
      body.height = String(s.height);
    }
    if (s.running && s.pending.length && t - s.pending[0] > STALL_MS && s.ws) {
      s.reason = "no answer from the hub";
      s.ws.close();
      onClose(s.ws, { code: 1006, reason: "" });
    }
    if (s.running && s.connected) {
      const age = s.ageMs === null ? "" : ` · frame age ${Math.round(s.ageMs)} ms at the hub`;
      const size = s.width ? ` · ${s.width}×${s.height}` : "";
      const mode = s.mode ? ` · ${s.mode.label} ${(rate / 1000).toFixed(0)} kB/s` : "";
      setStatus(`connected · ${fps.toFixed(1)} fps sent${mode}${age}${size}`);
    }
    if (s.running && s.ws && s.connected && s.sentAt.length === 0 && !s.pending.length) schedule(0);
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
    s.pending = [];
    if (s.mode) s.mode.close();
    s.mode = null;
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
  // The encoder's bit rate comes from the size, the frame rate and the quality: a new
  // encoder (from a keyframe) at the next picture.
  for (const id of ["fps", "quality"]) {
    $(id).addEventListener("change", () => { if (s.mode) s.mode.close(); });
  }
  $("codec").value = localStorage.getItem(KEY_CODEC) || "auto";
  $("codec").addEventListener("change", () => {
    localStorage.setItem(KEY_CODEC, $("codec").value);
    if (s.connected) selectMode();
  });
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

// The grid of all cameras: one JSON poll per second for stats, one multiplexed stream
// for the pictures (capped at 15 fps per tile; the camera page gets the full rate).
// Video cameras play their own stream as video instead (live.js), and the multiplexed
// stream leaves their live pictures out, so the hub neither decodes nor encodes them.
// A tile says "live" only while its picture is fresh and the hub answers; otherwise it
// is greyed and says how old its picture is.
"use strict";

(() => {
  const grid = document.getElementById("grid");
  const empty = document.getElementById("empty");
  const summary = document.getElementById("summary");
  const health = document.getElementById("health");
  const processedBox = document.getElementById("processed");
  const orderBox = document.getElementById("order");
  const template = document.getElementById("tile-template");
  const tiles = new Map(); // camera name -> {el, sink, cam, video, player}
  const videoFailed = new Map(); // camera name -> why its live video gave up (JPEG then)
  let stream = null;
  let streamSkip = null; // the cameras the open stream leaves out, as a key
  let connected = null; // the picture stream: null before its first try (not "reconnecting")
  let streamDownSince = null; // Date.now() when the picture stream dropped, while it is down
  let lastAnswer = Date.now(); // when the hub last answered a poll
  let down = false;
  let lastCameras = [];

  const ORDERS = {
    name: (a, b) => a.name.localeCompare(b.name),
    first_seen: (a, b) => a.first_seen - b.first_seen || a.name.localeCompare(b.name),
    // Problems first: cameras that are not live, then the rest, each by name.
    problems: (a, b) => (a.online && a.frames > 0) - (b.online && b.frames > 0) || a.name.localeCompare(b.name),
  };

  function makeTile(name) {
    const el = template.content.firstElementChild.cloneNode(true);
    el.dataset.camera = name;
    el.querySelector(".name").textContent = name;
    el.querySelector(".view").href = camhub.pageUrl(name);
    const img = el.querySelector("img");
    img.alt = "camera " + name;
    // Hidden until a picture decodes: a camera without one shows words, not a broken image.
    img.addEventListener("load", () => {
      img.hidden = el.dataset.mode === "video";
      el.querySelector(".placeholder").hidden = true;
    });
    const video = el.querySelector("video");
    video.addEventListener("loadeddata", () => { el.querySelector(".placeholder").hidden = true; });
    el.querySelector(".zoom").addEventListener("click", () => zoom(el));
    const tile = { el, sink: new camhub.ImageSink(el.querySelector("img")), cam: null,
                   video, player: null };
    tiles.set(name, tile);
    return tile;
  }

  function zoom(el) {
    const on = !el.classList.contains("zoomed");
    for (const t of tiles.values()) t.el.classList.remove("zoomed");
    el.classList.toggle("zoomed", on);
    el.querySelector(".zoom").textContent = on ? "✕" : "⤢";
    el.querySelector(".zoom").title = on ? "back to the grid (Esc)" : "zoom this camera";
    document.body.classList.toggle("has-zoom", on);
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape") return;
    const zoomed = grid.querySelector(".tile.zoomed");
    if (zoomed) zoom(zoomed);
  });

  // The JSON poll can work while the picture stream does not (a proxy, a broken
  // connection): then the pictures on screen freeze, and must not be called live either.
  function picturesDownFor() {
    return streamDownSince === null ? 0 : (Date.now() - streamDownSince) / 1000;
  }

  function render(tile, hubDownFor) {
    const cam = tile.cam;
    const el = tile.el;
    let st = camhub.cameraState(cam, hubDownFor);
    const noPictures = picturesDownFor();
    if (st.state === "live" && noPictures > camhub.STALE_AFTER_S) {
      st = { state: "stale", age: noPictures, badge: "no pictures · " + camhub.fmtAgo(noPictures) };
    }
    const live = st.state === "live";
    el.dataset.state = st.state;
    el.dataset.online = String(cam.online && !hubDownFor);
    el.classList.toggle("offline", st.state === "offline" || st.state === "waiting");
    el.classList.toggle("stale", !live);
    el.querySelector(".badge").textContent = st.badge;
    // A sender's own payload format (PNG, WebP...): carried and counted, not shown.
    if (live && cam.encoding === "other") el.querySelector(".badge").textContent = "unsupported encoding";
    const parts = [];
    if (live) {
      parts.push(cam.fps.toFixed(1) + "\u00a0fps");
      if (cam.age_ms !== null) parts.push("age\u00a0" + camhub.fmtAge(cam.age_ms));
    }
    const holder = el.querySelector(".placeholder");
    const pictured = el.dataset.mode === "video" ? tile.video.readyState >= 2
      : Boolean(el.querySelector("img").dataset.shown);
    holder.hidden = pictured;
    if (!pictured) {
      holder.textContent = {
        waiting: "not connected yet",
        offline: cam.frames ? "offline" : "offline: no picture",
        stale: "no new pictures",
        "hub-down": "hub unreachable",
        live: "waiting for a picture…",
      }[st.state];
      holder.className = "placeholder " + st.state;
    }
    const res = camhub.fmtRes(cam);
    if (res) parts.push(res);
    if (live) parts.push(camhub.fmtRate(cam.kbps));
    if (!live && cam.frames > 0) parts.push("last frame " + camhub.fmtClock(cam.last_seen));
    el.querySelector(".stats").textContent = parts.join(" · ");
    const reason = el.querySelector(".reason");
    reason.textContent = !live && cam.reason ? cam.reason : "";
    reason.hidden = !reason.textContent;
    if (cam.width && cam.height) {
      el.querySelector(".view").style.aspectRatio = cam.width + " / " + cam.height;
    }
    // A processor's verdict on a picture that is no longer current would be a false
    // alarm (or a false all-clear): show it only while the camera is live.
    const procs = Object.entries(cam.processors || {});
    const proc = el.querySelector(".proc");
    // In processed view the picture carries the processor's verdict, drawn on that very
    // frame; a caption from the once-a-second poll could contradict it ("motion: none"
    // under "1 region(s)"), so there the caption only names the view.
    const processed = el.dataset.view && el.dataset.view !== "live";
    proc.textContent = !live ? "" : processed ? el.dataset.view + " view"
      : procs.map(([n, p]) => camhub.describeProcessor(n, p)).join(" · ");
    proc.hidden = !live || procs.length === 0;
    proc.classList.toggle("alert", live && !processed && procs.some(([, p]) => p && p.data && p.data.motion));
  }

  // Object detection off: the "objects" box is neither ticked nor usable.
  function objectsSwitch(on) {
    const box = document.getElementById("objects");
    const label = document.getElementById("objects-switch");
    box.disabled = !on;
    box.checked = on && camhubObjects.shown;
    label.classList.toggle("off", !on);
    label.title = on ? "Draw tracked objects, zones and counting lines (object detection)"
      : "Object detection is off on this hub (start it with --detect person)";
  }

  // The empty grid's hint names the port the hub really listens on (--bind).
  function sendHint(endpoints) {
    const tcp = endpoints.find((e) => e.startsWith("tcp://"));
    if (!tcp) return;
    const m = /^tcp:\/\/(.*):(\d+)$/.exec(tcp);
    if (!m) return;
    const anyHost = ["*", "0.0.0.0", "[::]", "::"].includes(m[1]);
    const host = anyHost ? "THIS-HOST" : m[1];
    document.getElementById("send-hint").textContent =
      "camhub send testsrc: --hub tcp://" + host + ":" + m[2];
  }

  // Video for a video camera in the live view, unless its video gave up here.
  function syncVideo(tile) {
    const cam = tile.cam;
    const on = !processedBox.checked && !videoFailed.has(cam.name) && camhubLive.wanted(cam.encoding);
    if (on && !tile.player) {
      tile.player = new camhubLive.Player(tile.video, cam.name, (reason) => {
        videoFailed.set(cam.name, reason);
        syncVideo(tile);
        syncStream();
      }, cam.encoding);
    } else if (!on && tile.player) {
      tile.player.stop();
      tile.player = null;
    }
    tile.video.hidden = !on;
    const img = tile.el.querySelector("img");
    img.hidden = on || !img.dataset.shown; // no picture yet: the placeholder, not a broken image
    tile.el.dataset.mode = on ? "video" : "jpeg";
    const why = videoFailed.get(cam.name);
    if (why) tile.el.dataset.videoError = why;
  }

  function hubDownFor() {
    return down ? Math.max(0.001, (Date.now() - lastAnswer) / 1000) : 0;
  }

  function showHealth(hub) {
    const parts = ["up " + camhub.fmtAgo(hub.uptime_s)];
    if (hub.malformed) parts.push(hub.malformed + " malformed");
    if (hub.refused) parts.push(hub.refused + " refused");
    const problems = hub.problems || []; // e.g. recording stopped: disk nearly full
    parts.push(...problems);
    health.textContent = parts.join(" · ");
    const why = [];
    for (const [peer, n] of Object.entries(hub.malformed_by_peer || {})) why.push("malformed from " + peer + ": " + n);
    for (const [reason, n] of Object.entries(hub.refused_by_reason || {})) why.push("refused, " + reason.replace(/_/g, " ") + ": " + n);
    for (const [addr, n] of Object.entries(hub.refused_by_address || {})) why.push("refused from " + addr + ": " + n);
    health.title = why.join("\n");
    health.classList.toggle("warn", Boolean(hub.malformed || hub.refused));
    health.classList.toggle("bad", problems.length > 0);
  }

  function layout(cameras) {
    const order = ORDERS[orderBox.value] || ORDERS.name;
    const sorted = cameras.slice().sort(order);
    sorted.forEach((cam, i) => {
      const el = tiles.get(cam.name).el;
      if (grid.children[i] !== el) grid.insertBefore(el, grid.children[i] || null);
    });
  }

  async function poll() {
    let data;
    try {
      data = await camhub.getJSON("/api/cameras");
    } catch (err) {
      down = true;
      const downFor = hubDownFor();
      for (const tile of tiles.values()) render(tile, downFor);
      summary.textContent = "hub unreachable for " + camhub.fmtAgo(downFor) + ", retrying…";
      summary.classList.add("down");
      return;
    }
    lastAnswer = Date.now();
    down = false;
    summary.classList.remove("down");
    const seen = new Set();
    for (const cam of data.cameras) {
      seen.add(cam.name);
      const tile = tiles.get(cam.name) || makeTile(cam.name);
      tile.cam = cam;
      render(tile, 0);
      syncVideo(tile);
    }
    for (const [name, tile] of tiles) {
      if (!seen.has(name)) {
        if (tile.player) tile.player.stop();
        tile.el.remove();
        tiles.delete(name);
      }
    }
    syncStream();
    lastCameras = data.cameras;
    layout(lastCameras);
    const live = Array.from(tiles.values()).filter((t) => t.el.dataset.state === "live").length;
    summary.textContent = data.cameras.length + " camera" + (data.cameras.length === 1 ? "" : "s") +
      " · " + live + " live" + (connected === false ? " · reconnecting…" : "");
    showHealth(data.hub);
    objectsSwitch(Boolean(data.hub.detection));
    sendHint(data.hub.endpoints || []);
    empty.hidden = data.cameras.length > 0;
  }

  // (Re)open the picture stream when the set of cameras playing as video changed.
  function syncStream() {
    const skip = Array.from(tiles.values()).filter((t) => t.player).map((t) => t.cam.name).sort();
    const key = JSON.stringify(skip);
    if (stream && key === streamSkip) return;
    streamSkip = key;
    openPictures(skip);
  }

  function openPictures(skip) {
    if (stream) stream.close();
    const view = processedBox.checked ? "processed" : "live";
    const leaveOut = (skip || []).map((n) => "&skip=" + encodeURIComponent(n)).join("");
    stream = camhub.openStream("/api/stream?fps=15&objects=1&view=" + view + leaveOut, (head, bytes) => {
      const tile = tiles.get(head.camera);
      if (tile && head.view === "objects") {
        const data = JSON.parse(new TextDecoder().decode(bytes));
        camhubObjects.draw(tile.el.querySelector(".view"), data, tile.el.querySelector(".counts"));
        return;
      }
      if (tile) {
        tile.sink.put(bytes);
        if (tile.el.dataset.view !== head.view) {
          tile.el.dataset.view = head.view;
          if (tile.cam) render(tile, hubDownFor());
        }
      }
    }, (ok) => {
      connected = ok;
      streamDownSince = ok ? null : streamDownSince || Date.now();
    });
  }

  try { orderBox.value = localStorage.getItem("camhub.order") || "name"; } catch (err) { /* private mode */ }
  orderBox.addEventListener("change", () => {
    try { localStorage.setItem("camhub.order", orderBox.value); } catch (err) { /* private mode */ }
    layout(lastCameras);
  });
  processedBox.addEventListener("change", () => {
    for (const tile of tiles.values()) {
      delete tile.el.dataset.view; // until its first picture of the new view
      if (tile.cam) syncVideo(tile);
    }
    streamSkip = null;
    syncStream();
  });
  camhubObjects.bindToggle(document.getElementById("objects"));
  poll().then(syncStream);
  setInterval(poll, 1000);
})();

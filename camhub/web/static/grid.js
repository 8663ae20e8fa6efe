// The grid of all cameras: one JSON poll per second for stats, one multiplexed stream
// for the pictures (capped at 15 fps per tile; the camera page gets the full rate).
"use strict";

(() => {
  const grid = document.getElementById("grid");
  const empty = document.getElementById("empty");
  const summary = document.getElementById("summary");
  const processedBox = document.getElementById("processed");
  const template = document.getElementById("tile-template");
  const tiles = new Map(); // camera name -> {el, sink, ...}
  let stream = null;
  let connected = false;

  function makeTile(name) {
    const el = template.content.firstElementChild.cloneNode(true);
    el.dataset.camera = name;
    el.querySelector(".name").textContent = name;
    el.querySelector(".view").href = camhub.pageUrl(name);
    el.querySelector("img").alt = "camera " + name;
    const tile = { el, sink: new camhub.ImageSink(el.querySelector("img")) };
    tiles.set(name, tile);
    return tile;
  }

  function update(cam, now) {
    const tile = tiles.get(cam.name) || makeTile(cam.name);
    const el = tile.el;
    el.classList.toggle("offline", !cam.online);
    el.dataset.online = String(cam.online);
    const badge = el.querySelector(".badge");
    badge.textContent = cam.online ? "live" : "offline since " + camhub.fmtClock(cam.last_seen);
    // A sender's own payload format (PNG, WebP...): carried and counted, not shown.
    if (cam.online && cam.encoding === "other") badge.textContent = "unsupported encoding";
    const parts = [];
    if (cam.online) parts.push(cam.fps.toFixed(1) + " fps");
    if (cam.age_ms !== null && cam.online) parts.push("age " + camhub.fmtAge(cam.age_ms));
    const res = camhub.fmtRes(cam);
    if (res) parts.push(res);
    if (cam.online) parts.push(camhub.fmtRate(cam.kbps));
    if (!cam.online) parts.push("last frame " + camhub.fmtAge((now - cam.last_seen) * 1000) + " ago");
    el.querySelector(".stats").textContent = parts.join(" · ");
    if (cam.width && cam.height) {
      el.querySelector(".view").style.aspectRatio = cam.width + " / " + cam.height;
    }
    const procs = Object.entries(cam.processors || {});
    const proc = el.querySelector(".proc");
    proc.textContent = procs.map(([n, p]) => camhub.describeProcessor(n, p)).join(" · ");
    proc.hidden = procs.length === 0;
    const moving = procs.some(([, p]) => p && p.data && p.data.motion);
    proc.classList.toggle("alert", moving);
    return tile;
  }

  async function poll() {
    try {
      const data = await camhub.getJSON("/api/cameras");
      const seen = new Set();
      const ordered = [];
      for (const cam of data.cameras) {
        seen.add(cam.name);
        ordered.push(update(cam, data.time).el);
      }
      for (const [name, tile] of tiles) {
        if (!seen.has(name)) { tile.el.remove(); tiles.delete(name); }
      }
      ordered.forEach((el, i) => { if (grid.children[i] !== el) grid.insertBefore(el, grid.children[i] || null); });
      const online = data.cameras.filter((c) => c.online).length;
      summary.textContent = data.cameras.length + " camera" + (data.cameras.length === 1 ? "" : "s") +
        " · " + online + " online" + (connected ? "" : " · reconnecting…");
      empty.hidden = data.cameras.length > 0;
    } catch (err) {
      summary.textContent = "hub unreachable, retrying…";
    }
  }

  function openPictures() {
    if (stream) stream.close();
    const view = processedBox.checked ? "processed" : "live";
    stream = camhub.openStream("/api/stream?fps=15&view=" + view, (head, bytes) => {
      const tile = tiles.get(head.camera);
      if (tile) { tile.sink.put(bytes); tile.el.dataset.view = head.view; }
    }, (ok) => { connected = ok; });
  }

  processedBox.addEventListener("change", openPictures);
  poll().then(openPictures);
  setInterval(poll, 1000);
})();

// One camera at full size: its live picture and every processor's view, plus stats.
"use strict";

(() => {
  const name = new URLSearchParams(location.search).get("name") || "";
  const views = document.getElementById("views");
  const template = document.getElementById("view-template");
  const tbody = document.querySelector("#stats tbody");
  const procdata = document.getElementById("procdata");
  const badge = document.getElementById("badge");
  const objectsLine = document.getElementById("objects-line");
  const sinks = new Map(); // view -> ImageSink

  document.getElementById("title").textContent = name;
  document.title = name + " · camhub";
  const base = camhub.cameraPath(name);
  document.getElementById("snapshot").href = base + "/snapshot.jpg";
  document.getElementById("mjpeg").href = base + "/stream.mjpg";
  document.getElementById("json").href = base;

  function sinkFor(view) {
    let sink = sinks.get(view);
    if (!sink) {
      const fig = template.content.firstElementChild.cloneNode(true);
      fig.dataset.view = view;
      fig.querySelector("figcaption").textContent = view === "live" ? "live" : view + " view";
      fig.querySelector("img").alt = name + " " + view;
      views.appendChild(fig);
      sink = new camhub.ImageSink(fig.querySelector("img"));
      sinks.set(view, sink);
    }
    return sink;
  }

  function row(label, value) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    const td = document.createElement("td");
    th.textContent = label;
    td.textContent = value;
    tr.append(th, td);
    return tr;
  }

  async function poll() {
    let cam;
    try {
      const resp = await fetch(base, { cache: "no-store" });
      if (resp.status === 404) { badge.textContent = "unknown camera"; badge.className = "badge inline offline"; return; }
      cam = await resp.json();
    } catch (err) {
      badge.textContent = "hub unreachable";
      return;
    }
    sinkFor("live");
    for (const v of cam.views) sinkFor(v);
    badge.textContent = cam.online ? "live" : "offline since " + camhub.fmtClock(cam.last_seen);
    badge.className = "badge inline" + (cam.online ? "" : " offline");
    document.body.classList.toggle("offline", !cam.online);
    tbody.replaceChildren(
      row("frames per second", cam.fps.toFixed(1)),
      row("resolution", camhub.fmtRes(cam) || "unknown"),
      row("frame age (capture → hub)", cam.age_ms === null ? "not stamped" : camhub.fmtAge(cam.age_ms)),
      row("bandwidth", camhub.fmtRate(cam.kbps)),
      row("frames received", String(cam.frames)),
      row("dropped / malformed", cam.dropped + " / " + cam.malformed),
      row("encoding", cam.encoding || ""),
      row("sender", cam.peer || ""),
      row("first seen", camhub.fmtClock(cam.first_seen)),
      row("last seen", camhub.fmtClock(cam.last_seen)),
    );
    procdata.replaceChildren();
    for (const [pname, p] of Object.entries(cam.processors || {})) {
      const div = document.createElement("div");
      div.className = "proc-block";
      const h = document.createElement("h2");
      h.textContent = camhub.describeProcessor(pname, p);
      const pre = document.createElement("pre");
      const s = p.stats || {};
      pre.textContent = "processed " + (s.processed || 0) + ", skipped " + (s.skipped || 0) +
        ", errors " + (s.errors || 0) + ", " + (s.avg_ms || 0).toFixed(1) + " ms/frame\n" +
        JSON.stringify({ data: p.data, detections: p.detections }, null, 1);
      div.append(h, pre);
      procdata.append(div);
    }
  }

  poll();
  setInterval(poll, 1000);
  camhub.openStream("/api/stream?objects=1&camera=" + encodeURIComponent(name), (head, bytes) => {
    if (head.view === "objects") {
      const live = views.querySelector('figure[data-view="live"]');
      if (live) camhubObjects.draw(live.querySelector(".frame"), JSON.parse(new TextDecoder().decode(bytes)), objectsLine);
      return;
    }
    sinkFor(head.view).put(bytes);
  });
  camhubObjects.bindToggle(document.getElementById("objects"));
})();

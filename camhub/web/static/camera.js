// One camera at full size: its live picture and every processor's view, plus stats.
// A video camera's live view plays its own stream as video (live.js); the picture
// stream then leaves its live JPEGs out, so the hub neither decodes nor encodes them.
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
  let player = null; // camhubLive.Player while the live view plays video
  let videoFailed = null; // why live video gave up here (then JPEG)
  let stream = null;
  let streamSkip = null; // whether the open picture stream leaves the live JPEGs out

  document.getElementById("title").textContent = name;
  document.title = name + " · camhub";
  const base = camhub.cameraPath(name);
  document.getElementById("snapshot").href = base + "/snapshot.jpg";
  document.getElementById("mjpeg").href = base + "/stream.mjpg";
  document.getElementById("json").href = base;
  document.getElementById("history").href = "/events?camera=" + encodeURIComponent(name);

  function sinkFor(view) {
    let sink = sinks.get(view);
    if (!sink) {
      const fig = template.content.firstElementChild.cloneNode(true);
      fig.dataset.view = view;
      fig.querySelector("figcaption").textContent = view === "live" ? "" : view + " view";
      const img = fig.querySelector("img");
      img.alt = name + " " + view;
      // The <img> stays hidden until a picture decodes: never a broken-image icon.
      img.addEventListener("load", () => {
        img.hidden = fig.dataset.mode === "video";
        fig.querySelector(".placeholder").hidden = true;
      });
      views.appendChild(fig);
      sink = new camhub.ImageSink(img);
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

  let lastAnswer = Date.now();
  let lastCam = null;

  // No such camera (or no name at all): say so, link back, and hide links that lead nowhere.
  function unknown(message) {
    badge.textContent = "unknown camera";
    badge.className = "badge inline offline";
    document.getElementById("missing-text").textContent = message;
    document.getElementById("missing").hidden = false;
    document.querySelector(".details").hidden = true;
    views.hidden = true;
  }

  // What the live view's caption says, and, while it has no picture, its placeholder:
  // never "live" unless it is, and in words what is wrong, in the state's colour.
  function describeLive(cam, st) {
    const fig = views.querySelector('figure[data-view="live"]');
    if (!fig) return;
    const caption = {
      live: "live",
      stale: "last picture, " + camhub.fmtAgo(st.age || 0) + " old",
      offline: cam.frames ? "last picture, " + camhub.fmtClock(cam.last_seen) : "no picture",
      waiting: "no picture yet",
      "hub-down": "hub unreachable: the picture is not live",
    }[st.state];
    fig.querySelector("figcaption").textContent = caption;
    const holder = fig.querySelector(".placeholder");
    const video = fig.querySelector("video");
    const pictured = fig.dataset.mode === "video" ? Boolean(video && video.readyState >= 2)
      : Boolean(fig.querySelector("img").dataset.shown);
    holder.hidden = pictured;
    if (pictured) return;
    const words = {
      waiting: `Not connected: the hub has not received a frame from “${name}” yet.`,
      offline: `Offline: no frames from “${name}” for ${camhub.fmtAgo(st.age || 0)}.`,
      stale: `No new frames from “${name}” for ${camhub.fmtAgo(st.age || 0)}.`,
      "hub-down": "The hub does not answer.",
      live: "Waiting for the first picture…",
    }[st.state];
    holder.textContent = words + (cam.reason ? " " + cam.reason : "") +
      (cam.source && st.state === "waiting" ? " Source: " + cam.source : "");
    holder.className = "placeholder " + st.state;
  }

  // Object detection off: the "objects" box is neither ticked nor usable.
  function objectsSwitch(on) {
    const box = document.getElementById("objects");
    box.disabled = !on;
    if (!on) box.checked = false;
    else box.checked = camhubObjects.shown;
    document.getElementById("objects-switch").title = on
      ? "Draw tracked objects, zones and counting lines (object detection)"
      : "Object detection is off on this hub (start it with --detect person)";
    document.getElementById("objects-switch").classList.toggle("off", !on);
  }

  function show(cam, hubDownFor) {
    const st = camhub.cameraState(cam, hubDownFor);
    const live = st.state === "live";
    badge.textContent = st.badge;
    badge.className = "badge inline " + st.state;
    describeLive(cam, st);
    document.body.dataset.state = st.state;
    document.body.classList.toggle("offline", st.state === "offline" || st.state === "waiting");
    document.body.classList.toggle("stale", !live);
    const rows = [
      row("state", st.state === "live" ? "live" : st.badge),
      row("frames per second", live ? cam.fps.toFixed(1) : "0.0"),
      row("resolution", camhub.fmtRes(cam) || "unknown"),
      // Capture-to-hub latency describes a live picture; otherwise say how old it is.
      row("frame age (capture → hub)", !live
        ? (st.age === null || !cam.frames ? "no picture" : "picture is " + camhub.fmtAgo(st.age) + " old")
        : cam.age_ms === null ? "not stamped" : camhub.fmtAge(cam.age_ms)),
      row("bandwidth", live ? camhub.fmtRate(cam.kbps) : camhub.fmtRate(0)),
      row("frames received", String(cam.frames)),
      row("dropped / malformed", cam.dropped + " / " + cam.malformed),
      row("encoding", cam.encoding || ""),
      row("sender", cam.peer || ""),
      row("first seen", cam.frames ? camhub.fmtClock(cam.first_seen) : "never"),
      row("last frame", cam.frames ? camhub.fmtClock(cam.last_seen) : "never"),
    ];
    if (cam.source) rows.splice(1, 0, row("source", cam.source));
    if (cam.reason && !live) rows.splice(1, 0, row("why", cam.reason));
    tbody.replaceChildren(...rows);
    procdata.replaceChildren();
    for (const [pname, p] of Object.entries(cam.processors || {})) {
      const div = document.createElement("div");
      div.className = "proc-block";
      const h = document.createElement("h2");
      h.textContent = camhub.describeProcessor(pname, p) + (live ? "" : " (stale: camera not live)");
      const pre = document.createElement("pre");
      const s = p.stats || {};
      pre.textContent = "processed " + (s.processed || 0) + ", skipped " + (s.skipped || 0) +
        ", errors " + (s.errors || 0) + ", " + (s.avg_ms || 0).toFixed(1) + " ms/frame\n" +
        JSON.stringify({ data: p.data, detections: p.detections }, null, 1);
      div.append(h, pre);
      procdata.append(div);
    }
    const det = cam.objects && cam.objects.stats;
    if (det) {
      const div = document.createElement("div");
      div.className = "proc-block detection";
      const h = document.createElement("h2");
      h.textContent = "object detection: " + det.status;
      const pre = document.createElement("pre");
      pre.textContent = det.detect_fps.toFixed(1) + " detections/s (target " + det.detect_fps_target +
        "), " + det.inferences + " inferences, " + det.no_motion + " looks without motion, " +
        det.skipped + " frames skipped, " + det.failed + " lost to worker restarts\n" +
        det.inference_ms.toFixed(0) + " ms per inference, " + det.queue_wait_ms.toFixed(0) +
        " ms from arrival to dispatch\n" + JSON.stringify(det.counts, null, 1);
      div.append(h, pre);
      procdata.append(div);
    }
  }

  async function poll() {
    let cam;
    try {
      const resp = await fetch(base, { cache: "no-store" });
      if (resp.status === 404) { unknown("There is no camera named “" + name + "” on this hub."); return; }
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      cam = await resp.json();
    } catch (err) {
      if (lastCam) show(lastCam, Math.max(0.001, (Date.now() - lastAnswer) / 1000));
      else { badge.textContent = "hub unreachable"; badge.className = "badge inline hub-down"; }
      return;
    }
    lastAnswer = Date.now();
    lastCam = cam;
    objectsSwitch(Boolean(cam.objects));
    sinkFor("live");
    for (const v of cam.views) sinkFor(v);
    show(cam, 0);
    syncVideo(cam);
  }

  function syncVideo(cam) {
    const fig = views.querySelector('figure[data-view="live"]');
    const frame = fig.querySelector(".frame");
    let video = frame.querySelector("video");
    if (!video) {
      video = document.createElement("video");
      video.muted = true;
      video.hidden = true;
      video.addEventListener("loadeddata", () => { fig.querySelector(".placeholder").hidden = true; });
      frame.prepend(video);
    }
    const on = !videoFailed && camhubLive.wanted(cam.encoding);
    if (on && !player) {
      player = new camhubLive.Player(video, name, (reason) => {
        videoFailed = reason;
        fig.dataset.videoError = reason;
        syncVideo(lastCam);
      }, cam.encoding);
    } else if (!on && player) {
      player.stop();
      player = null;
    }
    video.hidden = !on;
    const img = frame.querySelector("img");
    img.hidden = on || !img.dataset.shown; // no picture yet: the placeholder says why
    fig.dataset.mode = on ? "video" : "jpeg";
    openPictures(on);
  }

  function openPictures(skipLive) {
    if (stream && streamSkip === skipLive) return;
    if (stream) stream.close();
    streamSkip = skipLive;
    const url = "/api/stream?objects=1&camera=" + encodeURIComponent(name) +
      (skipLive ? "&skip=" + encodeURIComponent(name) : "");
    stream = camhub.openStream(url, (head, bytes) => {
      if (head.view === "objects") {
        const live = views.querySelector('figure[data-view="live"]');
        if (live) camhubObjects.draw(live.querySelector(".frame"), JSON.parse(new TextDecoder().decode(bytes)), objectsLine);
        return;
      }
      sinkFor(head.view).put(bytes);
    });
  }

  if (!name) {
    unknown("No camera chosen: open a camera from the grid.");
    return;
  }
  // The picture stream opens once the first answer says whether this camera is video.
  poll().then(() => { if (!stream) openPictures(false); });
  setInterval(poll, 1000);
  camhubObjects.bindToggle(document.getElementById("objects"));
  document.getElementById("objects").disabled = true; // until the hub says detection is on
  document.getElementById("objects").checked = false;
})();

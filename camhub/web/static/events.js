// The events page: a list of events with snapshots, a per-camera timeline of recordings
// and events, and a player for clips. Names and labels are data: they reach the page
// only through textContent, and URLs are built with encodeURIComponent.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const player = $("player");
  let refreshTimer = null;

  async function getJSON(url) {
    const resp = await fetch(url, { cache: "no-store" });
    if (!resp.ok) throw new Error(url + ": HTTP " + resp.status);
    return resp.json();
  }

  function when(t) {
    return new Date(t * 1000).toLocaleString([], { hour12: false }); // 24-hour, as everywhere
  }

  function seconds(s) {
    return s < 90 ? s.toFixed(1) + " s" : (s / 60).toFixed(1) + " min";
  }

  function play(url, title) {
    $("player-box").hidden = false;
    $("player-title").textContent = title;
    player.src = url;
    player.play().catch(() => {}); // autoplay may be refused; the controls remain
    player.scrollIntoView({ block: "nearest" });
  }

  player.addEventListener("error", async () => {
    // The clip URL answers JSON with a reason (e.g. 409: nothing recorded then).
    try {
      const resp = await fetch(player.src, { cache: "no-store" });
      const body = await resp.json();
      $("player-title").textContent = body.error || "cannot play this clip";
    } catch (e) {
      $("player-title").textContent = "cannot play this clip";
    }
  });

  function query() {
    const params = new URLSearchParams();
    if ($("camera").value) params.set("camera", $("camera").value);
    if ($("label").value) params.set("label", $("label").value);
    params.set("limit", "200");
    return params;
  }

  function renderEvents(events) {
    const list = $("events");
    const template = $("event-template");
    list.replaceChildren();
    $("none").hidden = events.length > 0;
    for (const ev of events) {
      const node = template.content.firstElementChild.cloneNode(true);
      node.dataset.id = ev.id;
      const tag = node.querySelector(".tag");
      tag.textContent = ev.label;
      tag.classList.add(ev.label);
      if (ev.end === null) tag.classList.add("active");
      node.querySelector(".name").textContent = ev.camera;
      const duration = (ev.end === null ? Date.now() / 1000 : ev.end) - ev.start;
      node.querySelector(".when").textContent = when(ev.start) + " · " + seconds(duration);
      const img = node.querySelector("img");
      if (ev.has_snapshot) {
        img.src = ev.links.snapshot;
        img.alt = ev.label + " on " + ev.camera;
      } else {
        img.alt = "no snapshot";
      }
      node.querySelector(".thumb").addEventListener("click", () => {
        play(ev.links.clip, ev.label + " on " + ev.camera + ", " + when(ev.start));
      });
      list.append(node);
    }
  }

  function renderTimeline(recordings, events) {
    const span = Number($("span").value);
    const now = Date.now() / 1000;
    const from = now - span;
    const pct = (t) => Math.max(0, Math.min(100, ((t - from) / span) * 100));
    const cameras = new Set(recordings.cameras);
    for (const ev of events) cameras.add(ev.camera);
    const box = $("timeline");
    box.replaceChildren();
    for (const cam of [...cameras].sort()) {
      if ($("camera").value && cam !== $("camera").value) continue;
      const track = document.createElement("div");
      track.className = "track";
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = cam;
      const lane = document.createElement("div");
      lane.className = "lane";
      for (const seg of recordings.segments) {
        if (seg.camera !== cam || seg.end < from) continue;
        const b = document.createElement("button");
        b.type = "button";
        b.className = "seg";
        b.style.left = pct(seg.start) + "%";
        b.style.width = Math.max(0.2, pct(seg.end) - pct(seg.start)) + "%";
        b.title = when(seg.start) + " – " + when(seg.end);
        b.addEventListener("click", (e) => {
          const rect = lane.getBoundingClientRect();
          const t = Math.max(seg.start, from + ((e.clientX - rect.left) / rect.width) * span);
          const url = "/api/recordings/clip.mp4?camera=" + encodeURIComponent(cam) +
            "&start=" + t.toFixed(3) + "&end=" + (t + 60).toFixed(3);
          play(url, cam + " from " + when(t));
        });
        lane.append(b);
      }
      let lastThumb = -100;
      for (const ev of [...events].sort((a, b) => a.start - b.start)) {
        if (ev.camera !== cam) continue;
        const end = ev.end === null ? now : ev.end;
        if (end < from) continue;
        if (ev.has_snapshot && pct(ev.start) - lastThumb >= 6) {
          // a thumbnail where there is room for one; the marks show every event
          lastThumb = pct(ev.start);
          const img = document.createElement("img");
          img.className = "thumb-mark";
          img.src = ev.links.snapshot;
          img.alt = ev.label;
          img.style.left = pct(ev.start) + "%";
          img.addEventListener("click", () => play(ev.links.clip, ev.label + " on " + cam));
          lane.append(img);
        }
        const m = document.createElement("button");
        m.type = "button";
        m.className = "mark " + (ev.label === "offline" ? "offline" : "motion");
        m.style.left = pct(ev.start) + "%";
        m.style.width = Math.max(0.3, pct(end) - pct(ev.start)) + "%";
        m.title = ev.label + " " + when(ev.start);
        m.addEventListener("click", () => play(ev.links.clip, ev.label + " on " + cam));
        lane.append(m);
      }
      track.append(name, lane);
      box.append(track);
    }
  }

  function fillCameras(names) {
    const select = $("camera");
    const have = new Set([...select.options].map((o) => o.value));
    for (const name of names) {
      if (have.has(name)) continue;
      const opt = document.createElement("option");
      opt.value = name;
      opt.textContent = name;
      select.append(opt);
    }
  }

  async function refresh() {
    const span = Number($("span").value);
    const after = Date.now() / 1000 - span;
    try {
      const [events, recordings, status] = await Promise.all([
        getJSON("/api/events?" + query()),
        getJSON("/api/recordings?after=" + after.toFixed(0)),
        getJSON("/api/recording"),
      ]);
      renderEvents(events.events);
      fillCameras([...recordings.cameras, ...events.events.map((e) => e.camera)]);
      renderTimeline(recordings, events.events);
      const health = status.health || [];
      $("health").hidden = health.length === 0;
      $("health").textContent = health.join(" · ");
      const rec = status.recorder;
      $("summary").textContent = rec
        ? `recording: ${rec.cameras.filter((c) => c.recording).length} camera(s) now, ` +
          `${rec.dropped} frame(s) dropped`
        : "recording off";
    } catch (e) {
      $("summary").textContent = "cannot reach the hub: " + e.message;
    }
  }

  function soon() {
    if (refreshTimer === null) {
      refreshTimer = setTimeout(() => {
        refreshTimer = null;
        refresh();
      }, 300);
    }
  }

  // /events?camera=NAME&label=LABEL opens the page filtered (links from elsewhere)
  const wanted = new URLSearchParams(location.search);
  if (wanted.get("camera")) {
    fillCameras([wanted.get("camera")]);
    $("camera").value = wanted.get("camera");
  }
  if (wanted.get("label")) {
    const label = $("label");
    if (![...label.options].some((o) => o.value === wanted.get("label"))) {
      const opt = document.createElement("option");
      opt.textContent = wanted.get("label");
      label.append(opt);
    }
    label.value = wanted.get("label");
  }
  for (const id of ["camera", "label", "span"]) $(id).addEventListener("change", refresh);
  const stream = new EventSource("/api/events/stream");
  stream.addEventListener("new", soon);
  stream.addEventListener("update", soon);
  stream.addEventListener("end", soon);
  setInterval(refresh, 15000);
  refresh();
})();

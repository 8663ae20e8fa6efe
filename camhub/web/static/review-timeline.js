// The review page's timeline: one lane per camera (grey: recorded; colour: events), a
// time axis with ticks, a "now" marker, a playhead, zoom and pan. Pointer input lives on
// the lanes' container, not on the marks, so redrawing the marks never eats a click:
// press and drag scrubs, release (or a plain click) plays from that moment.
"use strict";

const reviewTimeline = (() => {
  const STEPS = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
    43200, 86400, 172800, 604800];
  const MIN_SPAN = 60;
  const MAX_SPAN = 30 * 86400;

  function clock(t, seconds) {
    return new Date(t * 1000).toLocaleTimeString([], {
      hour12: false, hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined,
    });
  }

  function day(t) {
    return new Date(t * 1000).toLocaleDateString([], { month: "short", day: "numeric" });
  }

  function spanText(s) {
    if (s < 120) return Math.round(s) + " s";
    if (s < 7200) return Math.round(s / 60) + " min";
    if (s < 2 * 86400) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " days";
  }

  function labelClass(label) {
    if (label === "offline") return "offline";
    if (label === "motion") return "motion";
    return "object";
  }

  function create(els, handlers) {
    const now = () => Date.now() / 1000;
    const view = { from: now() - 3600, to: now() + 30 };
    let data = { cameras: [], segments: [], events: [] };
    let head = null; // {camera, t}
    let drag = null;
    let follow = true; // the right edge keeps up with now (until the user pans or zooms)

    const pct = (t) => ((t - view.from) / (view.to - view.from)) * 100;
    const inView = (t) => t >= view.from && t <= view.to;

    // The lane drawn now for `camera`: a redraw (new data every few seconds) replaces the
    // lane elements, also in the middle of a drag.
    function laneOf(camera, fallback) {
      for (const lane of els.lanes.querySelectorAll(".lane")) {
        if (lane.dataset.camera === camera) return lane;
      }
      return fallback;
    }

    function timeAt(lane, clientX) {
      lane = laneOf(lane.dataset.camera, lane);
      const r = lane.getBoundingClientRect();
      const x = Math.max(0, Math.min(r.width, clientX - r.left));
      return view.from + (x / r.width) * (view.to - view.from);
    }

    function drawAxis() {
      const span = view.to - view.from;
      const width = els.axis.getBoundingClientRect().width || 600;
      const most = Math.max(2, Math.floor(width / 80));
      const step = STEPS.find((s) => span / s <= most) || STEPS[STEPS.length - 1];
      const tz = -new Date(view.from * 1000).getTimezoneOffset() * 60; // ticks on local time
      const ticks = [];
      for (let t = Math.ceil((view.from + tz) / step) * step - tz; t <= view.to; t += step) {
        const tick = document.createElement("span");
        tick.className = "tick";
        tick.style.left = pct(t) + "%";
        const midnight = (t + tz) % 86400 === 0;
        tick.textContent = step >= 86400 || midnight ? day(t) : clock(t, step < 60);
        if (midnight) tick.classList.add("day");
        ticks.push(tick);
      }
      els.axis.replaceChildren(...ticks);
      els.spanLabel.textContent = spanText(span);
    }

    function drawLanes() {
      const lanes = [];
      for (const cam of data.cameras) {
        const track = document.createElement("div");
        track.className = "track";
        track.dataset.camera = cam;
        const name = document.createElement("span");
        name.className = "name";
        name.textContent = cam;
        name.title = cam;
        const lane = document.createElement("div");
        lane.className = "lane";
        lane.dataset.camera = cam;
        for (const seg of data.segments) {
          const end = seg.closed ? seg.end : now();
          if (seg.camera !== cam || end < view.from || seg.start > view.to) continue;
          const b = document.createElement("div");
          b.className = "seg" + (seg.container === "fmp4" ? " video" : "");
          b.style.left = Math.max(0, pct(seg.start)) + "%";
          b.style.width = Math.max(0.15, Math.min(100, pct(end)) - Math.max(0, pct(seg.start))) + "%";
          lane.append(b);
        }
        for (const ev of data.events) {
          const end = ev.end === null ? now() : ev.end;
          if (ev.camera !== cam || end < view.from || ev.start > view.to) continue;
          const m = document.createElement("div");
          m.className = "mark " + labelClass(ev.label);
          m.style.left = Math.max(0, pct(ev.start)) + "%";
          m.style.width = Math.max(0.3, Math.min(100, pct(end)) - Math.max(0, pct(ev.start))) + "%";
          m.title = ev.label + " " + clock(ev.start, true);
          m.dataset.id = ev.id;
          lane.append(m);
        }
        track.append(name, lane);
        lanes.push(track);
      }
      els.lanes.replaceChildren(...lanes);
    }

    function drawMarkers() {
      const t = now();
      if (follow && !drag && t > view.to) { // slide on by a quarter, now stays in view
        const shift = (view.to - view.from) / 4;
        setView(view.from + shift, view.to + shift, false, true);
        return;
      }
      els.nowMarker.hidden = !inView(t);
      els.nowMarker.style.left = pct(t) + "%";
      const show = head !== null && inView(head.t);
      els.playhead.hidden = !show;
      if (show) {
        els.playhead.style.left = pct(head.t) + "%";
        els.playhead.classList.toggle("flip", pct(head.t) > 85); // its time to the left
        els.playheadTime.textContent = clock(head.t, true);
      }
    }

    function draw() {
      drawAxis();
      drawLanes();
      drawMarkers();
    }

    function setView(from, to, quiet, following) {
      follow = Boolean(following);
      let span = Math.max(MIN_SPAN, Math.min(MAX_SPAN, to - from));
      const mid = (from + to) / 2;
      view.from = mid - span / 2;
      view.to = mid + span / 2;
      draw();
      if (!quiet) handlers.onView(view.from, view.to);
    }

    function zoom(factor, centre) {
      const c = centre ?? (head && inView(head.t) ? head.t : (view.from + view.to) / 2);
      const span = Math.max(MIN_SPAN, Math.min(MAX_SPAN, (view.to - view.from) * factor));
      const left = (c - view.from) / (view.to - view.from);
      setView(c - span * left, c + span * (1 - left));
    }

    function pan(fraction) {
      const shift = (view.to - view.from) * fraction;
      setView(view.from + shift, view.to + shift);
    }

    function fit(times) {
      // from the oldest of these times to now, with a margin; never under a minute
      const t = now();
      const oldest = times.length ? Math.min(...times) : t - 3600;
      const span = Math.max(MIN_SPAN, (t - oldest) * 1.08);
      setView(t - span, t + span * 0.05, false, true);
    }

    els.lanes.addEventListener("pointerdown", (e) => {
      const lane = e.target.closest(".lane");
      if (!lane || e.button !== 0) return;
      e.preventDefault();
      els.lanes.setPointerCapture(e.pointerId);
      drag = { lane, camera: lane.dataset.camera, x: e.clientX, moved: false };
      head = { camera: drag.camera, t: timeAt(lane, e.clientX) };
      drawMarkers();
    });
    els.lanes.addEventListener("pointermove", (e) => {
      if (!drag) return;
      if (Math.abs(e.clientX - drag.x) > 3) drag.moved = true;
      head = { camera: drag.camera, t: timeAt(drag.lane, e.clientX) };
      drawMarkers();
      if (drag.moved) handlers.onScrub(drag.camera, head.t);
    });
    const release = (e) => {
      if (!drag) return;
      const d = drag;
      drag = null;
      if (e.type === "pointerup") handlers.onSeek(d.camera, timeAt(d.lane, e.clientX));
    };
    els.lanes.addEventListener("pointerup", release);
    els.lanes.addEventListener("pointercancel", release);
    els.lanes.addEventListener("wheel", (e) => {
      const lane = e.target.closest(".lane");
      if (!lane || !(e.ctrlKey || e.altKey)) return; // plain wheel scrolls the page
      e.preventDefault();
      zoom(e.deltaY > 0 ? 1.25 : 0.8, timeAt(lane, e.clientX));
    }, { passive: false });
    window.addEventListener("resize", drawAxis);
    setInterval(drawMarkers, 1000);

    return {
      view,
      setData(next) { data = next; draw(); },
      setPlayhead(camera, t) {
        head = t === null ? null : { camera, t };
        if (head && !drag && head.t > view.to && head.t - view.to < (view.to - view.from)) {
          pan(0.5); // follow playback past the right edge
        }
        drawMarkers();
      },
      setView, zoom, pan, fit,
      toNow() {
        const span = view.to - view.from;
        setView(now() - span * 0.95, now() + span * 0.05, false, true);
      },
      dragging: () => drag !== null && drag.moved,
    };
  }

  return { create, clock, day, labelClass };
})();

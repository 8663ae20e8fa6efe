// The review page: filters from the data, a list of events paged over the whole history
// that updates in place (new events go on top without moving what the user is looking
// at), marks of reviewed events, the timeline (review-timeline.js) and the player
// (review-player.js). Names and labels are data: they reach the page only through
// textContent, and URLs are built with URLSearchParams / encodeURIComponent.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const PAGE = 50;
  const cards = new Map(); // event id -> card node
  let facets = { cameras: [], recording: {}, recorder: false };
  let older = null; // the cursor of the next page, or null
  let loading = 0;

  async function getJSON(url) {
    const resp = await fetch(url, { cache: "no-store" });
    if (!resp.ok) throw new Error(url + ": HTTP " + resp.status);
    return resp.json();
  }

  const when = (t) => new Date(t * 1000).toLocaleString([], { hour12: false });
  const seconds = (s) => (s < 90 ? s.toFixed(1) + " s" : (s / 60).toFixed(1) + " min");

  // -- timeline and player ----------------------------------------------------------
  const timeline = reviewTimeline.create(
    {
      axis: $("axis"), lanes: $("lanes"), nowMarker: $("now-marker"), playhead: $("playhead"),
      playheadTime: $("playhead-time"), spanLabel: $("span-label"),
    },
    {
      onView: () => loadTimeline(),
      onScrub: (camera, t) => player.scrubTo(camera, t),
      onSeek: (camera, t) => {
        if (!player.scrubTo(camera, t)) player.playAt(camera, t);
      },
    },
  );
  const player = reviewPlayer.create(
    {
      box: $("player-box"), video: $("player"), title: $("player-title"),
      status: $("player-status"), download: $("download"),
    },
    {
      recordingMode: (camera) => (facets.recorder ? facets.recording[camera] || "off" : "off"),
      onTime: (camera, t) => {
        if (!timeline.dragging()) timeline.setPlayhead(camera, t); // the pointer leads
      },
    },
  );

  function playEvent(ev) {
    const title = `${ev.label} on ${ev.camera}, ${when(ev.start)}`;
    const end = ev.end === null ? Date.now() / 1000 : ev.end;
    // a little before it (pre-roll), else from its start, else any part of it
    player.playAt(ev.camera, ev.start - 3, title, ev.links.clip, [ev.start, end]);
    $("player-box").scrollIntoView({ block: "nearest" });
  }

  // -- filters ----------------------------------------------------------------------
  function fillSelect(select, values) {
    const have = new Set([...select.options].map((o) => o.value));
    for (const value of values) {
      if (have.has(value)) continue; // each value once, however many events have it
      have.add(value);
      const opt = document.createElement("option");
      opt.value = value;
      opt.textContent = value;
      select.append(opt);
    }
  }

  function query() {
    const params = new URLSearchParams();
    for (const id of ["camera", "label", "zone"]) if ($(id).value) params.set(id, $(id).value);
    if ($("hide-reviewed").checked) params.set("reviewed", "0");
    if ($("day").value) {
      const end = new Date($("day").value + "T00:00:00");
      end.setDate(end.getDate() + 1);
      params.set("before", (end.getTime() / 1000).toFixed(0));
    }
    return params;
  }

  // -- the list -----------------------------------------------------------------------
  function fillCard(node, ev) {
    const tag = node.querySelector(".tag");
    tag.textContent = ev.label;
    tag.className = "tag " + reviewTimeline.labelClass(ev.label);
    tag.classList.toggle("active", ev.end === null);
    node.querySelector(".name").textContent = ev.camera;
    const duration = (ev.end === null ? Date.now() / 1000 : ev.end) - ev.start;
    node.querySelector(".when").textContent = when(ev.start) + " · " + seconds(duration);
    const bits = [];
    const score = ev.top_score ?? ev.score;
    if (score !== null && score !== undefined && ev.label !== "motion" && ev.label !== "offline") {
      bits.push(Math.round(score * 100) + "%");
    }
    // the zones it is in, and those it was in (an object event's data.entered)
    const entered = Array.isArray(ev.data && ev.data.entered) ? ev.data.entered.map((z) => z.zone) : [];
    const zones = [...new Set([...ev.zones, ...entered.filter((z) => typeof z === "string")])];
    if (zones.length) bits.push("zone " + zones.join(", "));
    node.querySelector(".detail").textContent = bits.join(" · ");
    const img = node.querySelector("img");
    const nosnap = node.querySelector(".nosnap");
    if (ev.has_snapshot && img.getAttribute("src") !== ev.links.snapshot) {
      img.src = ev.links.snapshot;
      img.alt = ev.label + " on " + ev.camera;
    }
    img.hidden = !ev.has_snapshot;
    nosnap.hidden = ev.has_snapshot;
    node.classList.toggle("reviewed", Boolean(ev.reviewed));
    node.querySelector(".review-toggle").textContent = ev.reviewed ? "✓ reviewed" : "mark reviewed";
    node.querySelector(".clip").href = ev.links.clip;
    node.ev = ev;
  }

  function makeCard(ev) {
    const node = $("event-template").content.firstElementChild.cloneNode(true);
    node.dataset.id = ev.id;
    node.querySelector(".thumb").addEventListener("click", () => playEvent(node.ev));
    node.querySelector(".review-toggle").addEventListener("click", () => {
      markReviewed([node.ev.id], !node.ev.reviewed);
    });
    fillCard(node, ev);
    cards.set(ev.id, node);
    return node;
  }

  const waiting = []; // new events held back while the user looks further down

  function listTopInView() {
    const top = $("events").getBoundingClientRect().top;
    return top >= 0 && top < window.innerHeight;
  }

  function showWaiting() {
    waiting.sort((a, b) => b.start - a.start);
    $("events").prepend(...waiting.filter((ev) => !cards.has(ev.id)).map(makeCard));
    waiting.length = 0;
    $("new-events").hidden = true;
  }

  function showList(events, mode) {
    const list = $("events");
    if (mode === "replace") {
      cards.clear();
      waiting.length = 0;
      list.replaceChildren(...events.map(makeCard));
    } else if (mode === "append") {
      for (const ev of events) if (!cards.has(ev.id)) list.append(makeCard(ev));
    } else { // "merge": update cards in place; new events go on top, or wait
      for (const ev of events) {
        const node = cards.get(ev.id);
        if (node) fillCard(node, ev);
        else if (!list.firstElementChild || ev.start >= list.firstElementChild.ev.start) {
          if (!waiting.some((w) => w.id === ev.id)) waiting.push(ev);
        }
      }
      // In a grid, cards put on top move every card after them sideways or down a row;
      // so they go in only while the top of the list is in view, else they wait behind
      // a "new events" button and what the user looks at stays where it is.
      if (waiting.length && listTopInView()) showWaiting();
    }
    const pill = $("new-events");
    pill.hidden = waiting.length === 0;
    pill.textContent = `↑ ${waiting.length} new event${waiting.length === 1 ? "" : "s"}`;
    $("none").hidden = list.children.length > 0;
  }

  async function loadList(mode) {
    const params = query();
    params.set("limit", String(PAGE));
    if (mode === "append") {
      if (!older) return;
      params.set("cursor", older);
    }
    // Only a new list (filters changed) outdates answers still on their way.
    const mine = mode === "replace" ? ++loading : loading;
    const page = await getJSON("/api/events?" + params);
    if (mine !== loading) return; // the filters changed meanwhile
    showList(page.events, mode);
    if (mode !== "merge") older = page.next;
    $("older").hidden = !older;
    return page.events;
  }

  async function markReviewed(ids, reviewed) {
    if (!ids.length) return;
    const resp = await fetch("/api/events/reviewed", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ids, reviewed }),
    });
    if (!resp.ok) return;
    for (const id of ids) {
      const node = cards.get(id);
      if (!node) continue;
      if (reviewed && $("hide-reviewed").checked) {
        node.remove();
        cards.delete(id);
      } else {
        fillCard(node, { ...node.ev, reviewed: reviewed ? Date.now() / 1000 : null });
      }
    }
    $("none").hidden = $("events").children.length > 0;
  }

  // -- the timeline's data --------------------------------------------------------------
  let timelineTimer = null;
  function loadTimeline() {
    clearTimeout(timelineTimer);
    timelineTimer = setTimeout(async () => {
      const { from, to } = timeline.view;
      const span = new URLSearchParams({ after: from.toFixed(0), before: to.toFixed(0) });
      const evq = new URLSearchParams(span);
      evq.set("limit", "1000");
      for (const id of ["camera", "label", "zone"]) if ($(id).value) evq.set(id, $(id).value);
      const recq = new URLSearchParams(span);
      if ($("camera").value) recq.set("camera", $("camera").value);
      try {
        const [recs, evs] = await Promise.all([
          getJSON("/api/recordings?" + recq), getJSON("/api/events?" + evq),
        ]);
        const cams = $("camera").value ? [$("camera").value] : facets.cameras;
        timeline.setData({ cameras: cams, segments: recs.segments, events: evs.events });
      } catch (e) {
        $("summary").textContent = "cannot reach the hub: " + e.message;
      }
    }, 150);
  }

  // -- refresh ---------------------------------------------------------------------------
  async function loadFacets() {
    facets = await getJSON("/api/events/facets");
    fillSelect($("camera"), facets.cameras);
    fillSelect($("label"), facets.labels);
    fillSelect($("zone"), facets.zones);
    if (facets.first !== null) $("day").min = new Date(facets.first * 1000).toISOString().slice(0, 10);
  }

  async function loadStatus() {
    const status = await getJSON("/api/recording");
    const health = status.health || [];
    $("health").hidden = health.length === 0;
    $("health").textContent = health.join(" · ");
    const rec = status.recorder;
    $("summary").textContent = rec
      ? `recording: ${rec.cameras.filter((c) => c.recording).length} camera(s) now, ` +
        `${rec.dropped} frame(s) dropped`
      : "recording off (start the hub with --record events to keep video)";
  }

  let refreshTimer = null;
  function soon() { // events arrive in bursts: one refresh for a burst
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      try {
        await loadFacets();
        if (!$("day").value) await loadList("merge"); // a picked day shows a fixed past
        loadTimeline();
      } catch (e) {
        $("summary").textContent = "cannot reach the hub: " + e.message;
      }
    }, 500);
  }

  async function restart(fitTimeline) {
    const events = await loadList("replace");
    if (!fitTimeline) return loadTimeline();
    if ($("day").value) {
      const start = new Date($("day").value + "T00:00:00").getTime() / 1000;
      timeline.setView(start, start + 86400);
    } else {
      timeline.fit((events || []).slice(0, 20).map((e) => e.start));
    }
  }

  // /events?camera=NAME&label=LABEL opens the page filtered (links from elsewhere)
  const wanted = new URLSearchParams(location.search);
  for (const id of ["camera", "label", "zone"]) {
    const value = wanted.get(id);
    if (value) {
      fillSelect($(id), [value]);
      $(id).value = value;
    }
  }
  for (const id of ["camera", "label", "zone", "hide-reviewed"]) $(id).addEventListener("change", () => restart(false));
  $("day").addEventListener("change", () => restart(true));
  $("older").addEventListener("click", () => loadList("append"));
  $("new-events").addEventListener("click", () => {
    showWaiting();
    $("list-title").scrollIntoView({ block: "start" });
  });
  $("mark-all").addEventListener("click", () => {
    markReviewed([...cards.values()].filter((n) => !n.ev.reviewed).map((n) => n.ev.id), true);
  });
  $("zoom-in").addEventListener("click", () => timeline.zoom(0.5));
  $("zoom-out").addEventListener("click", () => timeline.zoom(2));
  $("pan-back").addEventListener("click", () => timeline.pan(-0.5));
  $("pan-on").addEventListener("click", () => timeline.pan(0.5));
  $("to-now").addEventListener("click", () => timeline.toNow());
  $("fit").addEventListener("click", () => {
    timeline.fit([...cards.values()].slice(0, 20).map((n) => n.ev.start));
  });
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  window.camhubReview = { timeline, player }; // for the browser tests and the console

  const stream = new EventSource("/api/events/stream");
  for (const kind of ["new", "update", "end"]) stream.addEventListener(kind, soon);
  setInterval(() => loadStatus().catch(() => {}), 15000);
  setInterval(soon, 15000); // durations of events going on, and anything the stream missed
  (async () => {
    try {
      await loadFacets();
      await Promise.all([restart(true), loadStatus()]);
    } catch (e) {
      $("summary").textContent = "cannot reach the hub: " + e.message;
    }
  })();
})();

// The review page's player. A video camera's recording plays straight from its segment
// files (fragmented MP4, /api/recordings/{id}.mp4): nothing has to be made first, the
// player seeks inside the segment and goes on to the next one when it ends. A JPEG
// camera's recording has to be made into an MP4 first ("preparing clip…"). Where nothing
// was recorded, the page says so in words, and how to turn recording on.
"use strict";

const reviewPlayer = (() => {
  const clock = (t) => reviewTimeline.clock(t, true);
  const GAP = 3; // seconds between two segments that still count as one recording

  function create(els, handlers) {
    const video = els.video;
    let current = null; // {camera, seg, list, clipStart}
    let pendingSeek = null;
    let token = 0;

    function status(text, kind) {
      els.status.hidden = !text;
      els.status.replaceChildren();
      els.status.className = "player-status" + (kind ? " " + kind : "");
      if (!text) return;
      if (typeof text === "string") els.status.textContent = text;
      else els.status.append(...text);
    }

    function show(title, download) {
      els.box.hidden = false;
      els.title.textContent = title;
      els.download.hidden = !download;
      if (download) els.download.href = download;
    }

    async function segmentsAround(camera, t) {
      const q = new URLSearchParams({ camera, after: (t - 1).toFixed(3), before: (t + 3600).toFixed(3) });
      const resp = await fetch("/api/recordings?" + q, { cache: "no-store" });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      const body = await resp.json();
      return body.segments.sort((a, b) => a.start - b.start);
    }

    const endOf = (seg) => (seg.closed ? seg.end : Date.now() / 1000);

    function rangeClip(camera, start, end) {
      const q = new URLSearchParams({ camera, start: start.toFixed(3), end: end.toFixed(3) });
      return "/api/recordings/clip.mp4?" + q;
    }

    function noRecording(camera, t, next) {
      const mode = handlers.recordingMode(camera);
      const words = [`Nothing was recorded on “${camera}” at ${clock(t)}. `];
      if (mode === "off") {
        words.push("Recording is off for this camera. To keep its video, start the hub with ");
        const a = document.createElement("code");
        a.textContent = "--record events";
        const b = document.createElement("code");
        b.textContent = "--record continuous";
        const c = document.createElement("code");
        c.textContent = 'record = "events"';
        words.push(a, " (around each event) or ", b, ", or set ", c,
          " for this camera in the fleet file.");
      } else if (mode === "events") {
        words.push("This camera is recorded only around its events; use ");
        const a = document.createElement("code");
        a.textContent = "--record continuous";
        words.push(a, " to keep everything.");
      } else {
        words.push("The camera was not sending then, or retention has deleted that recording.");
      }
      const parts = words.map((w) => (typeof w === "string" ? document.createTextNode(w) : w));
      if (next) {
        const go = document.createElement("button");
        go.type = "button";
        go.className = "button";
        go.textContent = "play the next recording, " + clock(next.start);
        go.addEventListener("click", () => playAt(camera, next.start));
        parts.push(document.createTextNode(" "), go);
      }
      status(parts, "none");
    }

    function playSegment(camera, seg, list, offset) {
      current = { camera, seg, list, clipStart: null };
      status(null);
      pendingSeek = Math.max(0, offset);
      video.src = seg.url;
      video.play().catch(() => {}); // autoplay may be refused; the controls remain
    }

    // Plays `camera` from time `t`; `fallback` times are tried in order when `t` has no
    // recording (an event: a little before it, its start, any part of it).
    async function playAt(camera, t, title, download, fallback = []) {
      const mine = ++token;
      show(title || `${camera} from ${clock(t)}`, download || rangeClip(camera, t, t + 60));
      let list;
      try {
        list = await segmentsAround(camera, Math.min(t, ...fallback));
      } catch (e) {
        status("cannot reach the hub: " + e.message, "none");
        return;
      }
      if (mine !== token) return; // a later click won
      let at = null;
      let seg = null;
      for (const want of [t, ...fallback]) {
        seg = list.find((s) => s.start <= want + 0.05 && endOf(s) >= want);
        if (seg) { at = want; break; }
      }
      if (!seg && fallback.length) { // an event whose recording starts after its start
        const last = Math.max(...fallback);
        seg = list.find((s) => s.start > t && s.start <= last);
        at = seg ? seg.start : null;
      }
      handlers.onTime(camera, seg ? at : t);
      if (!seg) {
        video.removeAttribute("src");
        video.load();
        current = null;
        noRecording(camera, t, list.find((s) => s.start > t));
        return;
      }
      if (seg.url) {
        playSegment(camera, seg, list, at - seg.start);
        return;
      }
      // JPEG recordings: an MP4 has to be made from the frames first
      let end = endOf(seg);
      for (const s of list) if (s.start > seg.start && s.start - end < GAP) end = Math.max(end, endOf(s));
      const stop = Math.min(end, at + 120);
      current = { camera, seg: null, list, clipStart: at };
      status("preparing clip…", "busy");
      pendingSeek = null;
      video.src = rangeClip(camera, at, stop);
      video.play().catch(() => {});
    }

    // Moves inside what is loaded, if `t` is in it (scrubbing); false otherwise.
    function scrubTo(camera, t) {
      if (!current || current.camera !== camera || !current.seg) return false;
      const seg = current.seg;
      if (t < seg.start || t > endOf(seg)) return false;
      video.currentTime = t - seg.start;
      return true;
    }

    video.addEventListener("loadedmetadata", () => {
      if (pendingSeek !== null && pendingSeek > 0.05) video.currentTime = pendingSeek;
      pendingSeek = null;
    });
    video.addEventListener("playing", () => {
      if (els.status.classList.contains("busy")) status(null);
    });
    video.addEventListener("loadeddata", () => {
      if (els.status.classList.contains("busy")) status(null);
    });
    video.addEventListener("timeupdate", () => {
      if (!current) return;
      const base = current.seg ? current.seg.start : current.clipStart;
      handlers.onTime(current.camera, base + video.currentTime);
    });
    video.addEventListener("ended", async () => {
      if (!current || !current.seg) return;
      const { camera, seg } = current;
      let list = current.list;
      let next = list.find((s) => s.start > seg.start && s.url);
      if (!next) {
        try { list = await segmentsAround(camera, endOf(seg)); } catch (e) { return; }
        next = list.find((s) => s.start > seg.start && s.url);
      }
      if (next && next.start - endOf(seg) < GAP) {
        playSegment(camera, next, list, 0); // on into the next segment
        els.title.textContent = `${camera} from ${clock(next.start)}`;
      } else {
        status(`End of the recording on “${camera}” at ${clock(endOf(seg))}.`, "end");
      }
    });
    video.addEventListener("error", async () => {
      if (!video.getAttribute("src")) return;
      // an API URL answers JSON with a reason (409: nothing recorded then, 429: busy)
      let reason = "cannot play this recording";
      try {
        const resp = await fetch(video.currentSrc || video.src, { cache: "no-store" });
        if (!resp.ok) reason = (await resp.json()).error || reason;
        else if (current && current.seg && current.seg.mime && !MediaSource.isTypeSupported(current.seg.mime)) {
          reason = `this browser cannot play ${current.seg.codec} video; download the clip and play it in VLC`;
        }
      } catch (e) {
        /* keep the plain reason */
      }
      status(reason, "none");
    });

    return { playAt, scrubTo, get current() { return current; } };
  }

  return { create };
})();

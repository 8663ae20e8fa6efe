// Live video: a video camera's own packets, with no decode and no encode on the hub.
// 1. WebRTC (H.264 cameras): the page POSTs an offer to /api/cameras/NAME/webrtc and
//    plays the track it gets; the lowest latency.
// 2. MSE (H.264, H.265, VP8, VP9): fragmented MP4 over a WebSocket
//    (/api/cameras/NAME/live) into Media Source Extensions. The player keeps the
//    playhead near the live edge (it jumps forward when it falls behind, and across the
//    gap a dropped group leaves) and trims what it has played.
// 3. When neither works (no MSE, a codec the browser lacks, the hub says the camera is
//    not video), the player gives up and the page shows the JPEG stream.
"use strict";

window.camhubLive = (() => {
  const VIDEO = new Set(["h264", "hevc", "vp8", "vp9"]);
  // How far behind the newest frame the playhead runs: as little as the network lets it
  // without running dry. It starts at LAG_MIN_S, grows after each stall (the playhead
  // reached the end of what had arrived) and shrinks again while playback is smooth.
  const LAG_MIN_S = 0.1;
  const LAG_MAX_TARGET_S = 0.8;
  const CATCH_UP_S = 0.15; // further behind the target than this: play 10% fast
  const JUMP_S = 0.5; // further behind the target than this: jump
  const KEEP_S = 10; // played video kept in the buffer (for a short look back)
  const refused = new Set(); // MIME types this browser's MSE cannot play

  function supported() {
    return typeof window.MediaSource === "function";
  }

  // Whether a camera that sends `encoding` may be tried as video here.
  function wanted(encoding) {
    const rtc = encoding === "h264" && typeof window.RTCPeerConnection === "function";
    return VIDEO.has(encoding) && (rtc || supported());
  }

  function socketUrl(name) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      camhub.cameraPath(name) + "/live";
  }

  // Plays one camera in `video` over MSE. onFail(reason) once it gives up for good.
  class MsePlayer {
    constructor(video, name, onFail) {
      this.video = video;
      this.name = name;
      this.onFail = onFail;
      this.ws = null;
      this.ms = null;
      this.sb = null;
      this.mime = null;
      this.queue = []; // ArrayBuffers waiting for the SourceBuffer
      this.stopped = false;
      this.failed = false;
      this.retry = 500;
      this.timer = null;
      this.received = 0; // fragments received
      this.bytes = 0; // bytes received (fragments and init segments)
      this.jumps = 0; // times the playhead was moved to the live edge
      this.stalls = 0; // times the playhead ran out of video
      this.target = LAG_MIN_S;
      this.smoothSince = performance.now();
      this.onWaiting = () => {
        if (!this.sb || this.video.paused) return;
        this.stalls += 1;
        this.target = Math.min(LAG_MAX_TARGET_S, this.target + 0.05);
        this.smoothSince = performance.now();
        this.video.dataset.lagTarget = this.target.toFixed(2);
      };
      video.addEventListener("waiting", this.onWaiting);
      video.muted = true;
      video.playsInline = true;
      video.autoplay = true;
      this._connect();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      this.video.removeEventListener("waiting", this.onWaiting);
      if (this.ws) this.ws.close();
      this._detach();
    }

    _fail(reason) {
      if (this.failed || this.stopped) return;
      this.failed = true;
      this.stop();
      this.video.dataset.liveError = reason;
      this.onFail(reason);
    }

    _detach() {
      this.queue = [];
      this.sb = null;
      this.mime = null;
      if (this.ms) {
        this.video.removeAttribute("src");
        this.video.load();
        URL.revokeObjectURL(this.url);
        this.ms = null;
      }
    }

    _connect() {
      if (this.stopped) return;
      const ws = new WebSocket(socketUrl(this.name));
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      ws.onmessage = (ev) => {
        if (typeof ev.data === "string") { this._control(JSON.parse(ev.data)); return; }
        this.retry = 500;
        this.received += 1;
        this.bytes += ev.data.byteLength;
        this.queue.push(ev.data);
        this._pump();
      };
      ws.onclose = () => {
        if (this.stopped || this.failed || this.ws !== ws) return;
        // The hub restarted or the network dropped: start again from a keyframe.
        this._detach();
        this.timer = setTimeout(() => this._connect(), this.retry);
        this.retry = Math.min(this.retry * 2, 5000);
      };
    }

    _control(msg) {
      if (msg.type === "error") { this._fail(msg.error); return; }
      if (msg.type !== "init") return;
      if (refused.has(msg.mime) || !MediaSource.isTypeSupported(msg.mime)) {
        refused.add(msg.mime);
        this._fail("this browser cannot play " + msg.mime);
        return;
      }
      this.video.dataset.codec = msg.codec;
      this.video.dataset.mime = msg.mime;
      if (this.ms && this.mime === msg.mime) return; // same codec: the new init is appended
      // A new codec: a new MediaSource (changeType is not everywhere).
      this._detach();
      this.mime = msg.mime;
      const ms = new MediaSource();
      this.ms = ms;
      this.url = URL.createObjectURL(ms);
      this.video.src = this.url;
      ms.addEventListener("sourceopen", () => {
        if (this.ms !== ms) return;
        try {
          ms.duration = Infinity; // a live stream: no end
          this.sb = ms.addSourceBuffer(msg.mime);
        } catch (err) {
          this._fail("MSE refused " + msg.mime + ": " + err);
          return;
        }
        this.sb.mode = "segments";
        this.sb.addEventListener("updateend", () => { this._edge(); this._pump(); });
        this.sb.addEventListener("error", () => this._fail("the browser could not decode the stream"));
        this._pump();
      }, { once: true });
    }

    _pump() {
      const sb = this.sb;
      if (!sb || sb.updating || !this.queue.length) return;
      if (this._trim()) return;
      // Whatever came meanwhile goes in one append: fewer round trips when behind.
      const parts = this.queue;
      this.queue = [];
      let data = parts[0];
      if (parts.length > 1) {
        const merged = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
        let at = 0;
        for (const p of parts) { merged.set(new Uint8Array(p), at); at += p.byteLength; }
        data = merged;
      }
      try {
        sb.appendBuffer(data);
      } catch (err) {
        if (err.name === "QuotaExceededError") {
          // Full: drop what was played and start from the next keyframe (a reconnect).
          this.ws.close();
          return;
        }
        this._fail("append failed: " + err);
      }
    }

    // Remove played video older than KEEP_S; true when a removal is under way.
    _trim() {
      const v = this.video, b = this.sb.buffered;
      if (!b.length) return false;
      const start = b.start(0);
      if (v.currentTime - start < 2 * KEEP_S) return false;
      this.sb.remove(start, v.currentTime - KEEP_S);
      return true;
    }

    // Keep the playhead near the newest frame: jump when it is behind by more than
    // LAG_MAX_S or outside the newest buffered range (a gap left by a dropped group);
    // a smaller lag is caught up by playing a little fast, which skips nothing.
    _edge() {
      const v = this.video, b = this.sb && this.sb.buffered;
      if (!b || !b.length) return;
      const last = b.length - 1;
      const end = b.end(last), start = b.start(last);
      const t = v.currentTime;
      const now = performance.now();
      if (now - this.smoothSince > 10000 && this.target > LAG_MIN_S) {
        this.target = Math.max(LAG_MIN_S, this.target - 0.05); // 10 s without a stall
        this.smoothSince = now;
        v.dataset.lagTarget = this.target.toFixed(2);
      }
      const lag = end - t;
      if (t < start || lag > this.target + JUMP_S) {
        v.currentTime = Math.max(start, end - this.target);
        this.jumps += 1;
        v.dataset.jumps = String(this.jumps);
        v.playbackRate = 1;
      } else if (lag > this.target + CATCH_UP_S) {
        v.playbackRate = 1.1;
      } else if (lag <= this.target) {
        v.playbackRate = 1;
      }
      if (v.paused) v.play().catch(() => { /* autoplay: it is muted, so this is rare */ });
    }
  }

  const RTC_TIMEOUT_MS = 6000; // no picture over WebRTC by then: MSE instead

  // Plays an H.264 camera over WebRTC. onFail(reason) when it cannot (MSE then).
  class RtcPlayer {
    constructor(video, name, onFail) {
      this.video = video;
      this.name = name;
      this.onFail = onFail;
      this.stopped = false;
      this.pc = null;
      this.timer = setTimeout(() => this._fail("no picture over WebRTC within " + RTC_TIMEOUT_MS / 1000 + " s"), RTC_TIMEOUT_MS);
      video.muted = true;
      video.playsInline = true;
      video.autoplay = true;
      this._start().catch((err) => this._fail(String(err && err.message || err)));
    }

    async _start() {
      const pc = new RTCPeerConnection({ iceServers: [] });
      this.pc = pc;
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.ontrack = (ev) => {
        this.video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
        this.video.play().catch(() => { /* muted: autoplay is allowed */ });
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "failed") this._fail("WebRTC connection failed");
      };
      this.video.addEventListener("loadeddata", () => clearTimeout(this.timer), { once: true });
      await pc.setLocalDescription(await pc.createOffer());
      // The hub answers with all its candidates at once (no trickle): send ours the same way.
      await new Promise((done) => {
        if (pc.iceGatheringState === "complete") { done(); return; }
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") done();
        });
        setTimeout(done, 2000);
      });
      const resp = await fetch(camhub.cameraPath(this.name) + "/webrtc", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
      });
      if (!resp.ok) {
        let why = "HTTP " + resp.status;
        try { why = (await resp.json()).error || why; } catch (err) { /* not JSON */ }
        throw new Error(why);
      }
      if (this.stopped) return;
      await pc.setRemoteDescription(await resp.json());
    }

    _fail(reason) {
      if (this.stopped) return;
      this.stop();
      this.onFail(reason);
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.pc) this.pc.close();
      this.video.srcObject = null;
    }
  }

  // WebRTC for H.264 where the browser has it, else MSE; onFail(reason) when neither
  // plays (the page shows JPEG then). video.dataset.transport says which one plays.
  class Player {
    constructor(video, name, onFail, encoding) {
      this.video = video;
      this.name = name;
      this.onFail = onFail;
      this.inner = null;
      if (encoding === "h264" && typeof window.RTCPeerConnection === "function" && !rtcRefused) {
        this._use("webrtc", new RtcPlayer(video, name, (reason) => {
          video.dataset.webrtcError = reason;
          if (/aiortc/.test(reason)) rtcRefused = true; // the hub has no WebRTC: ask no more
          this._mse();
        }));
      } else {
        this._mse();
      }
    }

    _use(transport, inner) {
      this.inner = inner;
      this.video.dataset.transport = transport;
    }

    _mse() {
      if (this.stopped) return;
      if (!supported()) { this.onFail("this browser has no Media Source Extensions"); return; }
      this._use("mse", new MsePlayer(this.video, this.name, this.onFail));
    }

    stop() {
      this.stopped = true;
      if (this.inner) this.inner.stop();
    }
  }

  let rtcRefused = false;

  return { supported, wanted, Player };
})();

// Notification sinks' health in the header: one chip per sink (MQTT broker, webhook),
// green while it reaches its target, red with the last error when it does not.
// Polls /api/notify every 3 s; shows nothing when the hub runs no sinks.
"use strict";

(() => {
  const box = document.getElementById("sinks");
  if (!box) return;

  function chip(s) {
    const el = document.createElement("span");
    el.className = "sink " + (s.connected ? "ok" : "bad");
    el.dataset.sink = s.name;
    const parts = [s.sent + " sent"];
    if (s.dropped) parts.push(s.dropped + " dropped");
    if (s.errors) parts.push(s.errors + " errors");
    el.textContent = s.type + " " + (s.connected ? "●" : "○") + " " + parts.join(" · ");
    el.title = s.target + (s.last_error ? "\nlast error: " + s.last_error : "");
    return el;
  }

  async function poll() {
    try {
      const data = await camhub.getJSON("/api/notify");
      box.replaceChildren(...data.sinks.map(chip));
      box.hidden = data.sinks.length === 0;
    } catch (err) {
      box.hidden = true;
    }
    setTimeout(poll, 3000);
  }
  poll();
})();

// The dashboard's phones page: join link + QR code, paired phones (revocable), counters.
// Names are data: they reach the page only through textContent.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const when = (t) => (t ? new Date(t * 1000).toLocaleString([], { hour12: false }) : "");

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  async function revoke(name) {
    await fetch("/api/phones/" + encodeURIComponent(name) + "/revoke", { method: "POST" });
    refresh();
  }

  async function refresh() {
    const resp = await fetch("/api/phones", { cache: "no-store" });
    if (!resp.ok) return;
    const info = await resp.json();
    if (info.join_url) {
      $("join").textContent = info.join_url;
      $("join").href = info.join_url;
      if ($("qr").dataset.url !== info.join_url) {
        $("qr").dataset.url = info.join_url;
        $("qr").src = "/api/phones/qr.svg?v=" + encodeURIComponent(info.join_url.slice(-8));
      }
    }
    const devices = $("devices").tBodies[0];
    devices.replaceChildren();
    for (const d of info.devices) {
      const row = devices.insertRow();
      row.dataset.device = d.name;
      cell(row, d.name);
      cell(row, when(d.paired_at));
      cell(row, d.revoked_at ? "revoked " + when(d.revoked_at) : "allowed");
      const td = cell(row, "");
      if (!d.revoked_at) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "revoke";
        button.addEventListener("click", () => revoke(d.name));
        td.appendChild(button);
      }
    }
    const clients = $("clients").tBodies[0];
    clients.replaceChildren();
    for (const c of info.clients) {
      const row = clients.insertRow();
      for (const v of [c.client, c.encoding || "", c.frames, c.refused, c.malformed, c.oversized, c.rate_limited, c.last_reason]) cell(row, String(v));
    }
  }

  refresh();
  setInterval(refresh, 3000);
})();

// Tracked objects drawn over camera pictures, from the JSON "objects" records of the live
// stream: boxes, labels and track ids, zones and counting lines, per-camera counts.
// The hub sends numbers, the browser draws them: no per-viewer JPEG encode on the hub.
"use strict";

window.camhubObjects = (() => {
  const KEY = "camhub.objects.shown";
  const SVG = "http://www.w3.org/2000/svg";
  let shown = localStorage.getItem(KEY) !== "0";

  function el(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function layer(container) {
    let svg = container.querySelector("svg.objects");
    if (!svg) {
      svg = el("svg", { class: "objects", "aria-label": "tracked objects" });
      container.appendChild(svg);
    }
    return svg;
  }

  function countsText(data) {
    const parts = Object.entries(data.counts.objects || {}).map(([label, n]) => n + " " + label);
    for (const [line, c] of Object.entries(data.counts.lines || {})) {
      parts.push(line + " in " + c.in + " / out " + c.out);
    }
    if (data.status !== "ok") parts.unshift(data.status);
    return parts.join(" · ") || "no objects";
  }

  // `container` holds the <img>; `countsEl` (optional) gets the counts line.
  function draw(container, data, countsEl) {
    const svg = layer(container);
    const w = data.width || 1, h = data.height || 1;
    // Sizes in the picture's pixels that come out readable on screen however small the
    // picture is drawn (a grid tile shows a 640x480 camera at ~300 px: 2.1 picture pixels
    // per screen pixel): at least 12 screen px of text and 2 of line.
    const box = container.getBoundingClientRect();
    const perPx = box.width && box.height ? Math.max(w / box.width, h / box.height) : 1;
    const stroke = Math.max(2 * perPx, w / 320);
    const font = Math.max(12 * perPx, w / 40);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    const parts = [];
    for (const z of data.zones || []) {
      parts.push(el("polygon", { class: "zone", points: z.polygon.map((p) => p.join(",")).join(" "), "stroke-width": stroke }));
      const [x, y] = z.polygon[0];
      parts.push(el("text", { class: "zone-label", x: x + 4, y: y + font, "font-size": font }, z.name));
    }
    for (const l of data.lines || []) {
      parts.push(el("line", { class: "count-line", x1: l.a[0], y1: l.a[1], x2: l.b[0], y2: l.b[1], "stroke-width": stroke * 1.5 }));
      parts.push(el("text", { class: "line-label", x: (l.a[0] + l.b[0]) / 2 + 4, y: (l.a[1] + l.b[1]) / 2, "font-size": font }, l.name));
    }
    for (const o of data.objects) {
      const [x, y, bw, bh] = o.box;
      parts.push(el("rect", { class: "box" + (o.seen ? "" : " coasting"), x, y, width: bw, height: bh, "stroke-width": stroke }));
      const label = "#" + o.id + " " + o.label + " " + Math.round(o.score * 100) + "%";
      parts.push(el("text", { class: "box-label", x: x + 2, y: Math.max(font, y - 4), "font-size": font }, label));
    }
    svg.replaceChildren(...parts);
    svg.dataset.objects = String(data.objects.length);
    svg.hidden = !shown;
    if (countsEl) {
      countsEl.textContent = countsText(data);
      countsEl.hidden = !shown;
      countsEl.classList.toggle("alert", data.status !== "ok");
    }
  }

  function setShown(value) {
    shown = value;
    localStorage.setItem(KEY, value ? "1" : "0");
    document.querySelectorAll("svg.objects, .counts").forEach((n) => { n.hidden = !value; });
  }

  // Wire a checkbox as the show/hide toggle.
  function bindToggle(input) {
    if (!input) return;
    input.checked = shown;
    input.addEventListener("change", () => setShown(input.checked));
  }

  return { draw, setShown, bindToggle, get shown() { return shown; } };
})();

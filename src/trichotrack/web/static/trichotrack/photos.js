// Photos: measurement status polling, count correction on the overlay, before/after slider, and the
// trichoscopy target site marked by a click on the scalp diagram.
// Plain JavaScript, no build step; loaded from 'self' (the CSP allows no inline script).
"use strict";

(function () {
  // 1. Status: poll the JSON endpoint until the measurement's numbers are stored (or it failed), then reload
  // to show them. Every 0.4 s (a status answer is one small query): part of the upload-to-result time,
  // bench/photo_latency.py. The overlay is drawn after the numbers: while it is, the page shows the numbers
  // and a placeholder ([data-overlay-poll]) that polls on and reloads once the overlay is there.
  const POLL_MS = 400;
  const box = document.querySelector("[data-status-url]");
  const pendingOverlay = document.querySelector("[data-overlay-poll]");
  if (box && box.dataset.finished !== "1") {
    const label = box.querySelector(".status-label");
    const bar = box.querySelector("progress");
    const poll = async () => {
      try {
        const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const s = await response.json();
          label.textContent = s.finished && s.summary ? `${s.label}: ${s.summary}` : s.label;
          bar.value = s.progress;
          if (s.finished) {
            window.location.reload();
            return;
          }
        }
      } catch (e) {
        /* a network hiccup: try again */
      }
      window.setTimeout(poll, POLL_MS);
    };
    window.setTimeout(poll, 250);
  } else if (pendingOverlay) {
    const pollOverlay = async () => {
      try {
        const response = await fetch(pendingOverlay.dataset.overlayPoll, {
          headers: { Accept: "application/json" },
        });
        if (response.ok) {
          const s = await response.json();
          if (s.overlay !== "drawing") {
            window.location.reload();
            return;
          }
        }
      } catch (e) {
        /* a network hiccup: try again */
      }
      window.setTimeout(pollOverlay, POLL_MS);
    };
    window.setTimeout(pollOverlay, POLL_MS);
  }

  // 2. Correction: click a hair to mark it false (removed), click elsewhere to add a missed hair.
  const figure = document.getElementById("overlay-figure");
  const form = document.getElementById("correction-form");
  const dataNode = document.getElementById("hairs-data");
  if (figure && form && dataNode) {
    const hairs = JSON.parse(dataNode.textContent);
    const img = document.getElementById("overlay-img");
    const svg = document.getElementById("overlay-marks");
    const width = Number(figure.dataset.width);
    const height = Number(figure.dataset.height);
    const auto = Number(document.getElementById("auto-count").textContent);
    // Start from the current correction, so a second correction continues the first.
    const current = JSON.parse(document.getElementById("correction-data").textContent);
    const removed = new Set(current.removed);
    const added = current.added.slice();
    const ns = "http://www.w3.org/2000/svg";
    const near = 12 * Math.max(width, height) / 1000 + 6;

    const nearestHair = (r, c) => {
      let best = null;
      let bestD = Infinity;
      for (const h of hairs) {
        for (const [hr, hc] of h.rc) {
          const d = Math.hypot(hr - r, hc - c);
          if (d < bestD) {
            bestD = d;
            best = h.n;
          }
        }
      }
      return bestD <= near ? best : null;
    };

    const draw = () => {
      svg.replaceChildren();
      for (const h of hairs) {
        if (!removed.has(h.n)) continue;
        const line = document.createElementNS(ns, "polyline");
        line.setAttribute("points", h.rc.map(([r, c]) => `${c},${r}`).join(" "));
        line.setAttribute("fill", "none");
        line.setAttribute("stroke", "#ff0000");
        line.setAttribute("stroke-width", String(Math.max(width, height) / 150));
        line.setAttribute("stroke-dasharray", "6 4");
        line.setAttribute("class", "removed");
        svg.appendChild(line);
      }
      for (const [r, c] of added) {
        const dot = document.createElementNS(ns, "circle");
        dot.setAttribute("cx", String(c));
        dot.setAttribute("cy", String(r));
        dot.setAttribute("r", String(Math.max(width, height) / 80));
        dot.setAttribute("fill", "none");
        dot.setAttribute("stroke", "#00e0ff");
        dot.setAttribute("stroke-width", String(Math.max(width, height) / 250));
        dot.setAttribute("class", "added");
        svg.appendChild(dot);
      }
      form.querySelector("#id_removed").value = JSON.stringify([...removed].sort((a, b) => a - b));
      form.querySelector("#id_added").value = JSON.stringify(added);
      document.getElementById("corrected-count").textContent = String(auto - removed.size + added.length);
      document.getElementById("correction-summary").textContent =
        `(automatic ${auto}; removed ${removed.size}, added ${added.length})`;
    };

    img.addEventListener("click", (event) => {
      const rect = img.getBoundingClientRect();
      const c = ((event.clientX - rect.left) / rect.width) * width;
      const r = ((event.clientY - rect.top) / rect.height) * height;
      const i = added.findIndex(([ar, ac]) => Math.hypot(ar - r, ac - c) <= near);
      if (i >= 0) {
        added.splice(i, 1);
      } else {
        const n = nearestHair(r, c);
        if (n !== null) {
          if (removed.has(n)) removed.delete(n);
          else removed.add(n);
        } else {
          added.push([Math.round(r * 10) / 10, Math.round(c * 10) / 10]);
        }
      }
      draw();
    });
    draw();
  }

  // 3. Capture guidance: the chosen photo with the baseline of the same view over it as a ghost.
  const ghostData = document.getElementById("ghost-data");
  const fileInput = document.getElementById("id_files");
  const viewSelect = document.getElementById("id_view");
  if (ghostData && fileInput && viewSelect) {
    const ghosts = JSON.parse(ghostData.textContent);
    const box = document.getElementById("ghost-check");
    const show = () => {
      const base = ghosts[viewSelect.value];
      const file = fileInput.files && fileInput.files[0];
      if (!base || !file) {
        box.hidden = true;
        return;
      }
      const reader = new FileReader(); // a data: URL: the CSP allows no blob: images
      reader.onload = () => {
        document.getElementById("ghost-new").src = reader.result;
        document.getElementById("ghost-base").src = base;
        box.hidden = false;
      };
      reader.readAsDataURL(file);
    };
    fileInput.addEventListener("change", show);
    viewSelect.addEventListener("change", show);
  }

  // 4. Before/after slider: the registered follow-up over the baseline, cut at the range value.
  const slider = document.getElementById("ba-slider");
  const range = document.getElementById("ba-range");
  if (slider && range) {
    const top = document.getElementById("ba-top");
    const topImg = top.querySelector("img");
    const update = () => {
      topImg.style.width = `${slider.clientWidth}px`;
      top.style.width = `${range.value}%`;
    };
    range.addEventListener("input", update);
    window.addEventListener("resize", update);
    window.addEventListener("load", update);
    update();
  }

  // 5. Target site: a click on the scalp diagram sets the site's diagram coordinates (the inputs stay
  // editable, so the form works without JavaScript too) and moves the mark.
  const diagram = document.getElementById("scalp-diagram");
  const siteX = document.getElementById("id_site_x");
  const siteY = document.getElementById("id_site_y");
  if (diagram && siteX && siteY) {
    const [cx, cy, ax, ay] = diagram.dataset.head.split(",").map(Number);
    const mark = document.getElementById("site-mark");
    const place = (x, y) => {
      mark.setAttribute("transform", `translate(${x},${y})`);
      mark.setAttribute("visibility", "visible");
    };
    diagram.addEventListener("click", (event) => {
      const point = diagram.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      const p = point.matrixTransform(diagram.getScreenCTM().inverse());
      if (((p.x - cx) / ax) ** 2 + ((p.y - cy) / ay) ** 2 > 1) return; // off the scalp
      const x = Math.round(p.x * 10) / 10;
      const y = Math.round(p.y * 10) / 10;
      siteX.value = String(x);
      siteY.value = String(y);
      place(x, y);
      const view = document.getElementById("id_view");
      if (view) view.value = "trichoscopy";
    });
    const typed = () => {
      const x = Number(siteX.value);
      const y = Number(siteY.value);
      if (siteX.value !== "" && siteY.value !== "" && Number.isFinite(x) && Number.isFinite(y)) place(x, y);
    };
    siteX.addEventListener("change", typed);
    siteY.addEventListener("change", typed);
  }

  // 6. Session page: every photo still queued or running polls its status; the page reloads once all are
  // finished, to show the results (and the stage, when global views were measured).
  const pending = Array.from(document.querySelectorAll("[data-poll-url]"));
  if (pending.length) {
    const open = new Set(pending);
    const pollAll = async () => {
      for (const node of Array.from(open)) {
        try {
          const response = await fetch(node.dataset.pollUrl, { headers: { Accept: "application/json" } });
          if (!response.ok) continue;
          const s = await response.json();
          node.querySelector(".status-label").textContent = s.label;
          const bar = node.querySelector("progress");
          if (bar) bar.value = s.progress;
          if (s.finished) open.delete(node);
        } catch (e) {
          /* a network hiccup: try again */
        }
      }
      if (open.size === 0) {
        window.location.reload();
        return;
      }
      window.setTimeout(pollAll, 1000);
    };
    window.setTimeout(pollAll, 500);
  }
})();

// Signature pad for the consent form: the patient draws on a <canvas> with a finger, a stylus or the mouse
// (pointer events, so touch and pen work on phones and tablets); on submit the drawing goes into the hidden
// `signature` field as a PNG data URL. Plain JavaScript, loaded from 'self' (the CSP allows no inline script).
"use strict";

(function () {
  const pad = document.querySelector("[data-signature-pad]");
  if (!pad) return;
  const canvas = pad.querySelector("canvas");
  const input = document.getElementById(pad.dataset.input);
  const toggle = document.getElementById(pad.dataset.toggle);
  const state = pad.querySelector("[data-state]");
  const form = canvas.closest("form");
  const ctx = canvas.getContext("2d");
  let drawing = false;
  let inked = false;
  let last = null;
  let ratio = 1;

  // Draw at the screen's resolution (sharp on phones), in CSS pixels.
  const resize = () => {
    ratio = Math.max(window.devicePixelRatio || 1, 1);
    const rect = canvas.getBoundingClientRect();
    if (!rect.width) return;
    canvas.width = Math.round(rect.width * ratio);
    canvas.height = Math.round(rect.height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    clear();
  };
  const clear = () => {
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.restore();
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#102a43";
    inked = false;
    input.value = "";
    state.textContent = "Not signed yet.";
  };
  // Canvas coordinates of a pointer, right even if the box was resized (a phone turned) after signing began.
  const point = (event) => {
    const rect = canvas.getBoundingClientRect();
    const sx = canvas.width / ratio / rect.width;
    const sy = canvas.height / ratio / rect.height;
    return { x: (event.clientX - rect.left) * sx, y: (event.clientY - rect.top) * sy };
  };

  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    last = point(event);
    ctx.beginPath();
    ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fill();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) {
      const p = point(e);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
    }
    inked = true;
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    if (inked) {
      input.value = canvas.toDataURL("image/png");
      state.textContent = "Signed.";
    }
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  pad.querySelector("[data-clear]").addEventListener("click", clear);

  const showPad = () => {
    pad.hidden = toggle && !toggle.checked;
    if (!pad.hidden && canvas.width !== Math.round(canvas.getBoundingClientRect().width)) resize();
  };
  if (toggle) toggle.addEventListener("change", showPad);
  // A new size clears an empty box only: a signature already drawn is never lost to a rotation.
  window.addEventListener("resize", () => {
    if (!inked && !drawing) resize();
  });
  form.addEventListener("submit", () => {
    input.value = inked && !pad.hidden ? canvas.toDataURL("image/png") : "";
  });
  pad.classList.add("ready");
  resize();
  showPad();
})();

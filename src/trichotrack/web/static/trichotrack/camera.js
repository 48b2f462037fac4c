// Capture guidance: "Use camera" opens the (rear) camera with getUserMedia and shows, over the live picture,
// the patient's baseline photo of the chosen view as a ghost (global views) or the card's outline (shed
// hairs). "Take photo" draws the frame on a canvas and adds it as a JPEG file to the form's file input
// (DataTransfer), so the photo goes through the normal upload and all its checks.
// Progressive enhancement: without JavaScript the button stays hidden and the file chooser works as before;
// without a camera (plain http, no device, access refused) a sentence says so. No inline script or style
// (the CSP allows neither): loaded from 'self', styled by camera.css.
"use strict";

(function () {
  const box = document.getElementById("camera");
  if (!box) return;
  const input = document.getElementById(box.dataset.input);
  const viewSelect = box.dataset.view ? document.getElementById(box.dataset.view) : null;
  const ghostNode = box.dataset.ghosts ? document.getElementById(box.dataset.ghosts) : null;
  const ghosts = ghostNode ? JSON.parse(ghostNode.textContent) : {};
  const openButton = document.getElementById("camera-open");
  const message = document.getElementById("camera-message");
  const stage = document.getElementById("camera-stage");
  const video = document.getElementById("camera-video");
  const ghost = document.getElementById("camera-ghost");
  const card = document.getElementById("camera-card");
  const canvas = document.getElementById("camera-canvas");
  let stream = null;
  let taken = 0;

  const say = (text) => {
    message.textContent = text;
    message.hidden = !text;
  };

  if (!input || typeof DataTransfer === "undefined") return;
  openButton.hidden = false;
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    openButton.disabled = true;
    say(
      "The camera can only be used over a secure (https) connection. Choose a photo file instead, or take " +
        "it with the phone's camera app.",
    );
    return;
  }

  // What to show over the live picture: the baseline of the chosen view, or the card for shed hairs.
  const guide = () => {
    const view = viewSelect ? viewSelect.value : "shed";
    const url = ghosts[view];
    ghost.hidden = !url;
    if (url && ghost.getAttribute("src") !== url) ghost.src = url;
    card.hidden = view !== "shed";
  };

  const stop = () => {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    stage.hidden = true;
    openButton.hidden = false;
    box.dataset.state = "closed";
  };
  // data-state="live" once frames arrive (the "Take photo" button needs them).
  video.addEventListener("loadeddata", () => {
    if (stream) box.dataset.state = "live";
  });

  openButton.addEventListener("click", async () => {
    say("");
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 4032 }, height: { ideal: 3024 } },
      });
    } catch (error) {
      const refused = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
      const missing = error && (error.name === "NotFoundError" || error.name === "OverconstrainedError");
      say(
        refused
          ? "Camera access was refused. Allow the camera for this site in the browser's settings, or choose a photo file instead."
          : missing
            ? "No camera was found. Choose a photo file instead."
            : "The camera could not be started. Choose a photo file instead.",
      );
      return;
    }
    video.srcObject = stream;
    guide();
    stage.hidden = false;
    openButton.hidden = true;
  });

  document.getElementById("camera-close").addEventListener("click", stop);
  if (viewSelect) viewSelect.addEventListener("change", guide);

  document.getElementById("camera-take").addEventListener("click", () => {
    if (!stream || !video.videoWidth) {
      say("The camera is not ready yet; try again in a moment.");
      return;
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(
      (blob) => {
        if (!blob) {
          say("The photo could not be taken; choose a photo file instead.");
          return;
        }
        taken += 1;
        const file = new File([blob], `camera-${Date.now()}-${taken}.jpg`, { type: "image/jpeg" });
        const transfer = new DataTransfer();
        if (input.multiple && !("single" in box.dataset)) for (const f of Array.from(input.files || [])) transfer.items.add(f);
        transfer.items.add(file);
        input.files = transfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        stop();
        const n = input.files.length;
        say(
          `Photo taken (${canvas.width}×${canvas.height} px) and added to the form` +
            (n > 1 ? ` (${n} photos)` : "") +
            ". Send it with the button below, or take another.",
        );
      },
      "image/jpeg",
      0.92,
    );
  });
})();

// The upload area of the images page: files dropped or chosen are sent one by one to
// /imaging/upload, with a progress bar over all their bytes; refusals are listed with the
// server's reason. The page reloads when everything was stored, to list the new studies.
const zone = document.getElementById("dropzone");
const input = document.getElementById("files");
const bar = document.getElementById("upload-progress");
const status = document.getElementById("upload-status");
const errors = document.getElementById("upload-errors");

const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));

function send(file, onProgress) {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    const patient = zone.dataset.patient ? `?patient=${encodeURIComponent(zone.dataset.patient)}` : "";
    request.open("POST", `/imaging/upload${patient}`);
    request.setRequestHeader("Content-Type", "application/dicom");
    request.setRequestHeader("X-CSRF-Token", zone.dataset.csrf);
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch { body = {}; }
      const failure = (body.failed && body.failed[0]) || (request.status >= 400 ? { message: body.detail || String(request.status) } : null);
      resolve(failure ? { ok: false, message: failure.message } : { ok: true });
    };
    request.onerror = () => resolve({ ok: false, message: "network" });
    request.send(file);
  });
}

async function upload(files) {
  if (!files.length) return;
  const total = files.reduce((sum, file) => sum + file.size, 0) || 1;
  let sent = 0, stored = 0, failed = 0;
  bar.hidden = false;
  errors.replaceChildren();
  for (const [index, file] of files.entries()) {
    status.textContent = fill(zone.dataset.progress, { done: index, total: files.length });
    const result = await send(file, (loaded) => { bar.value = (sent + loaded) / total; });
    sent += file.size;
    bar.value = sent / total;
    if (result.ok) {
      stored += 1;
    } else {
      failed += 1;
      const item = document.createElement("li");
      item.textContent = `${file.name} : ${zone.dataset.failed} — ${result.message}`;
      errors.append(item);
    }
  }
  status.textContent = fill(zone.dataset.done, { stored, failed });
  zone.dataset.finished = "true";
  if (failed === 0) setTimeout(() => location.reload(), 600);
}

input.addEventListener("change", () => upload([...input.files]));
zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  upload([...event.dataTransfer.files]);
});

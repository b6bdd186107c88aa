// The built-in viewer: one study, read through DICOMweb with the viewer session token found
// in the URL fragment (#study=…&token=…). Series thumbnails, stack scrolling, window/level,
// zoom and pan, distance measurement, 1×1 / 1×2 / 2×2 layouts and cine. Frames are rendered
// by the server (PNG, with the window asked for) and kept in a small cache.
const root = document.getElementById("viewer");
const fragment = new URLSearchParams(location.hash.slice(1));
const study = fragment.get("study") || "";
const token = fragment.get("token") || "";
const base = `/dicomweb/studies/${encodeURIComponent(study)}`;
const statusLine = document.getElementById("viewer-status");
const seriesList = document.getElementById("series-list");
const viewportsElement = document.getElementById("viewports");
const cineButton = document.getElementById("cine");
const fpsInput = document.getElementById("fps");

const tags = {
  seriesUID: "0020000E", seriesNumber: "00200011", seriesDescription: "0008103E", modality: "00080060", count: "00201209",
  sopUID: "00080018", instanceNumber: "00200013", frames: "00280008", spacing: "00280030", center: "00281050", width: "00281051",
  bitsStored: "00280101",
};
const values = (item, tag) => (item[tag] && item[tag].Value) || [];
const first = (item, tag) => values(item, tag)[0];

class ExpiredSession extends Error {}

async function fetchChecked(url, accept) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: accept } });
  if (response.status === 401 || response.status === 404) throw new ExpiredSession();
  if (!response.ok) throw new Error(`${response.status} ${url}`);
  return response;
}
async function json(url) {
  const response = await fetchChecked(url, "application/dicom+json");
  return response.status === 204 ? [] : response.json();
}
async function bitmap(url) {
  return createImageBitmap(await (await fetchChecked(url, "image/png")).blob());
}

/// Rendered frames, least recently used dropped first.
const cache = new Map();
function cached(url) {
  if (cache.has(url)) {
    const value = cache.get(url);
    cache.delete(url);
    cache.set(url, value);
    return value;
  }
  const value = bitmap(url);
  value.catch(() => cache.delete(url));
  cache.set(url, value);
  while (cache.size > 300) cache.delete(cache.keys().next().value);
  return value;
}

let tool = "scroll";
let active = null;
const viewports = [];

class Viewport {
  constructor() {
    this.element = document.createElement("div");
    this.element.className = "viewport";
    this.canvas = document.createElement("canvas");
    this.canvas.tabIndex = 0;
    this.element.append(this.canvas);
    this.context = this.canvas.getContext("2d");
    this.series = null;
    this.frames = [];
    this.index = 0;
    this.reset();
    this.bind();
    new ResizeObserver(() => this.resize()).observe(this.element);
  }

  reset() {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.window = this.series ? this.series.window : null;
    this.measures = [];
  }

  async show(series) {
    this.series = series;
    this.frames = await series.frames();
    this.index = 0;
    this.reset();
    this.element.dataset.series = series.uid;
    await this.draw();
  }

  url(index) {
    const frame = this.frames[index];
    let url = `${base}/series/${encodeURIComponent(this.series.uid)}/instances/${encodeURIComponent(frame.sop)}/frames/${frame.frame}/rendered`;
    if (this.window) url += `?window=${Math.round(this.window.center)},${Math.max(1, Math.round(this.window.width))}`;
    return url;
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.floor(this.element.clientWidth * ratio));
    this.canvas.height = Math.max(1, Math.floor(this.element.clientHeight * ratio));
    this.paint();
  }

  async draw() {
    if (!this.frames.length) return this.paint();
    const url = this.url(this.index);
    this.wanted = url;
    try {
      const image = await cached(url);
      if (this.wanted !== url) return;
      this.image = image;
      this.paint();
      for (let step = 1; step <= 3; step += 1) if (this.index + step < this.frames.length) cached(this.url(this.index + step));
    } catch (error) {
      report(error);
    }
  }

  /// Where the image sits on the canvas: its scale and top-left corner.
  placement() {
    const { width, height } = this.canvas;
    const fit = Math.min(width / this.image.width, height / this.image.height);
    const scale = fit * this.zoom;
    return { scale, x: (width - this.image.width * scale) / 2 + this.panX, y: (height - this.image.height * scale) / 2 + this.panY };
  }

  toImage(event) {
    const ratio = window.devicePixelRatio || 1;
    const box = this.canvas.getBoundingClientRect();
    const place = this.placement();
    return { x: ((event.clientX - box.left) * ratio - place.x) / place.scale, y: ((event.clientY - box.top) * ratio - place.y) / place.scale };
  }

  paint() {
    const context = this.context;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = "#000";
    context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.element.dataset.index = String(this.frames.length ? this.index + 1 : 0);
    this.element.dataset.total = String(this.frames.length);
    if (!this.image || !this.frames.length) return;
    const place = this.placement();
    context.imageSmoothingEnabled = place.scale < 1;
    context.drawImage(this.image, place.x, place.y, this.image.width * place.scale, this.image.height * place.scale);
    const ratio = window.devicePixelRatio || 1;
    context.font = `${13 * ratio}px system-ui, sans-serif`;
    context.lineWidth = 2 * ratio;
    for (const measure of this.measures) {
      const a = { x: place.x + measure.a.x * place.scale, y: place.y + measure.a.y * place.scale };
      const b = { x: place.x + measure.b.x * place.scale, y: place.y + measure.b.y * place.scale };
      context.strokeStyle = "#f0a202";
      context.beginPath();
      context.moveTo(a.x, a.y);
      context.lineTo(b.x, b.y);
      context.stroke();
      context.fillStyle = "#f0a202";
      context.fillText(this.length(measure), b.x + 6 * ratio, b.y);
    }
    context.fillStyle = "#fff";
    context.fillText(this.series.label, 8 * ratio, 18 * ratio);
    context.fillText(`${this.index + 1} / ${this.frames.length}`, 8 * ratio, this.canvas.height - 10 * ratio);
    const windowText = this.window ? `W ${Math.round(this.window.width)} C ${Math.round(this.window.center)}` : "";
    const zoomText = `${Math.round(this.zoom * 100)} %`;
    const right = `${windowText}  ${zoomText}`;
    context.fillText(right, this.canvas.width - context.measureText(right).width - 8 * ratio, this.canvas.height - 10 * ratio);
  }

  length(measure) {
    const dx = measure.b.x - measure.a.x;
    const dy = measure.b.y - measure.a.y;
    const spacing = this.series.spacing;
    if (!spacing) return `${Math.hypot(dx, dy).toFixed(1)} px`;
    return `${Math.hypot(dx * spacing[1], dy * spacing[0]).toFixed(1)} mm`;
  }

  scroll(step, wrap = false) {
    if (!this.frames.length) return;
    let next = this.index + step;
    if (wrap) next = (next + this.frames.length) % this.frames.length;
    next = Math.max(0, Math.min(this.frames.length - 1, next));
    if (next === this.index) return;
    this.index = next;
    this.draw();
  }

  bind() {
    const canvas = this.canvas;
    canvas.addEventListener("focus", () => activate(this));
    canvas.addEventListener("pointerdown", () => activate(this));
    canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      if (event.ctrlKey) {
        this.zoom = Math.max(0.1, Math.min(20, this.zoom * (event.deltaY < 0 ? 1.1 : 1 / 1.1)));
        this.paint();
      } else {
        this.scroll(event.deltaY > 0 ? 1 : -1);
      }
    }, { passive: false });
    canvas.addEventListener("keydown", (event) => {
      const steps = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10 };
      if (event.key in steps) {
        event.preventDefault();
        this.scroll(steps[event.key]);
      } else if (event.key === "Home") {
        this.scroll(-this.frames.length);
      } else if (event.key === "End") {
        this.scroll(this.frames.length);
      }
    });
    let drag = null;
    canvas.addEventListener("pointerdown", (event) => {
      if (!this.image) return;
      canvas.setPointerCapture(event.pointerId);
      drag = { x: event.clientX, y: event.clientY, moved: 0 };
      if (tool === "window" && !this.window) this.window = this.series.defaultWindow();
      if (tool === "measure") {
        const point = this.toImage(event);
        drag.measure = { a: point, b: point };
        this.measures.push(drag.measure);
      }
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      const ratio = window.devicePixelRatio || 1;
      switch (tool) {
        case "scroll":
          drag.moved += dy;
          while (Math.abs(drag.moved) >= 8) {
            this.scroll(Math.sign(drag.moved));
            drag.moved -= 8 * Math.sign(drag.moved);
          }
          break;
        case "window": {
          const factor = Math.max(1, this.window.width) / 256;
          this.window = { center: this.window.center + dy * factor, width: Math.max(1, this.window.width + dx * factor) };
          this.paint();
          clearTimeout(this.windowTimer);
          this.windowTimer = setTimeout(() => this.draw(), 60);
          break;
        }
        case "zoom":
          this.zoom = Math.max(0.1, Math.min(20, this.zoom * Math.exp(-dy / 200)));
          this.paint();
          break;
        case "pan":
          this.panX += dx * ratio;
          this.panY += dy * ratio;
          this.paint();
          break;
        case "measure":
          drag.measure.b = this.toImage(event);
          this.paint();
          break;
      }
      drag.x = event.clientX;
      drag.y = event.clientY;
    });
    const end = () => {
      if (drag && tool === "window") this.draw();
      drag = null;
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  }
}

class Series {
  constructor(item) {
    this.uid = first(item, tags.seriesUID);
    this.number = first(item, tags.seriesNumber);
    this.description = first(item, tags.seriesDescription) || "";
    this.modality = first(item, tags.modality) || "";
    this.count = first(item, tags.count) || 0;
    this.label = [this.modality, this.number, this.description].filter((part) => part !== undefined && part !== "").join(" · ");
  }

  frames() {
    this.loaded = this.loaded || json(`${base}/series/${encodeURIComponent(this.uid)}/metadata`).then((instances) => {
      instances.sort((a, b) => (first(a, tags.instanceNumber) ?? 0) - (first(b, tags.instanceNumber) ?? 0));
      const head = instances[0] || {};
      const spacing = values(head, tags.spacing);
      this.spacing = spacing.length === 2 ? spacing.map(Number) : null;
      const center = first(head, tags.center);
      const width = first(head, tags.width);
      this.window = center !== undefined && width ? { center: Number(center), width: Number(width) } : null;
      this.bits = first(head, tags.bitsStored) || 8;
      return instances.flatMap((instance) => {
        const count = Number(first(instance, tags.frames) || 1);
        return Array.from({ length: count }, (_, index) => ({ sop: first(instance, tags.sopUID), frame: index + 1 }));
      });
    });
    return this.loaded;
  }

  defaultWindow() {
    return this.window || { center: 2 ** (this.bits - 1), width: 2 ** this.bits };
  }
}

function report(error) {
  if (error instanceof ExpiredSession) {
    statusLine.textContent = root.dataset.expired;
    statusLine.classList.add("error");
  } else {
    statusLine.textContent = String(error.message || error);
  }
}

function activate(viewport) {
  active = viewport;
  for (const other of viewports) other.element.classList.toggle("active", other === viewport);
}

const layouts = { "1x1": 1, "1x2": 2, "2x2": 4 };
let allSeries = [];

async function setLayout(name) {
  viewportsElement.className = `viewports layout-${name}`;
  for (const button of document.querySelectorAll("[data-layout]")) button.setAttribute("aria-pressed", String(button.dataset.layout === name));
  const wanted = layouts[name];
  while (viewports.length > wanted) viewports.pop().element.remove();
  while (viewports.length < wanted) {
    const viewport = new Viewport();
    viewports.push(viewport);
    viewportsElement.append(viewport.element);
    const series = allSeries[(viewports.length - 1) % Math.max(1, allSeries.length)];
    if (series) viewport.show(series).catch(report);
  }
  if (!viewports.includes(active)) activate(viewports[0]);
}

function thumbnail(series) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "series";
  button.dataset.series = series.uid;
  const canvas = document.createElement("canvas");
  canvas.width = 96;
  canvas.height = 96;
  const caption = document.createElement("span");
  caption.textContent = `${series.label} (${series.count} ${root.dataset.images})`;
  button.append(canvas, caption);
  button.addEventListener("click", () => active && active.show(series).catch(report));
  item.append(button);
  seriesList.append(item);
  cached(`${base}/series/${encodeURIComponent(series.uid)}/thumbnail?viewport=96,96`).then((image) => {
    const context = canvas.getContext("2d");
    context.fillStyle = "#000";
    context.fillRect(0, 0, 96, 96);
    const scale = Math.min(96 / image.width, 96 / image.height);
    context.drawImage(image, (96 - image.width * scale) / 2, (96 - image.height * scale) / 2, image.width * scale, image.height * scale);
  }).catch(() => {});
}

for (const button of document.querySelectorAll("[data-tool]")) {
  button.addEventListener("click", () => {
    tool = button.dataset.tool;
    for (const other of document.querySelectorAll("[data-tool]")) other.setAttribute("aria-pressed", String(other === button));
  });
}
for (const button of document.querySelectorAll("[data-layout]")) button.addEventListener("click", () => setLayout(button.dataset.layout));
document.getElementById("reset").addEventListener("click", () => {
  if (!active) return;
  active.reset();
  active.draw();
});
let cine = null;
cineButton.addEventListener("click", () => {
  if (cine) {
    clearInterval(cine);
    cine = null;
    cineButton.textContent = root.dataset.play;
    cineButton.setAttribute("aria-pressed", "false");
    return;
  }
  const fps = Math.max(1, Math.min(60, Number(fpsInput.value) || 10));
  cine = setInterval(() => active && active.scroll(1, true), 1000 / fps);
  cineButton.textContent = root.dataset.pause;
  cineButton.setAttribute("aria-pressed", "true");
});

async function start() {
  statusLine.textContent = root.dataset.loading;
  try {
    const items = await json(`${base}/series`);
    allSeries = items.map((item) => new Series(item)).sort((a, b) => (a.number ?? 0) - (b.number ?? 0));
    for (const series of allSeries) thumbnail(series);
    await setLayout("1x1");
    statusLine.textContent = "";
    root.dataset.ready = "true";
  } catch (error) {
    report(error);
  }
}
start();

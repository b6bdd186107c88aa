// The radiotherapy board and case page. The server decides every move; this module only
// carries the gesture to it and shows its answer.

const board = document.getElementById("board");
if (board) setUpBoard(board);
const commentForm = document.getElementById("comment-form");
if (commentForm) setUpComments(commentForm);

function setUpBoard(board) {
  const message = document.getElementById("board-message");
  const dialog = document.getElementById("comment-dialog");
  let dragged = null;

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest(".case-card");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.case);
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", () => {
    dragged?.classList.remove("dragging");
    board.querySelectorAll(".drop-target").forEach((column) => column.classList.remove("drop-target"));
  });
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest(".column");
    if (!column || !dragged) return;
    event.preventDefault();
    board.querySelectorAll(".drop-target").forEach((other) => other !== column && other.classList.remove("drop-target"));
    column.classList.add("drop-target");
  });
  board.addEventListener("drop", async (event) => {
    const column = event.target.closest(".column");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const card = dragged;
    dragged = null;
    const from = card.closest(".column");
    if (from === column) return;
    const columns = [...board.querySelectorAll(".column")];
    let comment = null;
    // A move to an earlier stage must say why.
    if (columns.indexOf(column) < columns.indexOf(from)) {
      comment = await askComment(dialog);
      if (comment === null) return;
    }
    await move(card, column, comment);
  });

  async function move(card, column, comment) {
    hide();
    const response = await fetch(`/pathways/cases/${card.dataset.case}/move`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": board.dataset.csrf },
      body: JSON.stringify({ to: column.dataset.stage, comment, version: Number(card.dataset.version) }),
    });
    if (response.ok) {
      await refresh();
      return;
    }
    let reasons = [];
    try { reasons = (await response.json()).reasons ?? []; } catch { reasons = [response.statusText]; }
    show(reasons);
  }

  function show(reasons) {
    message.replaceChildren();
    const list = document.createElement("ul");
    for (const reason of reasons) {
      const item = document.createElement("li");
      item.textContent = reason;
      list.append(item);
    }
    message.append(list);
    message.hidden = false;
  }

  function hide() {
    message.hidden = true;
  }

  // Live refresh: others move cards too. The board is fetched again and swapped when it changed.
  async function refresh() {
    const response = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("board");
    if (fresh && fresh.innerHTML !== board.innerHTML && !dragged) board.innerHTML = fresh.innerHTML;
  }
  setInterval(() => { if (!document.hidden) refresh(); }, 10000);
}

function askComment(dialog) {
  return new Promise((resolve) => {
    const text = dialog.querySelector("textarea");
    text.value = "";
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok" && text.value.trim() ? text.value.trim() : null);
    }, { once: true });
    dialog.showModal();
    text.focus();
  });
}

function setUpComments(form) {
  const body = document.getElementById("comment-body");
  const suggestions = document.getElementById("mention-suggestions");
  const status = document.getElementById("comment-status");
  const mentioned = new Map();
  let asked = 0;

  // "@" followed by letters asks the server for the department's staff of that name; only the
  // answer to the latest question is shown (answers may arrive out of order).
  body.addEventListener("input", async () => {
    const question = ++asked;
    const before = body.value.slice(0, body.selectionStart);
    const match = before.match(/@([\p{L}.\- ]{1,30})$/u);
    if (!match) { suggestions.hidden = true; return; }
    const response = await fetch(`/pathways/staff.json?q=${encodeURIComponent(match[1].trim())}`);
    if (!response.ok || question !== asked) return;
    const people = await response.json();
    if (question !== asked) return;
    suggestions.replaceChildren();
    for (const person of people) {
      const item = document.createElement("li");
      item.setAttribute("role", "option");
      item.tabIndex = 0;
      item.dataset.id = person.id;
      item.textContent = `${person.name} — ${person.role}`;
      const choose = () => {
        const start = before.length - match[0].length;
        body.value = body.value.slice(0, start) + `@${person.name} ` + body.value.slice(body.selectionStart);
        mentioned.set(person.name, person.id);
        suggestions.hidden = true;
        body.focus();
      };
      item.addEventListener("click", choose);
      item.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); choose(); } });
      suggestions.append(item);
    }
    suggestions.hidden = people.length === 0;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = body.value.trim();
    if (!text) return;
    const mentions = [...mentioned].filter(([name]) => text.includes(`@${name}`)).map(([, id]) => id);
    const attachments = [];
    for (const file of document.getElementById("comment-files").files) {
      attachments.push({ content_type: file.type || "application/dicom", title: file.name, data: await base64(file) });
    }
    const response = await fetch(location.pathname + "/comments", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
      body: JSON.stringify({ text, mentions, visibility: document.getElementById("comment-visibility").value, attachments }),
    });
    if (response.ok) {
      location.reload();
      return;
    }
    let reasons = [];
    try { reasons = (await response.json()).reasons ?? []; } catch { reasons = [response.statusText]; }
    status.textContent = reasons.join(" ");
  });
}

function base64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] ?? "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

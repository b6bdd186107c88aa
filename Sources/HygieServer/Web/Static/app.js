// Small progressive enhancements; every page works without them.

// Forms that destroy something ask first (data-confirm holds the localised question).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Entry forms show only the fields of the chosen kind (all fields stay usable without script).
function showKindFields(form) {
  const select = form.querySelector("select[name=kind]");
  const kind = select ? select.value : form.dataset.kind;
  for (const group of form.querySelectorAll("[data-kinds]")) {
    group.hidden = !group.dataset.kinds.split(" ").includes(kind);
  }
}
for (const form of document.querySelectorAll("form.entry-form")) {
  showKindFields(form);
  form.addEventListener("change", (event) => { if (event.target.name === "kind") showKindFields(form); });
}

// The notifications link shows how many arrived since the list was last opened.
const noticesLink = document.querySelector('nav a[href="/notifications"]');
if (noticesLink) {
  fetch("/notifications/unread.json").then((response) => (response.ok ? response.json() : null)).then((answer) => {
    noticesLink.dataset.checked = "true";
    if (!answer || !answer.unread) return;
    const badge = document.createElement("span");
    badge.className = "badge notices-badge";
    badge.id = "notices-badge";
    badge.textContent = String(answer.unread);
    badge.setAttribute("aria-label", `${answer.unread} ${noticesLink.dataset.unread ?? ""}`.trim());
    noticesLink.append(" ", badge);
  }).catch(() => {});
}

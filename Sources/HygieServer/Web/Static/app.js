// Small progressive enhancements; every page works without them.

// Forms that destroy something ask first (data-confirm holds the localised question).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// The SMS compose window: its live preview (swapped in by htmx as the message is typed) says
// with data-can-send whether the message can go; the Send button follows it. The preview's
// merged samples (one recipient's own text at a time) are stepped through with ‹ and ›.
(() => {
  const sync = (root) => {
    const preview = root.querySelector ? root.querySelector("[data-can-send]") : null;
    const button = document.getElementById("send-button");
    if (preview && button) button.disabled = preview.dataset.canSend !== "true";
  };
  document.addEventListener("htmx:afterSettle", (event) => sync(event.target));

  const step = (samples, by) => {
    const all = [...samples.querySelectorAll("[data-sample]")];
    const at = all.findIndex((sample) => !sample.hidden);
    const next = (at + by + all.length) % all.length;
    all.forEach((sample, i) => { sample.hidden = i !== next; });
    const position = samples.querySelector("[data-sample-position]");
    if (position) position.textContent = `${next + 1} of ${all.length}`;
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest ? event.target.closest("[data-sample-step]") : null;
    const samples = button ? button.closest("[data-testid=samples]") : null;
    if (samples) step(samples, Number(button.dataset.sampleStep));
  });
})();

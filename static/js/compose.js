// The SMS compose window: its live preview (swapped in by htmx as the message is typed) says
// with data-can-send whether the message can go; the Send button follows it.
(() => {
  const sync = (root) => {
    const preview = root.querySelector ? root.querySelector("[data-can-send]") : null;
    const button = document.getElementById("send-button");
    if (preview && button) button.disabled = preview.dataset.canSend !== "true";
  };
  document.addEventListener("htmx:afterSettle", (event) => sync(event.target));
})();

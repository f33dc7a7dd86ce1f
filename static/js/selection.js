// The list selection: ticking rows or a whole page tells the server at once; the server answers
// with the new bottom bar (and the list's summary when it changed). Requests go one after
// another so quick clicks cannot overtake each other in the session. "Select all matching" and
// "Clear" are plain forms (they reload the page).
(function () {
  "use strict";

  const list = document.querySelector("[data-selection-list]");
  if (!list) return;
  const url = list.dataset.selectionUrl;
  const next = list.dataset.next;
  const csrf = list.querySelector("input[name=csrfmiddlewaretoken]").value;
  const errorBox = document.querySelector("[data-selection-error]");
  const pageBox = list.querySelector("input[data-select-page]");
  let queue = Promise.resolve();

  function rowBoxes() {
    return Array.from(list.querySelectorAll("input[data-select-row]"));
  }

  function syncPageBox() {
    if (!pageBox) return;
    const boxes = rowBoxes();
    const ticked = boxes.filter((box) => box.checked).length;
    pageBox.checked = boxes.length > 0 && ticked === boxes.length;
    pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  function showError(message) {
    if (!errorBox) return;
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  // The answer holds the new bottom bar and, when a tick changed it, the list's summary of the
  // selection ("All 300 matching families are selected except 1"): each replaces its namesake.
  function swapIn(html) {
    const answer = document.createElement("template");
    answer.innerHTML = html;
    Array.from(answer.content.children).forEach((fresh) => {
      const current = fresh.id && document.getElementById(fresh.id);
      if (current) current.replaceWith(fresh);
    });
  }

  function send(action, boxes, selected) {
    const body = new URLSearchParams({ action: action, selected: selected ? "1" : "0", next: next });
    boxes.forEach((box) => body.append("ids", box.value));
    queue = queue.then(() =>
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, "HX-Request": "true" },
        body: body,
      })
        .then((response) =>
          response.text().then((text) => {
            if (!response.ok) {
              throw new Error(response.status === 400 ? text : "");
            }
            swapIn(text);
            showError("");
          })
        )
        .catch((error) => {
          boxes.forEach((box) => { box.checked = !selected; });
          syncPageBox();
          showError(error.message || "The selection could not be saved. Reload the page and try again.");
        })
    );
  }

  list.addEventListener("change", (event) => {
    const box = event.target;
    if (box.matches("input[data-select-row]")) {
      send("toggle", [box], box.checked);
      syncPageBox();
    } else if (box === pageBox) {
      const boxes = rowBoxes();
      boxes.forEach((row) => { row.checked = box.checked; });
      send("page", boxes, box.checked);
      syncPageBox();
    }
  });

  // A form marked data-selection-dialog (the SMS and Voice icons) opens the <dialog> its address
  // answers with (asked with an HX-Request header), once the pending ticks are saved. An answer
  // without a <dialog> (a full page), or an error: the form is submitted and the browser goes there.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("form[data-selection-dialog]")) return;
    event.preventDefault();
    const url = new URL(form.action, window.location.href);
    new FormData(form).forEach((value, key) => url.searchParams.set(key, value));
    queue = queue.then(() =>
      fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then((response) => (response.ok ? response.text() : ""))
        .then((html) => {
          const slot = document.getElementById("selection-dialog-slot");
          slot.innerHTML = html;
          const dialog = slot.querySelector("dialog");
          if (!dialog) {
            slot.replaceChildren();
            form.submit();
            return;
          }
          if (window.htmx) window.htmx.process(slot); // dialogs with live parts (voice)
          dialog.showModal();
        })
        .catch(() => { form.submit(); })
    );
  });

  syncPageBox();
})();

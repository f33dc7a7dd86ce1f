// A <select data-autosubmit> submits its form when it changes (the broadcast page's status
// filter): behaviour lives here, not in an inline onchange, which the Content-Security-Policy blocks.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.dataset.autosubmit !== undefined && field.form) {
    field.form.requestSubmit();
  }
});

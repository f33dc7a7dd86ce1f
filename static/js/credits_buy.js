// Buy credits: show the price of a custom quantity as it is typed, pick "Another number" when
// the field is used, and let a confirmation be submitted only once (the server refuses a
// second payment anyway: the form carries a one-time token).
(() => {
  const custom = document.getElementById("id_custom_credits");
  const price = document.getElementById("custom-price");
  if (custom && price) {
    const unit = Number(price.dataset.unitCents);
    const usd = (cents) => "US$" + Math.floor(cents / 100).toLocaleString("en-US") + "." + String(cents % 100).padStart(2, "0");
    const update = () => {
      const digits = custom.value.replace(/[,\s]/g, "");
      document.getElementById("pack-custom").checked = digits !== "" || document.getElementById("pack-custom").checked;
      price.textContent = /^\d+$/.test(digits) && Number(digits) > 0
        ? `${Number(digits).toLocaleString("en-US")} credits: ${usd(Number(digits) * unit)}`
        : `${usd(unit)} a credit.`;
    };
    custom.addEventListener("input", update);
    update();
  }
  document.querySelectorAll("form[data-once]").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = true; });
    });
  });
})();

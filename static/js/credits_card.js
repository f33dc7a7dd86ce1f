// Stripe Elements (production only; test mode uses a plain form). The card number goes from
// the browser straight to Stripe: we confirm a SetupIntent here and post only its id.
(() => {
  const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;

  const cardForm = document.getElementById("card-form");
  if (cardForm && window.Stripe) {
    const stripe = window.Stripe(cardForm.dataset.key);
    const card = stripe.elements().create("card", { hidePostalCode: false });
    card.mount("#card-element");
    const errors = document.getElementById("card-errors");
    const button = document.getElementById("card-save");
    cardForm.addEventListener("submit", async (event) => {
      if (document.getElementById("setup-intent-id").value) return;
      event.preventDefault();
      button.disabled = true;
      errors.textContent = "";
      try {
        const response = await fetch(cardForm.dataset.setupUrl, { method: "POST", headers: { "X-CSRFToken": csrf() } });
        const body = await response.json();
        if (!response.ok) throw new Error(body.error || "The card could not be set up.");
        const result = await stripe.confirmCardSetup(body.client_secret, { payment_method: { card } });
        if (result.error) throw new Error(result.error.message);
        document.getElementById("setup-intent-id").value = result.setupIntent.id;
        cardForm.submit();
      } catch (error) {
        errors.textContent = error.message;
        button.disabled = false;
      }
    });
  }

  const confirmForm = document.getElementById("confirm-3ds");
  if (confirmForm && window.Stripe) {
    const stripe = window.Stripe(confirmForm.dataset.key);
    confirmForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = await stripe.confirmCardPayment(confirmForm.dataset.clientSecret);
      if (result.error) {
        document.getElementById("confirm-errors").textContent = result.error.message;
      }
      confirmForm.submit();  // the server asks Stripe for the outcome either way
    });
  }
})();

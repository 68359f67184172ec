// The card page: Stripe.js collects the card (a SetupIntent confirmed in the browser, so the card
// number never reaches us), then the form posts and the server charges it. The status page: if
// the bank asks the cardholder to confirm (3-D Secure), Stripe.js shows its check, then we look
// at the status again.
(function () {
  "use strict";
  var errorBox = document.getElementById("card-error");
  var fallback = document.documentElement.getAttribute("data-card-error") ||
    "Your card could not be used. Check the details and try again.";

  function showError(result) {
    errorBox.textContent = (result.error && result.error.message) || fallback;
  }

  var form = document.getElementById("card-form");
  if (form && typeof Stripe === "function") {
    var stripe = Stripe(form.getAttribute("data-publishable-key"));
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var button = document.getElementById("pay-button");
    button.disabled = false;
    var confirmed = false;
    form.addEventListener("submit", function (event) {
      if (confirmed) return;  // the card is set up: let the form post
      event.preventDefault();
      if (button.disabled) return;  // a second click while the first is on its way
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      errorBox.textContent = "";
      stripe.confirmCardSetup(form.getAttribute("data-client-secret"),
                              { payment_method: { card: card } })
        .then(function (result) {
          if (result.error) {
            showError(result);
            button.disabled = false;
            button.removeAttribute("aria-busy");
            return;
          }
          confirmed = true;
          form.submit();
        }, function () {
          showError({});
          button.disabled = false;
          button.removeAttribute("aria-busy");
        });
    });
  }

  var action = document.getElementById("card-action");
  if (action && typeof Stripe === "function") {
    var bank = Stripe(action.getAttribute("data-publishable-key"));
    bank.confirmCardPayment(action.getAttribute("data-client-secret")).then(function (result) {
      if (result.error) showError(result);
      // Back from the bank: the status page now waits for Stripe instead of asking again.
      window.location.assign(action.getAttribute("data-status-url") + "?after=bank");
    });
  }
})();

// The helpdesk's own pages that host the widget (the demo shop, an email's resume link).
// A classic script, loaded before widget.js: the Content-Security-Policy allows no inline code.
(function () {
  "use strict";

  // Resume link: hand the customer's session to the widget exactly as widget.js stores it:
  // its state in localStorage under "helpdesk-widget:<origin>", the tab's open conversation
  // in sessionStorage under that key + ":tab". widget.js (loaded next) then opens it.
  var data = document.getElementById("helpdesk-resume");
  if (data) {
    var resume = JSON.parse(data.textContent);
    try {
      var store = {};
      try {
        store = JSON.parse(localStorage.getItem(resume.storeKey) || "null") || {};
      } catch (error) {
        store = {};
      }
      if (store.token !== resume.token) {
        store = { cursor: null, rated: {}, read: {} }; // another customer's state: not theirs
      }
      store.token = resume.token;
      store.customer = resume.customer;
      store.identifier = null;
      localStorage.setItem(resume.storeKey, JSON.stringify(store));
      sessionStorage.setItem(
        resume.tabKey,
        JSON.stringify({ open: true, current: resume.conversation })
      );
    } catch (error) {
      /* storage blocked: the widget still opens, as a new visitor */
    }
  }

  // Buttons that open the chat, as a site calls the widget's API from its own script.
  document.querySelectorAll("[data-open-chat]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (window.HelpdeskWidget) window.HelpdeskWidget.open();
    });
  });

  // The demo shop behaves like a single-page shop: a product opens without a page load
  // (history.pushState, which the widget reports as a page view), and the cart is told to
  // the helpdesk with HelpdeskWidget.identify, as a shop sends its own facts about a visitor.
  var shopName = document.title;
  document.querySelectorAll("a[data-product]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var url = new URL(link.href);
      history.pushState({}, "", url.search + "#shop");
      document.title = link.textContent + " · " + shopName;
    });
  });
  window.addEventListener("popstate", function () {
    if (!new URL(location.href).searchParams.get("product")) document.title = shopName;
  });
  var cart = { items: 0, value: 0 };
  document.querySelectorAll("[data-add-to-cart]").forEach(function (button) {
    button.addEventListener("click", function () {
      cart.items += 1;
      cart.value += Number(button.getAttribute("data-add-to-cart"));
      if (window.HelpdeskWidget) {
        window.HelpdeskWidget.identify({ cart_items: cart.items, cart_value_try: cart.value });
      }
    });
  });
})();

/*! Helpdesk widget loader (docs/widget.md "What a visitor downloads"). This is the URL sites
 * embed; it stays the same and is cached for minutes. It fetches the widget, its stylesheet
 * and helpdesk/client.js side by side, under names that carry a hash of their content and are
 * cached for a year, and hands the widget its strings so that it asks for nothing more. */
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.HelpdeskWidget) return;
  const boot = {{ boot|safe }};
  const url = (path) => new URL(path, script.src).href;
  const head = document.head || document.documentElement;
  const preload = (rel, href, as) => {
    const link = document.createElement("link");
    Object.assign(link, { rel, href });
    if (as) link.as = as;
    head.appendChild(link);
  };
  // Started now rather than when the widget asks for them: one round trip instead of two.
  preload("modulepreload", url(boot.client));
  preload("preload", url(boot.stylesheet), "style");
  const app = document.createElement("script");
  app.src = url(boot.bundle);
  app.async = true;
  app.helpdeskBoot = Object.assign(boot, {
    script,
    client: url(boot.client),
    stylesheet: url(boot.stylesheet),
  });
  head.appendChild(app);
})();

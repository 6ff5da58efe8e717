/*
 * Channels in the workspace (docs/channels.md): the icon of a conversation's channel, and the
 * delivery of each reply that leaves through one (pending, sent, delivered, read, failed, with
 * a Retry for failed). workspace.js calls these; they build nodes and hold no state.
 * Icons are drawn here (no image requests, nothing the Content-Security-Policy must allow).
 */
import { h } from "../helpdesk/client.js";

const SVG = "http://www.w3.org/2000/svg";

// 24×24 outlines, drawn with the current colour; each channel also has its own colour (CSS).
const ICONS = {
  web: "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm-8.5 9h17M12 3c2.5 2.7 3.5 5.7 3.5 9s-1 6.3-3.5 9c-2.5-2.7-3.5-5.7-3.5-9s1-6.3 3.5-9z",
  email: "M3 6h18v12H3zM3 6l9 7 9-7",
  api: "M9 4c-2 0-3 1-3 3v3l-2 2 2 2v3c0 2 1 3 3 3M15 4c2 0 3 1 3 3v3l2 2-2 2v3c0 2-1 3-3 3",
  whatsapp: "M4 20l1.3-4A8 8 0 1 1 8 18.7zM9 9c0 3 3 6 6 6l1-1.5-2-1-1 1c-1 0-2.5-1.5-2.5-2.5l1-1-1-2z",
  messenger: "M12 3c5 0 9 3.6 9 8.2s-4 8.2-9 8.2c-.9 0-1.8-.1-2.6-.4L6 21v-3.3A8 8 0 0 1 3 11.2C3 6.6 7 3 12 3zM7 14l3.5-3.5 2.5 2 4-4",
  instagram: "M7 3h10a4 4 0 0 1 4 4v10a4 4 0 0 1-4 4H7a4 4 0 0 1-4-4V7a4 4 0 0 1 4-4zm5 5a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm5.5-2.5v.01",
  telegram: "M21 4L3 11l6 2 2 6 3-4 5 4zM9 13l9-7",
};

/** What the page calls the channel: the inbox filter's option, else its name. */
export function channelLabel(channel) {
  const option = [...document.querySelectorAll("#inbox-filters [name=channel] option")].find((item) => item.value === channel);
  return option ? option.textContent : channel;
}

/** The channel's icon, named for screen readers (role img); no text of its own. */
export function channelIcon(channel) {
  const label = channelLabel(channel);
  const icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[channel] || ICONS.api);
  icon.append(path);
  return h("span", { class: `channel-icon channel-${ICONS[channel] ? channel : "other"}`, role: "img", "aria-label": label, title: label }, icon);
}

const MARKS = { pending: "…", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };

/** Under a reply that leaves through a channel: how far it got. `retry(message)` sends a
 * failed one again. */
export function deliveryNote(message, { t, retry }) {
  const delivery = message.delivery;
  if (!delivery || !MARKS[delivery]) return null;
  const note = h(
    "span",
    { class: `delivery delivery-${delivery}`, role: delivery === "failed" ? "alert" : null },
    h("span", { class: "delivery-mark", "aria-hidden": "true", text: MARKS[delivery] }),
    t(`delivery_${delivery}`),
  );
  if (delivery === "failed") note.append(h("button", { type: "button", class: "delivery-retry", text: t("retry"), onclick: () => retry(message) }));
  return note;
}

/*
 * Channels in the workspace (docs/channels.md): the icon of a conversation's channel, and the
 * delivery of each reply that leaves through one (pending, sent, delivered, read, failed, with
 * a Retry for failed). workspace.js calls these; they build nodes and hold no state.
 * Icons are inline SVG paths (no image requests, nothing the Content-Security-Policy must allow).
 */
import { h } from "../helpdesk/client.js";

const SVG = "http://www.w3.org/2000/svg";

// A channel's 24×24 outline comes from its plug-in (inboxes/registry.py), on the inbox
// filter's option; drawn with the current colour, and each channel has its own colour (CSS).
// A channel an import brought in, which no plug-in draws, gets this generic one.
const OTHER_ICON = "M9 4c-2 0-3 1-3 3v3l-2 2 2 2v3c0 2 1 3 3 3M15 4c2 0 3 1 3 3v3l2 2-2 2v3c0 2-1 3-3 3";

function channelOption(channel) {
  return [...document.querySelectorAll("#inbox-filters [name=channel] option")].find((item) => item.value === channel);
}

/** What the page calls the channel: the inbox filter's option, else its name. */
export function channelLabel(channel) {
  const option = channelOption(channel);
  return option ? option.textContent : channel;
}

/** The channel's icon, named for screen readers (role img); no text of its own. */
export function channelIcon(channel) {
  const option = channelOption(channel);
  const label = option ? option.textContent : channel;
  const icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  const drawn = option?.dataset.icon;
  path.setAttribute("d", drawn || OTHER_ICON);
  icon.append(path);
  return h("span", { class: `channel-icon channel-${drawn ? channel : "other"}`, role: "img", "aria-label": label, title: label }, icon);
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

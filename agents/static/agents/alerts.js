/*
 * Alerts in the agent workspace (docs/workspace.md "Alerts"): a short sound, a desktop
 * notification while the page is in the background, an unread count in the tab's title and
 * its icon, a "New conversation" pill over the inbox, and the bell menu with the agent's
 * settings (GET/PATCH /api/v1/agents/me/alerts) and their recent alerts.
 *
 * workspace.js hands every socket event to `onEvent` and says when a conversation is opened
 * (`seen`). An alert fires only for what this agent should hear, never for their own actions:
 *   - new_conversation: the first message of a new conversation in one of my teams (or in no
 *     team), written by the customer; or a conversation the bot handed over to my team;
 *   - reply: a customer's message in a conversation assigned to me;
 *   - mention: a private note of a colleague that mentions me (docs/workspace.md "Mentions").
 * Each kind can be turned off; the sound and desktop notifications too. The browser is asked
 * for permission to notify only when the agent clicks "Enable desktop notifications".
 *
 * For the browser tests: `log` records every alert ({kind, conversation, sound, notified,
 * seen}), `sounds` and `notifications` count what was played and shown.
 */
import { h } from "../helpdesk/client.js";

const SOUND_GAP_MS = 1500; // a burst of events (a reconnect's catch-up) rings once
const LOG_KEPT = 100;
const RECENT_SHOWN = 10;
const PILL_WAIT_MS = 60000; // a new conversation's row that never shows up (another tab)
const TOAST_MS = 8000;
const KIND_SETTING = { new_conversation: "new_conversations", reply: "replies", mention: "mentions" };
const SETTINGS = ["sound", "desktop", "new_conversations", "replies", "mentions", "mention_emails"];

export function createAlerts({ api, me, state, open }) {
  const $ = (id) => document.getElementById(id);
  const T = JSON.parse($("alerts-strings").textContent);
  const t = (key, params) => Object.entries(params || {}).reduce((text, [name, value]) => text.replace(`%(${name})s`, value), T[key] || key);

  const settings = { sound: true, desktop: false, new_conversations: true, replies: true, mentions: true, mention_emails: true };
  const log = [];
  const counters = { sounds: 0, notifications: 0 };
  const startedWith = new Map(); // conversation id → its conversation.created payload, until its first message
  const baseTitle = document.title;
  const icon = document.querySelector("link[rel~=icon]");
  const baseIcon = icon?.href;

  // --- Which events are this agent's to hear -------------------------------------------------

  function inMyTeams(conversation) {
    const mine = (state.agent?.teams || []).map((team) => team.id);
    return !conversation.team || mine.includes(conversation.team.id);
  }

  function customerOf(conversation) {
    const customer = conversation?.customer || {};
    return customer.name || customer.email || t("customer_n", { id: customer.id ?? "?" });
  }

  const excerpt = (text) => String(text || "").replace(/\s+/g, " ").trim().slice(0, 140);

  function onEvent(event) {
    const data = event.data || {};
    if (event.type === "conversation.created" && typeof data.id === "number") {
      if (!data.with_bot && inMyTeams(data)) startedWith.set(data.id, data);
      return;
    }
    if (event.type === "conversation.updated" && event.change?.handed_over && inMyTeams(data)) {
      raise("new_conversation", data.id, t("new_conversation"), `${customerOf(data)}: ${excerpt(data.last_message_preview)}`);
      return;
    }
    if (event.type !== "message.created" || typeof data.id !== "number") return;
    const conversationId = event.conversation ?? data.conversation;
    const author = data.author || {};
    const started = startedWith.get(conversationId);
    startedWith.delete(conversationId);
    if (author.kind === "agent" && author.id === me.id) return; // my own doing
    if (author.kind === "customer" && started) {
      raise("new_conversation", conversationId, t("new_conversation"), `${author.name || customerOf(started)}: ${excerpt(data.body)}`);
    } else if (author.kind === "customer") {
      replyInMine(conversationId, data);
    } else if (author.kind === "agent" && data.private && (data.mentions || []).some((mention) => mention.id === me.id)) {
      state.participating?.add(conversationId);
      raise("mention", conversationId, t("mentioned_you", { name: author.name || "" }), excerpt(data.body));
    }
  }

  async function replyInMine(conversationId, message) {
    let conversation = state.conversations.get(conversationId);
    if (!conversation) {
      try {
        conversation = await api("GET", `conversations/${conversationId}`);
      } catch {
        return; /* not visible to me (any more): not mine */
      }
    }
    if (conversation.assignee?.id !== me.id) return;
    raise("reply", conversationId, t("reply_from", { name: message.author?.name || customerOf(conversation) }), excerpt(message.body));
  }

  // --- Raising one: log, sound, notification, toast, pill ------------------------------------

  /** Looking at it right now: the page in front and this conversation open. */
  function watching(conversationId) {
    return conversationId === state.currentId && !inBackground();
  }

  function inBackground() {
    return document.visibilityState === "hidden" || !document.hasFocus();
  }

  function raise(kind, conversation, title, body) {
    if (!settings[KIND_SETTING[kind]]) return;
    const entry = { kind, conversation, title, body, at: new Date().toISOString(), seen: watching(conversation), sound: false, notified: false };
    log.push(entry);
    if (log.length > LOG_KEPT) log.shift();
    if (settings.sound && !entry.seen) entry.sound = playSound();
    if (settings.desktop && inBackground()) entry.notified = notify(entry);
    if (kind === "mention") showToast(entry);
    if (kind === "new_conversation") watchForRow(conversation);
    render();
  }

  // A two-note chime made by Web Audio: no file to download. Browsers start audio only after
  // the page has had a click or a key: the first one unlocks it.
  let audio = null;
  let lastSound = 0;

  function unlockAudio() {
    try {
      audio ??= new AudioContext();
      if (audio.state === "suspended") audio.resume().catch(() => {});
    } catch {
      audio = null; /* no Web Audio here */
    }
  }
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlockAudio, { once: true, capture: true });

  function playSound() {
    const now = Date.now();
    if (now - lastSound < SOUND_GAP_MS) return false;
    lastSound = now;
    unlockAudio();
    if (!audio) return false;
    const start = audio.currentTime + 0.01;
    [880, 1318.5].forEach((frequency, index) => {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      const at = start + index * 0.13;
      oscillator.type = "sine";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.18, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.35);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.4);
    });
    counters.sounds += 1;
    return true;
  }

  function notify(entry) {
    if (!("Notification" in window) || Notification.permission !== "granted") return false;
    try {
      const notification = new Notification(entry.title, { body: entry.body, tag: `helpdesk-${entry.kind}-${entry.conversation}`, lang: document.documentElement.lang });
      notification.onclick = () => {
        window.focus();
        open(entry.conversation);
        notification.close();
      };
    } catch {
      return false; /* some browsers allow notifications from a service worker only */
    }
    counters.notifications += 1;
    return true;
  }

  let toastTimer = null;
  function showToast(entry) {
    const box = $("alert-toast");
    box.replaceChildren(
      h("span", { class: "alert-toast-text" }, h("strong", { text: entry.title }), h("span", { class: "alert-toast-body", text: entry.body })),
      h("button", { type: "button", class: "button small", text: t("open"), onclick: () => openFromAlert(entry.conversation) }),
    );
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (box.hidden = true), TOAST_MS);
  }

  function openFromAlert(conversationId) {
    $("alert-toast").hidden = true;
    open(conversationId);
  }

  // --- Seen, and the count in the title, the icon and the bell -----------------------------------

  function unseen() {
    return log.filter((entry) => !entry.seen).length;
  }

  /** The agent opened the conversation: its alerts are read. */
  function seen(conversationId) {
    let changed = false;
    for (const entry of log) {
      if (entry.conversation === conversationId && !entry.seen) changed = entry.seen = true;
    }
    if (changed) render();
  }

  function seenAll() {
    for (const entry of log) entry.seen = true;
    render();
  }

  function render() {
    const count = unseen();
    document.title = count ? `(${count}) ${baseTitle}` : baseTitle;
    const badge = $("alerts-count");
    badge.hidden = !count;
    badge.textContent = count ? String(count) : "";
    $("alerts-button").setAttribute("aria-label", count ? t("alerts_n", { count }) : t("alerts"));
    drawIcon(count);
    renderRecent();
  }

  /** The tab's icon: the brand's diamond, with a red badge holding the count. */
  function drawIcon(count) {
    if (!icon) return;
    if (!count) {
      icon.href = baseIcon;
      return;
    }
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 32;
    const pen = canvas.getContext("2d");
    if (!pen) return;
    pen.fillStyle = "#2563eb";
    pen.beginPath();
    pen.moveTo(14, 2);
    pen.lineTo(26, 14);
    pen.lineTo(14, 26);
    pen.lineTo(2, 14);
    pen.closePath();
    pen.fill();
    pen.fillStyle = "#dc2626";
    pen.beginPath();
    pen.arc(22, 22, 10, 0, 2 * Math.PI);
    pen.fill();
    pen.fillStyle = "#fff";
    pen.font = "bold 14px system-ui, sans-serif";
    pen.textAlign = "center";
    pen.textBaseline = "middle";
    pen.fillText(count > 9 ? "9+" : String(count), 22, 23);
    icon.href = canvas.toDataURL("image/png");
  }

  function renderRecent() {
    const list = $("alerts-recent");
    const recent = log.slice(-RECENT_SHOWN).reverse();
    list.replaceChildren(
      ...recent.map((entry) =>
        h(
          "li",
          { dataset: { kind: entry.kind, seen: String(entry.seen) } },
          h(
            "button",
            {
              type: "button",
              class: "alert-item",
              onclick: () => {
                $("alerts-dialog").close();
                open(entry.conversation);
              },
            },
            h("span", { class: "alert-title", text: entry.title }),
            h("span", { class: "alert-body", text: entry.body }),
          ),
        ),
      ),
    );
    if (!recent.length) list.append(h("li", { class: "muted small", text: t("no_alerts") }));
  }

  // --- "New conversation ↑": its row landed out of the inbox's view -----------------------------

  const awaited = new Map(); // conversation id → until when its row is awaited
  let pillTarget = null;

  function watchForRow(conversationId) {
    awaited.set(conversationId, Date.now() + PILL_WAIT_MS);
    checkRows();
  }

  function rowOf(conversationId) {
    return $("conversation-list").querySelector(`.conv[data-id="${conversationId}"]`);
  }

  /** Where the row is: "above" or "below" the list's visible part, or "shown". */
  function whereIs(row) {
    const list = $("conversation-list").getBoundingClientRect();
    const box = row.getBoundingClientRect();
    const middle = (box.top + box.bottom) / 2;
    if (middle < list.top) return "above";
    if (middle > list.bottom) return "below";
    return "shown";
  }

  function checkRows() {
    pillTarget = null;
    for (const [id, until] of [...awaited]) {
      const row = rowOf(id);
      if (!row) {
        if (until < Date.now()) awaited.delete(id);
        continue;
      }
      const where = whereIs(row);
      if (where === "shown") awaited.delete(id);
      else pillTarget = { id, where };
    }
    const pill = $("new-conversation-pill");
    pill.hidden = !pillTarget;
    if (!pillTarget) return;
    const above = pillTarget.where === "above";
    pill.textContent = above ? t("new_conversation_up") : t("new_conversation_down");
    pill.dataset.where = pillTarget.where;
    // Over the top of the list when the row is above it, else at the bottom (alerts.css).
    pill.style.top = above ? `${$("conversation-list").offsetTop + 12}px` : "";
  }

  $("new-conversation-pill").addEventListener("click", () => {
    if (!pillTarget) return;
    const row = rowOf(pillTarget.id);
    awaited.delete(pillTarget.id);
    row?.scrollIntoView({ block: "nearest", behavior: "smooth" });
    row?.querySelector("a")?.focus({ preventScroll: true });
    checkRows();
  });
  new MutationObserver(() => awaited.size && checkRows()).observe($("conversation-list"), { childList: true });
  $("conversation-list").addEventListener("scroll", () => awaited.size && checkRows(), { passive: true });

  // --- The bell: settings and recent alerts -------------------------------------------------------

  const dialog = $("alerts-dialog");

  function notificationState() {
    if (!("Notification" in window)) return "unsupported";
    return Notification.permission; // "default", "granted" or "denied"
  }

  function renderSettings() {
    for (const name of SETTINGS) $(`alert-${name}`).checked = settings[name];
    const permission = notificationState();
    $("alerts-enable-desktop").hidden = permission !== "default";
    const note = { denied: t("notifications_blocked"), unsupported: t("notifications_unsupported") }[permission] || "";
    $("alerts-permission").textContent = note;
    $("alerts-permission").hidden = !note;
  }

  async function save(changes) {
    const error = $("alerts-error");
    error.hidden = true;
    try {
      Object.assign(settings, await api("PATCH", "agents/me/alerts", changes));
    } catch (failure) {
      error.textContent = failure.message || String(failure);
      error.hidden = false;
    }
    renderSettings();
  }

  /** The one place that asks the browser for permission: a click of the agent's. */
  async function enableDesktop() {
    if (notificationState() === "default") {
      try {
        await Notification.requestPermission();
      } catch {
        /* an old browser's callback form: its answer shows in the permission below */
      }
    }
    await save({ desktop: notificationState() === "granted" });
  }

  for (const name of SETTINGS) {
    $(`alert-${name}`).addEventListener("change", (event) => {
      if (name === "desktop" && event.target.checked && notificationState() !== "granted") enableDesktop();
      else save({ [name]: event.target.checked });
    });
  }
  $("alerts-enable-desktop").addEventListener("click", enableDesktop);
  $("alerts-button").addEventListener("click", () => {
    renderSettings();
    renderRecent();
    dialog.showModal();
    seenAll();
    loadSettings().then(renderSettings); // changed in another tab meanwhile?
  });
  $("alerts-close").addEventListener("click", () => dialog.close());

  // Back in front: what is on screen is read.
  const backInFront = () => state.currentId && !inBackground() && seen(state.currentId);
  window.addEventListener("focus", backInFront);
  document.addEventListener("visibilitychange", backInFront);

  async function loadSettings() {
    try {
      Object.assign(settings, await api("GET", "agents/me/alerts"));
    } catch {
      /* the defaults meanwhile; the bell menu tries again when opened */
    }
  }

  loadSettings();
  render();

  return {
    onEvent,
    seen,
    settings,
    log,
    get sounds() {
      return counters.sounds;
    },
    get notifications() {
      return counters.notifications;
    },
  };
}

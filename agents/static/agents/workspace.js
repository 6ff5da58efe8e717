/*
 * The agent workspace (/agent/): inbox | conversation | details. Plain JavaScript, no build.
 *
 * Everything comes from the REST API (/api/v1/…, session + CSRF) and the agent websocket
 * (/ws/agent/), both through helpdesk/client.js as in the widget: send "resume" with the last
 * cursor seen, drop cursors already seen, ping every 25 s, reconnect with backoff (1 s … 30 s)
 * and catch up from the cursor. The REST list is reloaded after a resume that had no cursor to
 * start from (the first connection), and polled while the socket is down.
 *
 * Message bodies and every other user-provided text are inserted with textContent; the only
 * HTML ever inserted is a search result's `search.highlight`, reduced to text and <mark>.
 * window.hdWorkspace exposes the state to the browser tests. An ES module (type="module").
 */
import { ApiError, errorText as apiErrorText, attachmentList, avatar, csrfToken, h, liveConnection, pendingFiles, socketUrl, staffApi, uploadMessage, uuid } from "../helpdesk/client.js";
import { installShortcuts } from "./shortcuts.js";
import { installViews } from "./views.js";
import { createAlerts } from "./alerts.js";
import { channelIcon, deliveryNote } from "./channels.js";
import { attachMentionPicker } from "./mentions.js";

(function () {
  "use strict";

  const root = document.getElementById("workspace");
  const API = root.dataset.api;
  const ME = JSON.parse(document.getElementById("workspace-me").textContent);
  const T = JSON.parse(document.getElementById("workspace-strings").textContent);
  const MAX_MESSAGE_LENGTH = Number(root.dataset.maxMessageLength) || 10000; // HELPDESK_MAX_MESSAGE_LENGTH
  const COUNT_SHOWN_FROM = 0.8; // the counter shows from this share of the limit
  const PAGE_SIZE = 50;
  const POLL_EVERY_MS = 15000;
  const TYPING_SHOWN_MS = 6000;
  const TYPING_SEND_EVERY_MS = 2500;
  const TYPING_IDLE_MS = 4000;
  const $ = (id) => document.getElementById(id);

  function t(key, params) {
    let text = T[key] || key;
    for (const [name, value] of Object.entries(params || {})) text = text.replace(`%(${name})s`, value);
    return text;
  }

  // --- State ------------------------------------------------------------------------------------

  const state = {
    me: ME,
    agent: null, // /agents/me: presence, capacity, open_assigned, teams
    tab: "mine",
    filters: { q: "", status: "", channel: "", label: "", ordering: "waiting_since" },
    conversations: new Map(), // id → conversation (the inbox's rows)
    listed: [], // ids in the inbox, in display order
    currentId: null,
    current: null, // the open conversation (detail shape)
    messages: new Map(), // client_id or id → message of the open conversation
    typing: new Map(), // conversation id → {name, kind, until}
    agents: [],
    teams: [],
    canned: null,
    cursor: null,
    socketLive: false,
    events: 0,
    participating: new Set(), // conversations where a note mentions me (the "Participating" tab)
  };
  // What views.js and shortcuts.js add: saved views, bulk selection, keys (each optional).
  const hooks = {};

  // --- API --------------------------------------------------------------------------------------

  const api = staffApi(API, {
    networkError: () => t("network"),
    onError: (error) => {
      if ((error.status === 401 || error.status === 403) && error.code === "not_authenticated") toLogin();
    },
  });

  function toLogin() {
    location.href = `/admin/login/?next=${encodeURIComponent(location.pathname)}`;
  }

  function errorText(error) {
    return error instanceof ApiError ? apiErrorText(error) : t("error", { message: String(error) });
  }

  // --- Small DOM helpers --------------------------------------------------------------------------

  /** A small padlock (an emoji may have no font on the agent's machine). */
  function lockIcon() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "lock-icon");
    svg.setAttribute("aria-hidden", "true");
    svg.innerHTML = '<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>'; // constant markup
    return svg;
  }

  /** A search highlight (escaped HTML with <mark>, README "Search") as nodes: parsed inert in
   * a <template> (no script runs, no image loads), then rebuilt from its text and its <mark>s
   * alone, so even a highlight that broke its promise could insert nothing else. */
  function highlightNodes(html) {
    const template = document.createElement("template");
    template.innerHTML = String(html);
    const nodes = document.createDocumentFragment();
    for (const node of template.content.childNodes) {
      if (node.nodeName === "MARK") nodes.append(h("mark", { text: node.textContent }));
      else nodes.append(document.createTextNode(node.textContent));
    }
    return nodes;
  }

  let toastTimer = null;
  function toast(message, kind) {
    const box = $("toast");
    box.textContent = message;
    box.dataset.kind = kind || "info";
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (box.hidden = true), kind === "error" ? 6000 : 2500);
  }

  function customerName(conversation) {
    const customer = conversation.customer || {};
    return customer.name || customer.email || t("customer_n", { id: customer.id ?? "?" });
  }

  function ago(iso) {
    if (!iso) return "";
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 60) return t("now");
    if (seconds < 3600) return t("minutes", { n: Math.floor(seconds / 60) });
    if (seconds < 86400) return t("hours", { n: Math.floor(seconds / 3600) });
    return t("days", { n: Math.floor(seconds / 86400) });
  }

  const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: "medium", timeStyle: "short" });
  const clockFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit" });

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return Date.now() - date < 20 * 3600 * 1000 ? clockFormat.format(date) : timeFormat.format(date);
  }

  // --- Inbox --------------------------------------------------------------------------------------

  function inboxQuery() {
    const viewed = hooks.viewQuery?.(PAGE_SIZE); // a saved view is shown
    if (viewed) return viewed;
    const query = new URLSearchParams({ page_size: PAGE_SIZE });
    // A search comes best first (the server ranks it); an `ordering` would replace the rank.
    if (!state.filters.q) query.set("ordering", state.filters.ordering);
    if (state.tab === "mine") query.set("assignee", "me");
    if (state.tab === "unassigned") {
      query.set("assignee", "none");
      query.set("status", "open"); // unless a status filter says otherwise, below
    }
    if (state.tab === "teams") query.set("team", "mine");
    if (state.tab === "participating") query.set("mentioned", "me");
    for (const key of ["status", "channel", "label", "q"]) {
      if (state.filters[key]) query.set(key, state.filters[key]);
    }
    return query;
  }

  let inboxRequest = 0;
  async function loadInbox() {
    const request = ++inboxRequest;
    const query = inboxQuery();
    const empty = $("inbox-empty");
    if (!state.listed.length) {
      empty.textContent = t("loading");
      empty.hidden = false;
    }
    let data;
    try {
      data = await api("GET", `conversations?${query}`);
    } catch (error) {
      if (request === inboxRequest) toast(errorText(error), "error");
      return;
    }
    if (request !== inboxRequest) return; // the tab or a filter changed meanwhile
    const fresh = data.results || [];
    state.listed = [];
    for (const conversation of fresh) {
      remember(conversation);
      state.listed.push(conversation.id);
      if (state.tab === "participating") state.participating.add(conversation.id);
    }
    if (!state.filters.q) sortInbox(); // search results keep their relevance order
    renderInbox();
  }

  /** Keep the freshest copy of a conversation; `unread` and `search` survive event payloads. */
  function remember(conversation) {
    const known = state.conversations.get(conversation.id) || {};
    const merged = { ...known, ...conversation };
    if (conversation.unread === undefined) merged.unread = known.unread ?? 0;
    if (conversation.search === undefined && known.search) merged.search = known.search;
    state.conversations.set(conversation.id, merged);
    return merged;
  }

  /** Whether a conversation belongs in the current tab and filters (mirrors inboxQuery). */
  function matches(conversation) {
    const verdict = hooks.viewMatches?.(conversation); // undefined: no saved view shown
    if (verdict !== undefined) return verdict;
    const status = conversation.status;
    if (state.tab === "mine" && conversation.assignee?.id !== ME.id) return false;
    if (state.tab === "unassigned" && (conversation.assignee || (!state.filters.status && status !== "open"))) return false;
    if (state.tab === "participating" && !state.participating.has(conversation.id)) return false;
    if (state.tab === "teams") {
      const mine = (state.agent?.teams || []).map((team) => team.id);
      if (!conversation.team || !mine.includes(conversation.team.id)) return false;
    }
    const { status: statuses, channel, label } = state.filters;
    if (statuses && !statuses.split(",").includes(status)) return false;
    if (channel && conversation.channel !== channel) return false;
    if (label && !(conversation.labels || []).some((name) => name.toLowerCase() === label.toLowerCase())) return false;
    return true;
  }

  function sortKey(conversation) {
    return [conversation.waiting_since ? Date.parse(conversation.waiting_since) : Infinity, Date.parse(conversation.last_activity_at || 0)];
  }

  function sortInbox() {
    const byWaiting = (hooks.ordering?.() ?? state.filters.ordering) === "waiting_since";
    state.listed.sort((a, b) => {
      const one = state.conversations.get(a);
      const two = state.conversations.get(b);
      const [waitA, activityA] = sortKey(one);
      const [waitB, activityB] = sortKey(two);
      if (byWaiting && waitA !== waitB) return waitA - waitB;
      return activityB - activityA || b - a;
    });
  }

  /** Put a changed conversation where it belongs: in or out of the inbox, in order. */
  function placeInInbox(conversation) {
    const listed = state.listed.includes(conversation.id);
    if (!matches(conversation)) {
      if (listed) state.listed = state.listed.filter((id) => id !== conversation.id);
    } else if (!listed) {
      if (state.filters.q) return; // a search shows what the server found, nothing else
      state.listed.push(conversation.id);
    }
    if (!state.filters.q) sortInbox();
    renderInboxSoon();
  }

  let inboxFrame = null;
  function renderInboxSoon() {
    if (inboxFrame) return;
    inboxFrame = requestAnimationFrame(() => {
      inboxFrame = null;
      renderInbox();
    });
  }

  function renderInbox() {
    const list = $("conversation-list");
    const scroll = list.scrollTop;
    list.replaceChildren(...state.listed.map((id) => conversationRow(state.conversations.get(id))));
    list.scrollTop = scroll;
    hooks.afterRender?.(list);
    const empty = $("inbox-empty");
    empty.hidden = state.listed.length > 0;
    empty.textContent = state.filters.q || state.filters.status || state.filters.channel || state.filters.label ? t("no_match") : t("no_conversations");
    renderTabUnread();
  }

  function renderTabUnread() {
    const total = state.listed.reduce((sum, id) => sum + (state.conversations.get(id)?.unread || 0), 0);
    for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
      const badge = tab.querySelector(".tab-unread");
      const shown = tab.dataset.tab === state.tab && total > 0;
      badge.hidden = !shown;
      badge.textContent = shown ? String(total) : "";
    }
  }

  function conversationRow(conversation) {
    const typing = typingIn(conversation.id);
    const preview = h("span", { class: "preview" });
    if (typing) {
      preview.classList.add("typing-now");
      preview.textContent = typing.kind === "customer" ? t("customer_typing") : t("typing", { name: typing.name });
    } else if (conversation.search?.highlight) {
      preview.replaceChildren(highlightNodes(conversation.search.highlight)); // text and <mark> only
    } else {
      preview.textContent = conversation.last_message_preview || "";
    }
    const waiting = conversation.waiting_since && conversation.status === "open";
    const badges = [];
    if (conversation.status !== "open") badges.push(h("span", { class: `chip status-${conversation.status}`, text: t(`status_${conversation.status}`) }));
    if (conversation.priority === "high" || conversation.priority === "urgent") {
      badges.push(h("span", { class: `chip priority-${conversation.priority}`, text: priorityLabel(conversation.priority) }));
    }
    if (conversation.callback?.phone) badges.push(h("span", { class: "chip phone", title: conversation.callback.phone, text: `☎ ${conversation.callback.phone}` }));
    badges.push(h("span", { class: "chip", text: conversation.assignee ? conversation.assignee.name : t("unassigned") }));
    if (conversation.team) badges.push(h("span", { class: "chip", text: conversation.team.name }));
    for (const label of conversation.labels || []) badges.push(h("span", { class: "chip label", text: `#${label}` }));
    const unread = conversation.unread || 0;
    return h(
      "li",
      {
        class: "conv",
        dataset: { id: conversation.id, unread: unread > 0 ? "true" : "false" },
        "aria-current": conversation.id === state.currentId ? "true" : "false",
      },
      h(
        "a",
        {
          href: `#conversation-${conversation.id}`,
          onclick: (event) => {
            event.preventDefault();
            openConversation(conversation.id);
          },
        },
        h("span", { class: "who" }, channelIcon(conversation.channel), customerName(conversation)),
        h("span", {
          class: waiting ? "when waiting" : "when",
          title: waiting ? t("waiting", { time: ago(conversation.waiting_since) }) : when(conversation.last_activity_at),
          text: waiting ? ago(conversation.waiting_since) : ago(conversation.last_activity_at),
        }),
        preview,
        unread > 0 ? h("span", { class: "unread-badge", "aria-label": t("unread", { count: unread }), text: String(unread) }) : null,
        h("span", { class: "badges" }, badges),
      ),
    );
  }

  function priorityLabel(value) {
    const option = [...$("priority-select").options].find((item) => item.value === value);
    return option ? option.textContent : value;
  }

  // --- The open conversation -----------------------------------------------------------------------

  let openRequest = 0;
  async function openConversation(id, { keepView = false } = {}) {
    const request = ++openRequest;
    const again = id === state.currentId; // a refresh: keep what is still being sent
    if (state.currentId && !again) send({ type: "unsubscribe", conversation: state.currentId });
    const unsent = again ? [...state.messages.values()].filter((message) => message.id == null) : [];
    state.currentId = id;
    alerts.seen(id);
    if (!again) {
      state.messages = new Map();
      closePicker();
    }
    if (!keepView) root.dataset.view = "thread";
    history.replaceState(null, "", `#conversation-${id}`);
    renderInbox();
    let detail;
    try {
      detail = await api("GET", `conversations/${id}`);
    } catch (error) {
      if (request === openRequest) toast(errorText(error), "error");
      return;
    }
    if (request !== openRequest) return;
    const { messages, ...conversation } = detail;
    state.current = conversation;
    remember({ ...conversation, customer: { ...conversation.customer } });
    state.messages = new Map(messages.map((message) => [messageKey(message), message]));
    for (const message of unsent) if (!state.messages.has(messageKey(message))) state.messages.set(messageKey(message), message);
    $("no-conversation").hidden = true;
    $("conversation").hidden = false;
    $("details-inner").hidden = false;
    send({ type: "subscribe", conversation: id });
    renderConversation({ scroll: again ? undefined : "bottom" });
    renderDetails();
    if (!again) loadEarlier(conversation);
    if (!again) loadContext(conversation.customer.id);
    markRead();
    if (!again && !matchMedia("(max-width: 760px)").matches) $("composer-input").focus();
  }

  function messageKey(message) {
    return message.client_id ? `c:${message.client_id}` : `i:${message.id}`;
  }

  function sortedMessages() {
    return [...state.messages.values()].sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));
  }

  function renderConversation({ scroll } = {}) {
    const conversation = state.current;
    if (!conversation) return;
    $("thread-customer").replaceChildren(channelIcon(conversation.channel), customerName(conversation));
    $("thread-id").textContent = t("conversation_n", { id: conversation.id });
    const meta = [conversation.team ? conversation.team.name : t("no_team"), conversation.assignee ? conversation.assignee.name : t("unassigned")];
    if (conversation.status === "snoozed" && conversation.snoozed_until) meta.push(t("snoozed_until", { time: when(conversation.snoozed_until) }));
    $("thread-meta").textContent = meta.join(" · ");
    const badge = $("thread-status");
    badge.dataset.status = conversation.status;
    badge.textContent = t(`status_${conversation.status}`);
    const thread = $("thread");
    const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 60;
    thread.replaceChildren(...threadItems());
    if (scroll === "bottom" || atBottom) thread.scrollTop = thread.scrollHeight;
    renderTyping();
  }

  /** The messages, and where the bot handed over: after its last answer (docs/bot.md). */
  function threadItems() {
    const messages = sortedMessages();
    const items = messages.map(messageItem);
    const lastBot = messages.map((message) => message.author?.kind).lastIndexOf("bot");
    if (lastBot >= 0 && state.current && !state.current.with_bot) {
      items.splice(lastBot + 1, 0, h("li", { class: "handover", role: "note", text: t("handed_over") }));
    }
    return items;
  }

  function authorName(message) {
    const author = message.author || {};
    if (author.kind === "agent") return author.id === ME.id ? t("you") : author.name || t("customer");
    if (author.kind === "customer") return author.name || customerName(state.current || {});
    return author.kind === "bot" ? t("bot") : t("system");
  }

  function messageItem(message) {
    const kind = message.author?.kind || "system";
    const classes = ["msg", `msg-${kind}`];
    if (message.private) classes.push("msg-private");
    const meta = h(
      "span",
      { class: "meta" },
      message.private ? h("span", { class: "lock" }, lockIcon(), t("private_note")) : null,
      h("span", { class: "author", text: authorName(message) }),
      message.mentions?.length ? h("span", { class: "mentions", text: message.mentions.map((mention) => `@${mention.name}`).join(" ") }) : null,
      h("time", { datetime: message.created_at, title: message.created_at ? timeFormat.format(new Date(message.created_at)) : null, text: message.created_at ? when(message.created_at) : t("sending") }),
    );
    const body = message.body ? h("div", { class: "body", text: message.body }) : null; // a file alone: no empty bubble
    const files = attachmentList(message.attachments, { base: location.origin, lang: document.documentElement.lang, scroller: $("thread") });
    const item = h("li", { class: classes.join(" "), dataset: { id: message.id ?? "", state: message.state || "sent" } }, meta, body, files, deliveryNote(message, { t, retry: retryDelivery }));
    if (message.state === "pending" && message.progress != null) item.append(h("span", { class: "muted small", text: t("uploading", { percent: message.progress }) }));
    if (message.state === "failed") {
      item.append(h("span", { class: "failed" }, t("failed"), h("button", { type: "button", text: t("retry"), onclick: () => deliver(message) })));
    }
    if (message.state === "refused") item.append(h("span", { class: "failed", role: "alert" }, `${t("failed")} ${message.error}`));
    return item;
  }

  function typingIn(conversationId) {
    const typing = state.typing.get(conversationId);
    if (!typing) return null;
    if (typing.until < Date.now()) {
      state.typing.delete(conversationId);
      return null;
    }
    return typing;
  }

  function renderTyping() {
    const line = $("typing");
    const typing = state.currentId ? typingIn(state.currentId) : null;
    line.hidden = !typing;
    line.textContent = typing ? (typing.kind === "customer" ? t("customer_typing") : t("typing", { name: typing.name })) : "";
  }

  // Read markers: the conversation on screen is read; the server counts unread from there.
  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(async () => {
      const id = state.currentId;
      if (!id || document.visibilityState === "hidden") return;
      const last = sortedMessages().filter((message) => message.id).pop();
      try {
        const answer = await api("POST", `conversations/${id}/read`, last ? { message: last.id } : {});
        const conversation = state.conversations.get(id);
        if (conversation) conversation.unread = answer.unread;
        renderInboxSoon();
      } catch {
        /* the badge simply stays; the next open tries again */
      }
    }, 300);
  }

  // --- Composer --------------------------------------------------------------------------------------

  const input = $("composer-input");
  const privateToggle = $("private-toggle");
  // Files go with the next reply: the paperclip, a drop on the conversation, a paste.
  const files = pendingFiles({
    zone: $("composer").parentElement,
    input,
    button: $("attach-button"),
    list: $("pending-files"),
    removeLabel: t("remove_file"),
    lang: document.documentElement.lang,
  });

  /** Characters as the server counts them (code points: an emoji is one). */
  function characters(text) {
    return [...text].length;
  }

  function showComposerError(text) {
    $("composer-error").textContent = text;
    $("composer-error").hidden = !text;
  }

  const numberFormat = new Intl.NumberFormat(document.documentElement.lang || undefined);

  /** The counter near the reply box, from 80 % of the limit. A changed text also clears an
   * earlier refusal, unless it is still over the limit. */
  function updateCount() {
    const count = characters(input.value.trim());
    const over = count > MAX_MESSAGE_LENGTH;
    const numbers = { count: numberFormat.format(count), limit: numberFormat.format(MAX_MESSAGE_LENGTH) };
    const counter = $("composer-count");
    counter.hidden = count < MAX_MESSAGE_LENGTH * COUNT_SHOWN_FROM;
    counter.classList.toggle("over", over);
    counter.textContent = t("count", numbers);
    if (!over) showComposerError("");
    return { over, numbers };
  }

  function sendMessage() {
    const body = input.value.trim();
    if ((!body && !files.count) || !state.currentId) return;
    const { over, numbers } = updateCount();
    if (over) {
      // Refused here, with the text kept: the server would refuse it (400 too_long).
      showComposerError(t("too_long", numbers));
      return;
    }
    showComposerError("");
    const message = {
      id: null,
      conversation: state.currentId,
      client_id: uuid(),
      author: { kind: "agent", id: ME.id, name: ME.name },
      body,
      private: privateToggle.checked,
      files: files.take(), // File objects until the server has them
      created_at: null,
      state: "pending",
    };
    state.messages.set(messageKey(message), message);
    input.value = "";
    updateCount();
    autoGrow();
    sendTyping(false);
    renderConversation({ scroll: "bottom" });
    deliver(message);
  }

  /** POST the message; a retry reuses its client_id, so the server never makes two. */
  async function deliver(message) {
    message.state = "pending";
    renderConversation();
    try {
      const path = `conversations/${message.conversation}/messages`;
      const fields = { body: message.body, client_id: message.client_id, private: message.private };
      const saved = message.files?.length ? await upload(path, fields, message) : await api("POST", path, fields);
      if (message.conversation === state.currentId) {
        state.messages.set(messageKey(saved), saved);
        renderConversation({ scroll: "bottom" });
        markRead();
      }
    } catch (error) {
      if (error instanceof ApiError && !error.retryable) return refused(message, error);
      message.state = "failed"; // a network or server failure: Retry may work
      renderConversation();
      toast(errorText(error), "error");
    }
  }

  /** Send a reply that failed to leave through its channel again (it goes back to pending). */
  async function retryDelivery(message) {
    try {
      const saved = await api("POST", `conversations/${message.conversation}/messages/${message.id}/retry`);
      if (saved.conversation === state.currentId) state.messages.set(messageKey(saved), saved);
      renderConversation();
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  /** A reply with files: multipart, with its progress shown in the thread. */
  function upload(path, fields, message) {
    const headers = { "X-CSRFToken": csrfToken(), "Accept-Language": document.documentElement.lang || "en" };
    const onProgress = (share) => {
      message.progress = Math.round(share * 100);
      renderConversation();
    };
    return uploadMessage({ url: API + path, fields, files: message.files, headers, onProgress });
  }

  /** The server refused the message (4xx): trying again would fail again, so the text goes
   * back into an empty reply box, with the reason next to it; otherwise the message stays
   * in the thread, marked with the reason. */
  function refused(message, error) {
    const here = message.conversation === state.currentId;
    if (here && !input.value.trim()) {
      state.messages.delete(messageKey(message));
      input.value = message.body;
      if (message.files?.length) files.add(message.files);
      privateToggle.checked = message.private;
      $("composer").dataset.private = String(message.private);
      autoGrow();
      updateCount();
      showComposerError(errorText(error));
      input.focus();
    } else {
      message.state = "refused";
      message.error = errorText(error);
    }
    renderConversation();
  }

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 200)}px`;
  }

  input.addEventListener("keydown", (event) => {
    if (slashLine() && handlePickerKey(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });
  input.addEventListener("input", () => {
    autoGrow();
    updateCount();
    if (slashLine()) openPicker();
    else closePicker();
    const value = input.value;
    if (value.trim() && !value.startsWith("/")) sendTyping(true);
    else sendTyping(false);
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  privateToggle.addEventListener("change", () => {
    $("composer").dataset.private = String(privateToggle.checked);
    sendTyping(false);
    input.focus();
  });

  // Canned responses: "/" at the start opens the picker; type to filter, ↑↓ and Enter.
  // While the reply is such a "/" line, Enter never sends: it picks the highlighted response
  // or does nothing (the list may still be loading, or match nothing).
  let pickerItems = [];
  let pickerIndex = 0;
  const pickerSources = []; // more items after the canned responses: (needle) => [{optionId, label, text, pick}] (macros.js)
  const optionId = (item) => item.optionId || `canned-${item.id}`;

  function pickerOpen() {
    return !$("canned-picker").hidden;
  }

  function slashLine() {
    return input.value.startsWith("/") && !input.value.includes("\n");
  }

  let cannedRequest = null;
  function loadCanned() {
    cannedRequest ??= api("GET", "canned-responses")
      .then((data) => (state.canned = data.results || []))
      .catch((error) => {
        cannedRequest = null; // try again next time
        toast(errorText(error), "error");
        return [];
      });
    return cannedRequest;
  }

  async function openPicker() {
    if (state.canned === null) await loadCanned();
    const value = input.value; // what is typed now, not when the list was asked for
    if (!slashLine()) return closePicker();
    const needle = value.slice(1).trim().toLowerCase();
    pickerItems = (state.canned || []).filter(
      (item) => !needle || item.shortcut.toLowerCase().includes(needle) || item.body.toLowerCase().includes(needle),
    );
    pickerItems.sort((a, b) => Number(!a.shortcut.toLowerCase().startsWith(needle)) - Number(!b.shortcut.toLowerCase().startsWith(needle)));
    pickerItems.push(...pickerSources.flatMap((source) => source(needle)));
    pickerIndex = Math.min(pickerIndex, Math.max(pickerItems.length - 1, 0));
    renderPicker();
  }

  function renderPicker() {
    const picker = $("canned-picker");
    const items = pickerItems.map((item, index) =>
      h(
        "li",
        {
          role: "option",
          id: optionId(item),
          class: item.kind,
          "aria-selected": index === pickerIndex ? "true" : "false",
          dataset: { shortcut: item.shortcut ?? "" },
          onmousedown: (event) => {
            event.preventDefault(); // keep the focus in the composer
            pickCanned(item);
          },
        },
        h("span", { class: "shortcut", text: item.label ?? `/${item.shortcut}` }),
        h("span", { class: "text", text: item.text ?? item.body }),
      ),
    );
    if (!items.length) items.push(h("li", { class: "none", text: t("no_canned") }));
    else items.push(h("li", { class: "hint", "aria-hidden": "true", text: t("canned_hint") }));
    picker.replaceChildren(...items);
    picker.hidden = false;
    input.setAttribute("aria-activedescendant", pickerItems[pickerIndex] ? optionId(pickerItems[pickerIndex]) : "");
    picker.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest" });
  }

  function closePicker() {
    $("canned-picker").hidden = true;
    pickerItems = [];
    pickerIndex = 0;
    input.removeAttribute("aria-activedescendant");
  }

  function handlePickerKey(event) {
    if (pickerOpen() && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      pickerIndex = (pickerIndex + step + pickerItems.length) % Math.max(pickerItems.length, 1);
      renderPicker();
      return true;
    }
    if ((event.key === "Enter" || event.key === "Tab") && pickerItems[pickerIndex]) {
      event.preventDefault();
      pickCanned(pickerItems[pickerIndex]);
      return true;
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault(); // nothing to pick (yet): a "/" line is never sent by Enter
      return true;
    }
    if (event.key === "Escape" && pickerOpen()) {
      event.preventDefault();
      closePicker();
      return true;
    }
    return false;
  }

  async function pickCanned(item) {
    closePicker();
    if (item.pick) {
      input.value = ""; // the "/" line was a search, not a reply
      autoGrow();
      return item.pick();
    }
    const id = state.currentId;
    try {
      const rendered = await api("GET", `canned-responses/${item.id}/render?conversation=${id}`);
      if (id !== state.currentId) return;
      input.value = rendered.rendered;
    } catch (error) {
      toast(errorText(error), "error");
      return;
    }
    autoGrow();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  // Our typing goes to the customer (or, for a private note, only to colleagues).
  let typingSentAt = 0;
  let typingIdle = null;
  function sendTyping(isTyping) {
    const conversation = state.currentId;
    if (!conversation) return;
    clearTimeout(typingIdle);
    const extra = privateToggle.checked ? { private: true } : {};
    if (isTyping) {
      if (Date.now() - typingSentAt >= TYPING_SEND_EVERY_MS) {
        typingSentAt = Date.now();
        send({ type: "typing", conversation, is_typing: true, ...extra });
      }
      typingIdle = setTimeout(() => sendTyping(false), TYPING_IDLE_MS);
    } else if (typingSentAt) {
      typingSentAt = 0;
      send({ type: "typing", conversation, is_typing: false, ...extra });
    }
  }

  // --- Details and actions -----------------------------------------------------------------------

  function renderDetails() {
    const conversation = state.current;
    if (!conversation) return;
    const customer = conversation.customer || {};
    const dash = t("not_set");
    $("customer-name").textContent = customer.name || dash;
    $("customer-email").textContent = customer.email || dash;
    $("customer-identifier").textContent = customer.identifier || dash;
    // A platform's customer is stored as "inbox-<id>:<the platform's id>": show the platform's.
    $("customer-external").textContent = (customer.external_id || "").replace(/^inbox-\d+:/, "") || dash;
    $("customer-language").textContent = customer.language || dash;
    const channel = [...document.querySelectorAll("#inbox-filters [name=channel] option")].find((option) => option.value === conversation.channel);
    $("conversation-channel").textContent = channel ? channel.textContent : conversation.channel;
    $("assign-me").hidden = conversation.assignee?.id === ME.id;
    $("resolve").hidden = conversation.status === "resolved";
    $("reopen").hidden = conversation.status !== "resolved";
    fillSelect($("assignee-select"), state.agents.map((agent) => [agent.id, agentLabel(agent)]), conversation.assignee?.id, t("nobody"));
    fillSelect($("team-select"), state.teams.map((team) => [team.id, team.name]), conversation.team?.id, t("no_team"));
    $("priority-select").value = conversation.priority;
    if (document.activeElement !== $("labels-input")) $("labels-input").value = (conversation.labels || []).join(", ");
    renderExtensions();
  }

  function agentLabel(agent) {
    const presence = { online: t("online"), away: t("away"), offline: t("offline_presence") }[agent.presence] || agent.presence;
    return `${agent.name} · ${presence} · ${agent.open_assigned}/${agent.capacity}`;
  }

  function fillSelect(select, options, value, emptyLabel) {
    const items = [h("option", { value: "", text: emptyLabel })];
    for (const [optionValue, label] of options) items.push(h("option", { value: optionValue, text: label }));
    select.replaceChildren(...items);
    select.value = value == null ? "" : String(value);
  }

  async function loadEarlier(conversation) {
    const list = $("earlier");
    list.replaceChildren();
    try {
      const data = await api("GET", `conversations?customer=${conversation.customer.id}&ordering=-last_activity_at&page_size=20`);
      if (state.currentId !== conversation.id) return;
      const others = (data.results || []).filter((item) => item.id !== conversation.id);
      list.replaceChildren(
        ...others.map((item) =>
          h(
            "li",
            {},
            h(
              "a",
              { href: `#conversation-${item.id}`, onclick: (event) => (event.preventDefault(), openConversation(item.id)) },
              h("span", { text: t("conversation_n", { id: item.id }) }),
              h("span", { class: `chip status-${item.status}`, text: t(`status_${item.status}`) }),
              h("span", { class: "preview", text: `${when(item.last_activity_at)} · ${item.last_message_preview || ""}` }),
            ),
          ),
        ),
      );
      if (!others.length) list.append(h("li", { class: "muted", text: t("earlier_none") }));
    } catch {
      /* details are a convenience; the thread still works */
    }
  }

  async function change(body, { path = `conversations/${state.currentId}`, method = "PATCH", done } = {}) {
    const id = state.currentId;
    const alert = $("action-error");
    alert.hidden = true;
    try {
      const changed = await api(method, path, body);
      if (changed && changed.id === id) applyConversation(changed);
      toast(done || t("saved"));
      return changed;
    } catch (error) {
      alert.textContent = errorText(error);
      alert.hidden = false;
      if (id === state.currentId) renderDetails(); // put the selects back as they were
      throw error;
    }
  }

  const quietly = (promise) => promise.catch(() => {});
  $("assign-me").addEventListener("click", () => quietly(change({ assignee: ME.id })));
  $("assignee-select").addEventListener("change", (event) => quietly(change({ assignee: event.target.value ? Number(event.target.value) : null })));
  $("team-select").addEventListener("change", (event) => quietly(change({ team: event.target.value ? Number(event.target.value) : null })));
  $("priority-select").addEventListener("change", (event) => quietly(change({ priority: event.target.value })));
  $("resolve").addEventListener("click", () => quietly(change({ status: "resolved" })));
  $("reopen").addEventListener("click", () => quietly(change({ status: "open" })));
  $("snooze").addEventListener("click", () => {
    const value = $("snooze-input").value;
    if (!value) {
      $("action-error").textContent = t("snooze_pick");
      $("action-error").hidden = false;
      return;
    }
    quietly(change({ snoozed_until: new Date(value).toISOString() })); // the browser's local time
  });
  $("save-labels").addEventListener("click", () => {
    const labels = $("labels-input").value.split(",").map((label) => label.trim()).filter(Boolean);
    quietly(change({ labels }));
  });

  // Transfer (with a private note) and the call-back escalation.
  function renderExtensions() {
    const box = $("transfer-box");
    box.hidden = !state.current;
    $("callback-box").hidden = !state.current;
    // A live event re-renders the conversation: keep what the agent picked for this one.
    const same = box.dataset.conversation === String(state.currentId);
    box.dataset.conversation = String(state.currentId);
    const kept = (select) => (same ? select.value || null : null);
    fillSelect($("transfer-team"), state.teams.map((team) => [team.id, team.name]), kept($("transfer-team")), "—");
    fillSelect($("transfer-agent"), state.agents.map((agent) => [agent.id, agentLabel(agent)]), kept($("transfer-agent")), "—");
    if (!same) $("transfer-note").value = "";
    const callback = state.current?.callback;
    $("callback-state").textContent = callback?.phone ? t("callback_requested", { phone: callback.phone }) : "";
    $("callback-clear").hidden = !callback?.phone;
  }

  $("transfer").addEventListener("click", () => {
    const body = { note: $("transfer-note").value.trim() };
    if ($("transfer-team").value) body.team = Number($("transfer-team").value);
    if ($("transfer-agent").value) body.assignee = Number($("transfer-agent").value);
    quietly(change(body, { path: `conversations/${state.currentId}/transfer`, method: "POST", done: t("transfer_done") }).then(() => {
      $("transfer-note").value = "";
    }));
  });
  $("callback").addEventListener("click", () => {
    const phone = $("callback-phone").value.trim();
    if (phone) quietly(change({ callback_phone: phone }));
  });
  $("callback-clear").addEventListener("click", () =>
    quietly(change({ callback_phone: null }, { done: t("callback_cleared") })),
  );

  /** A changed conversation (an answer or an event): inbox, thread and details follow. */
  function applyConversation(conversation) {
    const merged = remember(conversation);
    placeInInbox(merged);
    if (conversation.id === state.currentId && state.current) {
      state.current = { ...state.current, ...conversation, customer: { ...state.current.customer, ...conversation.customer } };
      renderConversation();
      renderDetails();
    }
  }

  // --- The customer's context: pages, browser, local time, attributes, notes ------------------------
  // GET customers/{id}. Everything in it came from the customer's browser or the embedding
  // site: shown as text, and only http(s) addresses become links (new tab, no opener).

  const CONTEXT_EVERY_MS = 15000; // the current page and "online now" follow the visitor
  const pageTimeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit" });
  let context = null;

  async function loadContext(customerId) {
    try {
      const loaded = await api("GET", `customers/${customerId}`);
      if (state.current?.customer?.id !== customerId) return;
      context = loaded;
      renderContext();
    } catch {
      /* the context is a convenience; the thread still works */
    }
  }

  function pageLink(page) {
    const label = page.title || page.url;
    if (!/^https?:\/\//i.test(page.url)) return h("span", { class: "page-title", text: label });
    return h("a", { class: "page-title", href: page.url, target: "_blank", rel: "noopener noreferrer", title: page.url, text: label });
  }

  function renderContext() {
    if (!context) return;
    const dash = t("not_set");
    $("customer-online").hidden = !context.online;
    $("customer-browser").textContent = context.browser || dash;
    renderLocalTime();
    const pages = context.pageviews || [];
    $("customer-pages").replaceChildren(
      ...pages.slice(0, 10).map((page, index) =>
        h("li", { class: index === 0 ? "current" : "" }, pageLink(page), h("span", { class: "muted small", text: index === 0 && context.online ? t("current_page") : pageTimeFormat.format(new Date(page.at)) })),
      ),
    );
    if (!pages.length) $("customer-pages").append(h("li", { class: "muted", text: t("no_pages") }));
    const attributes = Object.entries(context.attributes || {});
    $("customer-attributes").replaceChildren(...attributes.flatMap(([name, value]) => [h("dt", { text: name }), h("dd", { text: String(value) })]));
    if (!attributes.length) {
      // A <dd> needs its <dt> (axe: definition-list): the section's name, for screen readers.
      $("customer-attributes").append(h("dt", { class: "visually-hidden", text: $("attributes-heading").textContent }), h("dd", { class: "muted", text: t("no_attributes") }));
    }
    renderNotes();
  }

  function renderLocalTime() {
    const zone = context?.time_zone;
    let text = t("not_set");
    if (zone) {
      try {
        const time = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { timeZone: zone, weekday: "short", hour: "2-digit", minute: "2-digit" }).format(new Date());
        text = t("local_time", { time, zone });
      } catch {
        /* a zone this browser does not know: leave the dash */
      }
    }
    $("customer-local-time").textContent = text;
  }

  function renderNotes() {
    const notes = context.notes || [];
    $("customer-notes").replaceChildren(
      ...notes.map((note) =>
        h(
          "li",
          {},
          h("p", { class: "note-body", text: note.body }),
          h("span", { class: "muted small", text: `${note.author?.name || t("not_set")} · ${when(note.created_at)}` }),
          note.mine ? h("button", { type: "button", class: "text-button small", text: t("delete_note"), onclick: () => deleteNote(note) }) : null,
        ),
      ),
    );
    if (!notes.length) $("customer-notes").append(h("li", { class: "muted", text: t("no_notes") }));
  }

  async function addNote(event) {
    event.preventDefault();
    const input = $("note-input");
    if (!context || !input.value.trim()) return;
    try {
      const note = await api("POST", `customers/${context.id}/notes`, { body: input.value });
      context.notes = [note, ...(context.notes || [])];
      input.value = "";
      renderNotes();
      toast(t("note_added"));
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  async function deleteNote(note) {
    try {
      await api("DELETE", `customers/${context.id}/notes/${note.id}`);
      context.notes = context.notes.filter((item) => item.id !== note.id);
      renderNotes();
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  $("note-form").addEventListener("submit", addNote);
  setInterval(() => {
    renderLocalTime();
    if (context && state.current?.customer?.id === context.id && document.visibilityState === "visible") loadContext(context.id);
  }, CONTEXT_EVERY_MS);

  // --- On the site now: visitors with the chat open, to whom an agent can write first -------------

  let visitors = [];

  async function loadVisitors() {
    try {
      visitors = (await api("GET", "visitors")).results || [];
    } catch {
      return; /* kept as it was: the next round tries again */
    }
    renderVisitors();
  }

  function renderVisitors() {
    $("visitors-count").textContent = String(visitors.length);
    const list = $("visitors-list");
    const editing = list.querySelector("textarea:focus") || (list.querySelector("textarea")?.value || "").trim();
    if (editing) return; // never wipe a message being written
    list.replaceChildren(...visitors.map(visitorItem));
    if (!visitors.length) list.append(h("li", { class: "muted small", text: t("no_visitors") }));
  }

  function visitorItem(visitor) {
    const page = visitor.current_page;
    const form = h(
      "form",
      { class: "visitor-start", hidden: true, onsubmit: (event) => startWith(event, visitor) },
      h("textarea", { rows: "2", maxlength: String(MAX_MESSAGE_LENGTH), "aria-label": t("first_message"), placeholder: t("first_message") }),
      h("button", { type: "submit", class: "button small", text: t("send") }),
    );
    return h(
      "li",
      { class: "visitor", dataset: { customer: visitor.id } },
      h("span", { class: "visitor-name" }, h("span", { class: "dot", "aria-hidden": "true" }), visitor.name || t("visitor_n", { id: visitor.id })),
      page ? pageLink(page) : null,
      h("span", { class: "muted small", text: [visitor.browser, visitor.language].filter(Boolean).join(" · ") }),
      h("button", {
        type: "button",
        class: "text-button small",
        text: t("start_conversation"),
        onclick: () => {
          form.hidden = false;
          form.querySelector("textarea").focus();
        },
      }),
      form,
    );
  }

  async function startWith(event, visitor) {
    event.preventDefault();
    const input = event.target.querySelector("textarea");
    if (!input.value.trim()) return;
    try {
      const conversation = await api("POST", `visitors/${visitor.id}/conversations`, { body: input.value, client_id: uuid() });
      input.value = "";
      event.target.hidden = true;
      toast(t("conversation_started"));
      applyConversation(conversation);
      openConversation(conversation.id);
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  /** A visitor arrived, left or opened a page (a `visitor` event, pushed to the agents who may
   *  see them): the list follows at once; the slow poll below repairs what a push missed. */
  function onVisitor(visitor) {
    if (typeof visitor.id !== "number") return;
    const others = visitors.filter((item) => item.id !== visitor.id);
    visitors = visitor.online && visitor.current_page ? [visitor, ...others] : others;
    renderVisitors();
  }

  const VISITORS_POLL_MS = 60000; // a fallback: arrivals, leavings and pages are pushed
  setInterval(() => document.visibilityState === "visible" && loadVisitors(), VISITORS_POLL_MS);

  // --- Me: presence and "open: 2 / 3" ----------------------------------------------------------------

  async function loadMe() {
    try {
      state.agent = await api("GET", "agents/me");
    } catch {
      return;
    }
    renderMe();
  }

  let meTimer = null;
  function loadMeSoon() {
    clearTimeout(meTimer);
    meTimer = setTimeout(() => {
      loadMe();
      loadPeople();
    }, 400);
  }

  function renderMe() {
    const agent = state.agent;
    if (!agent) return;
    const counter = $("open-counter");
    counter.textContent = t("open_counter", { open: agent.open_assigned, capacity: agent.capacity });
    counter.dataset.level = agent.open_assigned > agent.capacity ? "over" : agent.open_assigned === agent.capacity ? "full" : "ok";
    counter.title = agent.open_assigned > agent.capacity ? t("over_capacity") : counter.title;
    for (const radio of document.querySelectorAll("input[name=presence]")) radio.checked = radio.value === agent.presence;
  }

  for (const radio of document.querySelectorAll("input[name=presence]")) {
    radio.addEventListener("change", async () => {
      try {
        state.agent = await api("PATCH", "agents/me", { presence: radio.value });
      } catch (error) {
        toast(errorText(error), "error");
      }
      renderMe();
    });
  }

  // --- My profile: the name customers see (PATCH agents/me {display_name}) -------------------------

  function initialsOf(name) {
    return name.split(/\s+/).filter(Boolean).slice(0, 2).map((word) => word[0]).join("").toLocaleUpperCase(document.documentElement.lang);
  }

  /** The top bar's button and the dialog's preview: my avatar and the name customers see. */
  function renderProfile(me) {
    const shown = me.public_name || me.name;
    $("profile-name").textContent = shown;
    for (const id of ["profile-avatar", "profile-preview-avatar"]) {
      const large = id === "profile-preview-avatar" ? " large" : "";
      const fresh = avatar(me, initialsOf(shown), "profile-avatar" + large);
      fresh.id = id;
      $(id).replaceWith(fresh);
    }
    $("profile-preview-name").textContent = shown;
  }

  const profileDialog = $("profile-dialog");
  $("profile-button").addEventListener("click", () => {
    const me = state.agent || ME;
    $("profile-display-name").value = me.display_name || "";
    $("profile-error").hidden = true;
    renderProfile(me);
    profileDialog.showModal();
    $("profile-display-name").focus();
  });
  $("profile-cancel").addEventListener("click", () => profileDialog.close());
  $("profile-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("profile-error");
    try {
      state.agent = await api("PATCH", "agents/me", { display_name: $("profile-display-name").value });
    } catch (failure) {
      error.textContent = failure instanceof ApiError && failure.fields.display_name ? failure.fields.display_name : errorText(failure);
      error.hidden = false;
      $("profile-display-name").focus();
      return;
    }
    renderProfile(state.agent);
    profileDialog.close();
    toast(t("profile_saved", { name: state.agent.public_name }));
  });
  renderProfile(ME);

  async function loadPeople() {
    try {
      const [agents, teams] = await Promise.all([api("GET", "agents"), api("GET", "teams")]);
      state.agents = agents.results || [];
      state.teams = teams.results || [];
    } catch {
      return;
    }
    if (state.current) renderDetails();
  }

  // --- Live: the agent websocket ------------------------------------------------------------------------

  const connection = liveConnection({
    url: () => socketUrl(root.dataset.socket),
    cursor: () => state.cursor,
    onCursor: (cursor) => (state.cursor = cursor),
    onFrame: handleFrame,
    onLive: setLive,
    onResumed: (frame, { after }) => {
      if (state.currentId) send({ type: "subscribe", conversation: state.currentId });
      loadVisitors(); // visitor events have no cursor: what the socket missed is read again
      // Resumed "from now": whatever happened before is only in the REST answers, so read them
      // again (this covers the first page load's gap between the REST list and the socket).
      if (after == null) {
        loadInbox();
        loadMe();
        if (state.currentId) openConversation(state.currentId, { keepView: true });
      }
    },
    onClose: (closed) => {
      if (closed.code !== 4401) return true;
      toLogin();
      return false;
    },
    // While the socket is down, the REST API keeps the page roughly current.
    poll: () => {
      loadInbox();
      if (state.currentId) openConversation(state.currentId, { keepView: true });
    },
    pollEveryMs: POLL_EVERY_MS,
  });
  const send = (frame) => connection.send(frame);

  function setLive(live) {
    state.socketLive = live;
    const badge = $("live-status");
    badge.dataset.state = live ? "live" : "down";
    badge.querySelector(".live-text").textContent = live ? t("live") : t("offline");
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case "subscribed":
      case "unsubscribed":
        return;
      case "typing":
        onTyping(frame);
        return;
      case "visitor":
        onVisitor(frame.data || {});
        return;
      case "presence":
        if (frame.agent === ME.id && state.agent) {
          state.agent.presence = frame.presence;
          renderMe();
        }
        updateAgent(frame.agent, { presence: frame.presence });
        return;
      case "error":
        console.warn("Helpdesk workspace:", frame.message || frame);
        return;
    }
    state.events += 1;
    alerts.onEvent(frame); // sound, notification, title count (alerts.js)
    applyEvent(frame);
    hooks.onEvent?.(frame);
  }

  function applyEvent(event) {
    const data = event.data || {};
    switch (event.type) {
      case "message.created":
        onMessage(data, event.conversation ?? data.conversation);
        return;
      case "message.updated": // a reply's delivery moved (docs/channels.md)
        if (event.conversation === state.currentId && typeof data.id === "number") {
          state.messages.set(messageKey(data), data);
          renderConversation();
        }
        return;
      case "conversation.created":
      case "conversation.updated":
      case "conversation.assigned":
      case "conversation.rated":
        if (typeof data.id !== "number") return;
        onConversationChanged(data);
        loadMeSoon(); // open_assigned may have changed (ours, and the assign list's)
        return;
    }
  }

  function onConversationChanged(data) {
    const known = state.conversations.has(data.id);
    if (!known && data.unread === undefined && matches(data) && !state.filters.q) {
      fetchIntoInbox(data.id); // unread comes with the REST shape
      return;
    }
    applyConversation(data);
  }

  const fetching = new Set();
  async function fetchIntoInbox(id) {
    if (fetching.has(id)) return;
    fetching.add(id);
    try {
      const { messages, ...conversation } = await api("GET", `conversations/${id}`);
      applyConversation(conversation);
    } catch {
      /* not visible to us (any more): nothing to show */
    } finally {
      fetching.delete(id);
    }
  }

  function onMessage(message, conversationId) {
    if (typeof message.id !== "number") return;
    const kind = message.author?.kind;
    const conversation = state.conversations.get(conversationId);
    const reading = conversationId === state.currentId && document.visibilityState === "visible";
    if (conversationId === state.currentId) {
      state.messages.delete(`c:${message.client_id}`);
      state.messages.set(messageKey(message), message);
      if (kind === "customer") state.typing.delete(conversationId);
      renderConversation();
      if (reading) markRead();
    }
    if (!conversation) {
      fetchIntoInbox(conversationId);
      return;
    }
    const update = { id: conversationId, last_activity_at: message.created_at };
    if (!message.private) update.last_message_preview = message.body.replace(/\s+/g, " ").trim().slice(0, 160);
    if (kind === "customer") {
      if (!conversation.waiting_since) update.waiting_since = message.created_at;
      if (conversation.status === "pending" || conversation.status === "snoozed" || conversation.status === "resolved") update.status = "open";
      if (!reading) update.unread = (conversation.unread || 0) + 1;
      state.typing.delete(conversationId);
    } else if (kind === "agent" && !message.private) {
      update.waiting_since = null;
    }
    applyConversation(update);
  }

  function onTyping(frame) {
    const data = frame.data || {};
    const author = data.author || {};
    const conversationId = frame.conversation;
    if (author.kind === "agent" && author.id === ME.id) return;
    if (data.is_typing === false) state.typing.delete(conversationId);
    else {
      state.typing.set(conversationId, { kind: author.kind, name: author.name || t("customer"), until: Date.now() + TYPING_SHOWN_MS });
      setTimeout(() => {
        renderTyping();
        renderInboxSoon();
      }, TYPING_SHOWN_MS + 50);
    }
    renderTyping();
    if (state.listed.includes(conversationId)) renderInboxSoon();
  }

  function updateAgent(id, changes) {
    const agent = state.agents.find((item) => item.id === id);
    if (agent) Object.assign(agent, changes);
  }

  // --- Tabs, filters, layout ------------------------------------------------------------------------------

  for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
    tab.addEventListener("click", () => {
      state.tab = tab.dataset.tab;
      for (const other of document.querySelectorAll(".tabs [role=tab]")) other.setAttribute("aria-selected", String(other === tab));
      state.listed = [];
      renderInbox();
      loadInbox();
    });
  }

  const filters = $("inbox-filters");
  let searchTimer = null;
  filters.addEventListener("submit", (event) => event.preventDefault()); // Enter in the search
  filters.addEventListener("change", (event) => {
    if (event.target.name === "q") return;
    readFilters();
  });
  filters.elements.q.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(readFilters, 300);
  });

  function readFilters() {
    for (const key of ["q", "status", "channel", "label", "ordering"]) state.filters[key] = filters.elements[key].value.trim();
    loadInbox();
  }

  $("back-button").addEventListener("click", () => {
    root.dataset.view = "inbox";
    root.dataset.details = "closed";
  });
  $("details-button").addEventListener("click", () => {
    root.dataset.details = root.dataset.details === "open" ? "closed" : "open";
  });
  $("close-details").addEventListener("click", () => (root.dataset.details = "closed"));

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.currentId && state.conversations.get(state.currentId)?.unread) markRead();
    if (document.visibilityState === "visible" && !connection.socket) connection.reconnectNow();
  });

  // Alt+↓ / Alt+↑: the next or previous conversation of the inbox, from anywhere.
  document.addEventListener("keydown", (event) => {
    if (!event.altKey || (event.key !== "ArrowDown" && event.key !== "ArrowUp") || !state.listed.length) return;
    event.preventDefault();
    const index = state.listed.indexOf(state.currentId);
    const step = event.key === "ArrowDown" ? 1 : -1;
    const next = index === -1 ? 0 : Math.min(Math.max(index + step, 0), state.listed.length - 1);
    if (state.listed[next] !== state.currentId) openConversation(state.listed[next]);
  });

  // Relative times ("12 min") tick.
  setInterval(renderInboxSoon, 30000);

  // --- Start ------------------------------------------------------------------------------------------------

  const alerts = createAlerts({ api, me: ME, state, open: openConversation });
  attachMentionPicker({ api, me: ME, input, privateToggle, picker: $("mention-picker"), conversation: () => state.currentId });
  setLive(false);
  loadMe().then(() => loadInbox());
  loadPeople();
  loadVisitors();
  connection.connect();
  const linked = /^#conversation-(\d+)$/.exec(location.hash);
  if (linked) openConversation(Number(linked[1]));

  const workspace = { state, hooks, api, t, toast, errorText, inboxQuery, reload: loadInbox, open: openConversation, apply: applyConversation };
  installViews(workspace);
  installShortcuts(workspace);

  window.hdWorkspace = { state, socket: () => connection.socket, reload: loadInbox, open: openConversation, loadVisitors, alerts };
  // For macros.js: what applying a macro needs of the page.
  Object.assign(window.hdWorkspace, { api, toast, applyConversation, showMessage: onMessage, addPickerSource: (source) => pickerSources.push(source) });
})();

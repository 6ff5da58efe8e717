/*!
 * Helpdesk chat widget. One tag, no build step, no dependencies but the helpdesk's own
 * helpdesk/client.js (the API call and the live socket every helpdesk page uses). Sites embed
 * the loader (templates/widget/loader.js, served at the fixed URL below), which loads this
 * file, client.js and the stylesheet under their hashed names and hands over the strings:
 *
 *   <script src="https://HELPDESK/static/helpdesk/widget.js" data-helpdesk="https://HELPDESK"
 *           data-team="billing" async></script>
 *
 * Optional attributes: data-lang ("en" | "tr"), data-title, data-color, and for a signed-in
 * user data-identifier + data-identifier-hash (HMAC-SHA256 of the identifier with the site
 * secret), data-name, data-email. See README "The widget".
 *
 * How it stays correct (shared/API.md "Customer side" and "Websockets"):
 * - REST is the source of truth; the websocket only makes things arrive sooner.
 * - Every event carries a cursor. The last one seen is kept in localStorage and sent with
 *   "resume", so a reconnect replays what was missed; events already seen are dropped
 *   (helpdesk/client.js's liveConnection).
 * - Every message carries a client_id (crypto.randomUUID): retries are idempotent and the
 *   optimistic bubble is reconciled with the server's copy by that id.
 * - Text from the server is only ever inserted with textContent, so a message like
 *   <img src=x onerror=alert(1)> is shown as text. The one exception is a help article (its
 *   body and search snippets): HTML the server has sanitized, which safeFragment() still
 *   copies element by element through an allow-list: never inserted as markup.
 */
(function () {
  "use strict";

  if (window.HelpdeskWidget) return; // the tag was included twice
  // What the loader hands over: the embedding tag, the files' URLs, the strings. Without it
  // (this file embedded directly), the files beside this one and the strings from the API.
  const boot = document.currentScript?.helpdeskBoot || null;
  const script =
    boot?.script ||
    document.currentScript ||
    document.querySelector("script[data-helpdesk][src*='widget']");
  if (!script) return;

  // --- Configuration -------------------------------------------------------------------------

  const attrs = script.dataset;
  const SCRIPT_URL = new URL(script.src || location.href, location.href);
  const BASE = (attrs.helpdesk || SCRIPT_URL.origin).replace(/\/+$/, "");
  const API = BASE + "/api/v1/widget";
  const SOCKET_URL = BASE.replace(/^http/i, "ws") + "/ws/customer/";
  const STYLESHEET_URL = boot?.stylesheet || new URL("widget.css", SCRIPT_URL).href;
  // The code all the helpdesk's pages share (helpdesk/client.js, an ES module beside this file;
  // how it loads on another site is said at its top): asked for at once, so it downloads while
  // start() fetches the string catalog.
  const CLIENT_URL = boot?.client || new URL("client.js", SCRIPT_URL).href;
  const clientModule = import(CLIENT_URL);
  let api, uuid, h, avatar, connection, client; // from it, set by start()
  const TEAM = (attrs.team || "").trim();
  const IDENTIFIER = (attrs.identifier || "").trim() || null;
  const IDENTIFIER_HASH = (attrs.identifierHash || "").trim();
  const PROFILE = { name: (attrs.name || "").trim(), email: (attrs.email || "").trim() };
  const ACCENT = /^#[0-9a-f]{3,8}$/i.test(attrs.color || "") ? attrs.color : "";
  const STORE_KEY = "helpdesk-widget:" + new URL(BASE).origin; // one customer per helpdesk
  const TAB_KEY = STORE_KEY + ":tab"; // sessionStorage: what this tab had open

  const POLL_EVERY_MS = 8000; // fallback while the socket is down
  const AVAILABILITY_EVERY_MS = 60000;
  const TYPING_SEND_EVERY_MS = 3000;
  const TYPING_IDLE_MS = 4000;
  const TYPING_SHOWN_MS = 7000; // an agent's typing event fades unless repeated
  const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000];
  const HELP_SEARCH_AFTER_MS = 300; // the help search box searches as the customer pauses
  const SUGGEST_AFTER_MS = 400; // suggestions for a first message, once typing pauses
  const SUGGEST_MIN_CHARS = 3;
  const MAX_QUERY_CHARS = 200; // the articles endpoint's limit for q

  // --- Strings: English source text; other languages come from the helpdesk's catalog ---------
  //
  // gettext() only marks a string for `makemessages -d djangojs`: translations live in
  // locale/<language>/LC_MESSAGES/djangojs.po beside every other string of the helpdesk, and
  // the widget fetches the catalog of the visitor's language (GET /api/v1/widget/strings,
  // chosen by data-lang or the browser's Accept-Language) before it first renders.

  const gettext = (text) => text;

  const STRINGS = {
    openChat: gettext("Open chat"),
    closeChat: gettext("Close chat"),
    close: gettext("Close"),
    back: gettext("Back to your conversations"),
    title: gettext("Support"),
    greeting: gettext("Hello!"),
    intro: gettext("Ask us anything. We reply here, or by email if you have left."),
    online: gettext("We're online"),
    offline: gettext(
      "No agent is available right now — leave a message and we'll reply here and by email",
    ),
    busy: gettext(
      "All our agents are busy right now — leave a message and we'll reply here and by email",
    ),
    waitUnderMinute: gettext("Estimated wait: less than a minute"),
    waitMinutes: gettext("Estimated wait: about {n} min"),
    waitHours: gettext("Estimated wait: about {n} h"),
    newConversation: gettext("New conversation"),
    newConversationHint: gettext("We usually reply within minutes"),
    replyWithinHour: gettext("We usually reply within an hour"),
    replyWithinHours: gettext("We usually reply within a few hours"),
    replyWithinDay: gettext("We usually reply within a day"),
    yourConversations: gettext("Your conversations"),
    noConversations: gettext("No conversations yet."),
    conversationTitle: gettext("Conversation #{id}"),
    welcome: gettext("Hi! How can we help you today?"),
    placeholder: gettext("Write a message…"),
    messageLabel: gettext("Message"),
    messages: gettext("Messages"),
    send: gettext("Send"),
    sending: gettext("Sending…"),
    notSent: gettext("Not sent."),
    charCount: gettext("{count} / {limit} characters"),
    tooLong: gettext(
      "Too long to send: {count} characters, the limit is {limit}. Shorten it or send it in parts.",
    ),
    retry: gettext("Retry"),
    you: gettext("You"),
    agent: gettext("Support agent"),
    typing: gettext("{name} is typing…"),
    statusOpen: gettext("Open"),
    statusPending: gettext("Waiting for your reply"),
    statusSnoozed: gettext("On hold"),
    statusResolved: gettext("Resolved"),
    resolvedNote: gettext("This conversation is resolved. Write a message to reopen it."),
    emailLabel: gettext("Your email, so we can reply"),
    emailPlaceholder: gettext("you@example.com"),
    emailInvalid: gettext("Please enter a valid email address."),
    rateTitle: gettext("How would you rate this conversation?"),
    rateStars: gettext("Rating"),
    star1: gettext("1 star — very poor"),
    star2: gettext("2 stars — poor"),
    star3: gettext("3 stars — okay"),
    star4: gettext("4 stars — good"),
    star5: gettext("5 stars — excellent"),
    rateComment: gettext("Anything you'd like to add? (optional)"),
    rateSend: gettext("Send rating"),
    bot: gettext("Help bot"),
    talkToPerson: gettext("Talk to a person"),
    botAnswered: gettext("This answered my question"),
    botThanks: gettext("Glad it helped! Write again any time."),
    handedOver: gettext("A person will answer you here as soon as they can."),
    rateChoose: gettext("Choose a rating from 1 to 5 stars."),
    npsTitle: gettext("How likely are you to recommend us?"),
    npsLow: gettext("Not likely"),
    npsHigh: gettext("Very likely"),
    npsLowest: gettext("0 — not at all likely"),
    npsHighest: gettext("10 — extremely likely"),
    npsComment: gettext("What is the main reason for your score? (optional)"),
    notNow: gettext("Not now"),
    npsChoose: gettext("Choose a number from 0 to 10."),
    npsThanks: gettext("Thank you! Your answer helps us improve."),
    thanks: gettext("Thank you for your feedback!"),
    today: gettext("Today"),
    yesterday: gettext("Yesterday"),
    reconnecting: gettext("Connection lost — reconnecting…"),
    error: gettext("Something went wrong. Please try again."),
    networkError: gettext("The helpdesk could not be reached."),
    unreadOne: gettext("1 unread message"),
    unreadMany: gettext("{n} unread messages"),
    newMessage: gettext("New message from {name}: {body}"),
    offlineShort: gettext("We'll reply here and by email"),
    loading: gettext("Loading…"),
    searchHelp: gettext("Search help"),
    searchHelpHint: gettext("Find answers in our help articles"),
    quickAnswer: gettext("Looking for a quick answer?"),
    helpTitle: gettext("Help articles"),
    backToConversations: gettext("Back"),
    backToArticles: gettext("Back to the articles"),
    backToMessage: gettext("Back to your message"),
    searchLabel: gettext("Search help articles"),
    searchPlaceholder: gettext("For example: where is my order?"),
    search: gettext("Search"),
    popularArticles: gettext("Popular articles"),
    resultsOne: gettext("1 article found"),
    resultsMany: gettext("{n} articles found"),
    noResults: gettext("No articles match your search. Try other words, or write to us."),
    suggestionsTitle: gettext("These articles might answer your question"),
    answered: gettext("Did this answer your question?"),
    yes: gettext("Yes"),
    no: gettext("No"),
    votedYes: gettext("Thank you! Glad it helped."),
    votedNo: gettext("Sorry it did not help. Write to us and we will answer."),
    openInHelpCenter: gettext("Open in the help center"),
    writeToUs: gettext("Write to us"),
    attach: gettext("Attach files"),
    removeFile: gettext("Remove {name}"),
    uploading: gettext("Sending… {n}%"),
    inviteFrom: gettext("Message from {name}"),
    inviteReply: gettext("Reply"),
    inviteDismiss: gettext("Dismiss the invitation"),
  };

  let LANG = "en";
  let CATALOG = {};
  let MAX_LENGTH = 10000; // HELPDESK_MAX_MESSAGE_LENGTH, sent along with the strings
  const COUNT_SHOWN_FROM = 0.8; // the counter shows from this share of the limit

  async function loadStrings() {
    if (boot) return useStrings(bootStrings(boot));
    const headers = { Accept: "application/json" };
    if (attrs.lang) headers["Accept-Language"] = attrs.lang;
    try {
      const response = await fetch(API + "/strings", { headers, credentials: "omit" });
      if (!response.ok) return;
      useStrings(await response.json());
    } catch {
      // The helpdesk is unreachable: English now, the API calls will say the rest.
    }
  }

  // The loader's strings, in the language the strings endpoint would pick: data-lang, else
  // the first of the browser's languages the helpdesk speaks, else its default.
  function bootStrings({ catalogs, default_language, max_message_length }) {
    const wanted = attrs.lang ? [attrs.lang] : navigator.languages || [navigator.language];
    const language =
      wanted.map((tag) => String(tag).toLowerCase().split("-")[0]).find((code) => code in catalogs) ||
      default_language;
    return { catalog: catalogs[language] || {}, language, max_message_length };
  }

  function useStrings(body) {
    CATALOG = body.catalog || {};
    LANG = body.language || LANG;
    MAX_LENGTH = body.max_message_length || MAX_LENGTH;
  }

  function t(key, params) {
    const source = STRINGS[key] ?? key;
    const text = typeof CATALOG[source] === "string" ? CATALOG[source] : source;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(params?.[name] ?? ""));
  }

  // --- Persistence -----------------------------------------------------------------------------

  function storage(name) {
    try {
      return window[name]; // throws in some sandboxed frames
    } catch {
      return null;
    }
  }

  function readJson(storage, key) {
    try {
      return JSON.parse(storage?.getItem(key) || "null") || {};
    } catch {
      return {}; // private mode, quota, or garbage: start fresh
    }
  }

  function writeJson(storage, key, value) {
    try {
      storage?.setItem(key, JSON.stringify(value));
    } catch {
      /* storage unavailable: the widget still works for this page view */
    }
  }

  // store: {token, customer, identifier, cursor,
  //         rated: {conversation id: cycle}, read: {conversation id: last message id read},
  //         firstSeen: ms (invitations), suggestions: {key, at} (suggestion sessions)}
  const store = Object.assign(
    { rated: {}, read: {} },
    readJson(storage("localStorage"), STORE_KEY),
  );
  const tab = readJson(storage("sessionStorage"), TAB_KEY); // {open, current}

  function saveStore() {
    writeJson(storage("localStorage"), STORE_KEY, store);
  }

  function saveTab() {
    writeJson(storage("sessionStorage"), TAB_KEY, { open: state.open, current: state.current });
  }

  function forgetCustomer() {
    store.token = null;
    store.customer = null;
    store.identifier = null;
    store.cursor = null;
    store.rated = {};
    store.read = {};
    saveStore();
  }

  // A different signed-in user (or a sign-out) must never see the previous user's history.
  if (store.identifier && store.identifier !== IDENTIFIER) forgetCustomer();

  // --- State -----------------------------------------------------------------------------------

  const NEW = "new"; // the thread of a conversation not started yet

  const state = {
    open: false,
    view: "home", // "home" (list) or "thread"
    current: null, // conversation id, or NEW
    conversations: new Map(), // id -> conversation
    listLoaded: false,
    listLoading: false,
    threads: new Map(), // id or NEW -> {messages: Map(key -> message), loaded}
    availability: null,
    typing: new Map(), // conversation id -> {name, until}
    unread: new Map(), // conversation id -> Set(message id)
    socketLive: false,
    showReconnecting: false,
    ratingThanks: new Set(), // conversation ids rated during this visit
    handedOver: new Set(), // conversation ids handed to a person during this visit
    handoffBusy: false,
    handoffError: "",
    ratingDraft: new Map(), // conversation id -> {score, comment, error, busy}
    emailDraft: "",
    emailError: "",
    help: { query: "", searchedFor: null, results: null, loading: false, error: "" },
    article: null, // the help article being read: {id, …} as GET /articles/{id} answers
    articleFrom: "help", // where Back goes from an article: "help" or "thread"
    votes: new Map(), // article id -> helpful (answered during this visit)
    suggestions: [], // up to three articles for the first message being typed
    invitation: null, // a campaign's: {id, message, sender, shown, answering} (see below)
  };
  let sequence = 0; // local order of messages that have no server id yet

  function thread(id) {
    if (!state.threads.has(id)) state.threads.set(id, { messages: new Map(), loaded: false });
    return state.threads.get(id);
  }

  function messageKey(message) {
    return message.client_id ? "c:" + message.client_id : "i:" + message.id;
  }

  function sortedMessages(id) {
    const list = [...thread(id).messages.values()];
    return list.sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity) || a.seq - b.seq);
  }

  function lastServerId(id) {
    let last = 0;
    for (const message of thread(id).messages.values()) {
      if (message.id && message.id > last) last = message.id;
    }
    return last;
  }

  /** Merge messages from the server (REST or socket), replacing optimistic copies by client_id. */
  function mergeMessages(conversationId, messages) {
    const target = thread(conversationId);
    for (const message of messages) {
      if (!message || message.private) continue;
      const key = messageKey(message);
      const existing = target.messages.get(key);
      target.messages.set(key, { ...message, status: "sent", seq: existing?.seq ?? ++sequence });
      if (message.author?.kind !== "customer") {
        state.typing.delete(conversationId);
        noteUnread(conversationId, message);
      }
    }
    renderSoon();
  }

  function upsertConversation(conversation) {
    if (!conversation || typeof conversation.id !== "number") return;
    const previous = state.conversations.get(conversation.id);
    state.conversations.set(conversation.id, { ...previous, ...conversation });
    renderSoon();
  }

  function touchConversation(message) {
    const conversation = state.conversations.get(message.conversation);
    if (!conversation) {
      if (store.token) loadConversations(); // a conversation we have not listed yet
      return;
    }
    conversation.last_message_preview = message.body.replace(/\s+/g, " ").slice(0, 160);
    if (!conversation.last_activity_at || message.created_at > conversation.last_activity_at) {
      conversation.last_activity_at = message.created_at;
    }
  }

  // --- Unread messages -------------------------------------------------------------------------

  function isReading(conversationId) {
    return (
      state.open &&
      state.view === "thread" &&
      state.current === conversationId &&
      document.visibilityState === "visible"
    );
  }

  function noteUnread(conversationId, message) {
    if (!message.id || message.id <= (store.read[conversationId] || 0)) return;
    if (isReading(conversationId)) {
      markRead(conversationId);
      return;
    }
    if (!state.unread.has(conversationId)) state.unread.set(conversationId, new Set());
    if (state.unread.get(conversationId).has(message.id)) return;
    state.unread.get(conversationId).add(message.id);
    announce(t("newMessage", { name: authorName(message), body: preview(message.body) }));
  }

  const ANNOUNCED_CHARS = 150;

  function preview(body) {
    const text = body.replace(/\s+/g, " ").trim();
    return text.length > ANNOUNCED_CHARS ? text.slice(0, ANNOUNCED_CHARS) + "…" : text;
  }

  /** Says `text` to screen readers through a live region outside the panel, which is hidden
   * while the chat is closed (and so is its log). */
  function announce(text) {
    if (!dom.announcer) return;
    dom.announcer.textContent = "";
    requestAnimationFrame(() => (dom.announcer.textContent = text)); // the same text again is news too
  }

  function markRead(conversationId) {
    const last = lastServerId(conversationId);
    if (last > (store.read[conversationId] || 0)) {
      store.read[conversationId] = last;
      saveStore();
    }
    if (state.unread.delete(conversationId)) renderSoon();
  }

  function unreadTotal() {
    let total = 0;
    for (const ids of state.unread.values()) total += ids.size;
    return total;
  }

  // --- HTTP ------------------------------------------------------------------------------------

  // The API call of helpdesk/client.js (made in start(), once the module is here).
  function makeApi(client) {
    return client.jsonApi({
      base: API,
      credentials: "omit", // the token is the credential; never the host page's cookies
      headers: (method, path) => {
        const headers = { "Accept-Language": LANG };
        if (store.token && needsToken(method, path)) headers.Authorization = "Bearer " + store.token;
        return headers;
      },
      networkError: () => t("networkError"),
      failed: () => t("error"),
      onError: (error, path) => {
        if (error.status === 401 && path !== "/sessions") resetSession();
      },
    });
  }

  // The public reads (availability, help articles, invitations) answer anyone alike: sent without the
  // token, they are simple requests, which another site's page makes without a preflight.
  function needsToken(method, path) {
    if (path === "/sessions") return false;
    return !(method === "GET" && /^\/(availability|articles|campaigns)([/?]|$)/.test(path));
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function whenOnline() {
    if (navigator.onLine !== false) return Promise.resolve();
    return new Promise((resolve) => window.addEventListener("online", resolve, { once: true }));
  }

  /** Call `request` again after network failures; safe because every write carries a client_id. */
  async function withRetries(request) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        if (!error.retryable || attempt >= RETRY_DELAYS_MS.length) throw error;
        await sleep(RETRY_DELAYS_MS[attempt] * (0.75 + Math.random() / 2));
        await whenOnline();
      }
    }
  }

  // --- Session ---------------------------------------------------------------------------------

  let sessionRequest = null;
  let identityRefused = false; // the site's signature was refused: chat anonymously

  function wantedIdentifier() {
    return identityRefused ? null : IDENTIFIER;
  }

  function hasSession() {
    return Boolean(store.token) && (store.identifier || null) === wantedIdentifier();
  }

  /** A customer token for this browser (and, when the site vouches for it, this user). */
  function ensureSession(extra) {
    if (hasSession() && !extra) return Promise.resolve();
    if (!sessionRequest) {
      sessionRequest = createSession(extra).finally(() => {
        sessionRequest = null;
      });
    }
    return sessionRequest;
  }

  async function createSession(extra) {
    const body = { ...extra };
    if (store.token) body.customer_token = store.token; // resume: keep this browser's history
    if (PROFILE.name) body.name = PROFILE.name;
    if (PROFILE.email && !body.email) body.email = PROFILE.email;
    let answer = null;
    if (wantedIdentifier()) {
      const signed = { ...body, identifier: IDENTIFIER, identifier_hash: IDENTIFIER_HASH };
      try {
        answer = await withRetries(() => api("POST", "/sessions", signed));
      } catch (error) {
        if (error.retryable) throw error;
        // A wrong signature is the site's bug; the visitor can still chat anonymously.
        console.warn("Helpdesk widget: identity refused, continuing anonymously.", error.message);
        identityRefused = true;
      }
    }
    answer = answer || (await withRetries(() => api("POST", "/sessions", body)));
    const otherCustomer = store.customer && store.customer.id !== answer.customer?.id;
    if (otherCustomer) {
      // The signed-in user's own history replaces what this browser had as a visitor.
      forgetCustomer();
      clearLoadedState();
    }
    store.token = answer.customer_token;
    store.customer = answer.customer;
    store.identifier = wantedIdentifier();
    saveStore();
    reportPageview();
    connection.reconnectNow();
    if (state.open && state.view === "home") loadConversations();
  }

  // --- Visitor context: page views and identify (docs/widget.md "What agents see") -----------

  let reportedUrl = null; // this page's address as last reported: each one once

  /** Tell agents which page the customer is on (with a session only: an anonymous visitor
   *  who never chatted is not followed). Agents see it; failures only cost that hint. */
  function reportPageview() {
    if (!hasSession() || location.href === reportedUrl) return;
    reportedUrl = location.href;
    const body = { url: location.href, title: document.title || "" };
    if (document.referrer) body.referrer = document.referrer;
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) body.time_zone = zone;
    api("POST", "/pageviews", body).catch(() => {});
  }

  /** Single-page shops change the address without loading a page: report each route. */
  function followHistory() {
    const later = () => setTimeout(reportPageview, 0); // after the page has set its title
    for (const name of ["pushState", "replaceState"]) {
      const original = history[name];
      history[name] = function (...args) {
        const result = original.apply(this, args);
        later();
        return result;
      };
    }
    window.addEventListener("popstate", later);
    window.addEventListener("hashchange", later);
  }

  /** The embedding site's custom attributes (plan, order count, …): a flat object. */
  async function identify(attributes) {
    if (!attributes || typeof attributes !== "object" || Array.isArray(attributes)) {
      throw new TypeError("HelpdeskWidget.identify expects an object of attributes");
    }
    await ensureSession(); // one that is under way first: its answer must not overtake ours
    await ensureSession({ attributes });
  }

  /** The server no longer knows our token: start over as a new visitor. */
  function resetSession() {
    forgetCustomer();
    clearLoadedState();
    connection.close();
    if (state.view === "thread" && state.current !== NEW) showHome();
    renderSoon();
  }

  function clearLoadedState() {
    state.conversations.clear();
    state.threads.clear();
    state.unread.clear();
    state.typing.clear();
    state.listLoaded = false;
    connection.forget();
  }

  // --- Loading ---------------------------------------------------------------------------------

  async function loadAvailability() {
    try {
      const query = TEAM ? "?team=" + encodeURIComponent(TEAM) : "";
      state.availability = await api("GET", "/availability" + query);
    } catch {
      /* unknown availability: say nothing rather than something wrong */
    }
    renderSoon();
  }

  async function loadConversations() {
    if (!store.token || state.listLoading) return;
    state.listLoading = true;
    try {
      const answer = await api("GET", "/conversations");
      for (const conversation of answer.results || []) upsertConversation(conversation);
      state.listLoaded = true;
      if (state.open && state.view === "home" && state.conversations.size === 0) {
        openThread(NEW); // nothing to list: go straight to writing
      }
    } catch {
      /* keep what we have; the socket or the next poll fills the gap */
    } finally {
      state.listLoading = false;
      renderSoon();
    }
  }

  async function loadConversation(id) {
    try {
      upsertConversation(await api("GET", "/conversations/" + id));
    } catch {
      /* the list entry (if any) stays */
    }
  }

  /** Messages after the newest we have (all of them the first time), page by page. */
  async function loadMessages(id) {
    if (typeof id !== "number" || !store.token) return;
    for (let page = 0; page < 20; page++) {
      const after = lastServerId(id);
      const query = after ? "?after=" + after : "";
      let answer;
      try {
        answer = await api("GET", "/conversations/" + id + "/messages" + query);
      } catch (error) {
        if (error.status === 404) forgetConversation(id); // not this customer's (any more)
        return;
      }
      thread(id).loaded = true;
      mergeMessages(id, answer.results || []);
      for (const message of answer.results || []) touchConversation(message);
      if (!answer.has_more) break;
    }
    if (isReading(id)) markRead(id);
    renderSoon();
  }

  function forgetConversation(id) {
    state.conversations.delete(id);
    state.threads.delete(id);
    state.unread.delete(id);
    if (state.current === id) showHome();
    renderSoon();
  }

  // --- Sending ---------------------------------------------------------------------------------

  const outbox = [];
  let outboxRunning = false;

  function sendMessage(body, files) {
    const clientId = uuid();
    const conversationId = state.current;
    const message = {
      id: null,
      client_id: clientId,
      conversation: conversationId === NEW ? null : conversationId,
      author: { kind: "customer", name: store.customer?.name || "" },
      body,
      files, // File objects until the helpdesk has them (docs/attachments.md)
      created_at: new Date().toISOString(),
      status: "sending",
      seq: ++sequence,
    };
    thread(conversationId).messages.set(messageKey(message), message);
    sendTyping(false);
    outbox.push(message);
    renderSoon({ scrollToEnd: true });
    drainOutbox();
  }

  function retryMessage(message) {
    message.status = "sending";
    message.error = "";
    outbox.push(message);
    renderSoon();
    drainOutbox();
  }

  /** One message at a time, in order: the first one of a new thread creates the conversation. */
  async function drainOutbox() {
    if (outboxRunning) return;
    outboxRunning = true;
    try {
      while (outbox.length) {
        await deliver(outbox[0]);
        outbox.shift();
      }
    } finally {
      outboxRunning = false;
    }
  }

  async function deliver(message) {
    try {
      if (state.emailDraft && !store.customer?.email) {
        await ensureSession({ email: state.emailDraft });
      } else {
        await ensureSession();
      }
      if (message.conversation == null) {
        const conversation = await startConversation(message);
        adoptNewThread(conversation);
        await loadMessages(conversation.id);
      } else {
        const path = "/conversations/" + message.conversation + "/messages";
        const fields = { body: message.body, client_id: message.client_id };
        const saved = await withRetries(() =>
          message.files?.length ? uploadFiles(path, fields, message) : api("POST", path, fields),
        );
        mergeMessages(message.conversation, [saved]);
        touchConversation(saved);
        if (state.conversations.get(message.conversation)?.status === "resolved") {
          loadConversation(message.conversation); // a reply reopens it server-side
        }
      }
    } catch (error) {
      if (!error.retryable && error.status !== 401) return refused(message, error);
      message.status = "failed"; // the network or the helpdesk failed: Retry may work
      message.error = error.message;
      renderSoon();
    }
  }

  /** The helpdesk refused the message (400 and the like): sending it again would fail again.
   * Its text goes back into an empty message box with the reason under it; otherwise it
   * stays in the thread, marked with the reason, without a Retry. */
  function refused(message, error) {
    const threadId = message.conversation ?? NEW;
    if (state.current === threadId && !dom.input.value.trim()) {
      thread(threadId).messages.delete(messageKey(message));
      dom.input.value = message.body;
      if (message.files?.length) dom.files.add(message.files);
      autoGrow();
      updateSendButton();
      updateCount();
      showComposerError(error.message);
    } else {
      message.status = "refused";
      message.error = error.message;
    }
    renderSoon();
  }

  /** A message with files: multipart, with its progress shown under it. */
  function uploadFiles(path, fields, message) {
    return client.uploadMessage({
      url: API + path,
      fields,
      files: message.files,
      headers: { "Accept-Language": LANG, Authorization: "Bearer " + store.token },
      networkError: () => t("networkError"),
      onProgress: (share) => {
        message.progress = Math.round(share * 100);
        renderSoon();
      },
    });
  }

  async function startConversation(message) {
    const body = { body: message.body, client_id: message.client_id };
    if (TEAM) body.team = TEAM;
    if (state.invitation?.answering) body.campaign = state.invitation.id;
    try {
      if (message.files?.length) return await withRetries(() => uploadFiles("/conversations", body, message));
      return await withRetries(() => api("POST", "/conversations", body));
    } catch (error) {
      if (error.fields?.campaign) {
        state.invitation = null; // the campaign ended meanwhile: an ordinary conversation
        return startConversation(message);
      }
      if (!error.fields?.team) throw error;
      // A misconfigured data-team must not keep a customer from writing: use the default team.
      console.warn("Helpdesk widget: unknown team, using the default team.", error.message);
      delete body.team;
      return withRetries(() => api("POST", "/conversations", body));
    }
  }

  /** The new thread's messages now belong to the conversation the server created. */
  function adoptNewThread(conversation) {
    upsertConversation(conversation);
    if (state.invitation?.answering) state.invitation = null; // it opens this conversation
    followSuggestions(conversation.id);
    const draft = thread(NEW);
    const target = thread(conversation.id);
    for (const [key, message] of draft.messages) {
      message.conversation = conversation.id;
      if (!target.messages.has(key)) target.messages.set(key, message);
    }
    state.threads.delete(NEW);
    if (state.current === NEW) {
      state.current = conversation.id;
      saveTab();
      // Keep the bubbles on screen: the thread's list simply changes owner.
      const container = dom.body.querySelector(":scope > .hd-thread");
      if (container) container.dataset.conversation = String(conversation.id);
    }
    renderSoon();
  }

  async function sendRating(conversation) {
    const draft = ratingDraft(conversation.id);
    if (!draft.score) {
      draft.error = t("rateChoose");
      renderSoon();
      return;
    }
    draft.busy = true;
    draft.error = "";
    renderSoon();
    try {
      await withRetries(() =>
        api("POST", "/conversations/" + conversation.id + "/rating", {
          score: draft.score,
          comment: draft.comment.trim(),
        }),
      );
      markRated(conversation.id, conversation.cycle);
      state.ratingThanks.add(conversation.id);
    } catch (error) {
      if (error.code === "already_rated") {
        markRated(conversation.id, conversation.cycle);
        state.ratingThanks.add(conversation.id);
      } else {
        draft.error = error.message;
      }
    } finally {
      draft.busy = false;
      renderSoon({ scrollToEnd: true });
    }
  }

  function ratingDraft(id) {
    if (!state.ratingDraft.has(id)) {
      state.ratingDraft.set(id, { score: 0, comment: "", error: "", busy: false });
    }
    return state.ratingDraft.get(id);
  }

  function markRated(conversationId, cycle) {
    store.rated[conversationId] = cycle ?? 1;
    saveStore();
    renderSoon();
  }

  /** "Not now" under the rating: not asked again for this cycle (the NPS question may follow). */
  function skipRating(conversation) {
    store.ratingSkipped = { ...store.ratingSkipped, [conversation.id]: conversation.cycle ?? 1 };
    saveStore();
    renderSoon();
  }

  function wantsRating(conversation) {
    return (
      conversation.status === "resolved" &&
      !conversation.with_bot && // the bot's articles answered it: no person to rate
      store.rated[conversation.id] !== (conversation.cycle ?? 1) &&
      store.ratingSkipped?.[conversation.id] !== (conversation.cycle ?? 1) &&
      lastServerId(conversation.id) > 0
    );
  }

  // --- Help articles ---------------------------------------------------------------------------

  let helpRequest = 0;
  let helpTimer = null;

  /** The help search box: ranked matches for `query`, or the featured articles without one. */
  async function searchHelp(query) {
    const number = ++helpRequest;
    state.help.loading = true;
    renderSoon();
    const params = new URLSearchParams({ lang: LANG });
    if (query) params.set("q", query.slice(0, MAX_QUERY_CHARS));
    try {
      const answer = await api("GET", "/articles?" + params);
      if (number !== helpRequest) return; // a newer search has been asked for
      state.help.results = answer.results || [];
      state.help.searchedFor = query;
      state.help.error = "";
    } catch (error) {
      if (number === helpRequest) state.help.error = error.message;
    } finally {
      if (number === helpRequest) {
        state.help.loading = false;
        renderSoon();
      }
    }
  }

  function searchHelpSoon(query) {
    clearTimeout(helpTimer);
    state.help.query = query;
    helpTimer = setTimeout(() => searchHelp(query.trim()), HELP_SEARCH_AFTER_MS);
  }

  async function openArticle(id, from) {
    sendTyping(false);
    state.view = "article";
    state.articleFrom = from;
    state.article = { id, loading: true };
    renderSoon({ focus: true });
    try {
      const article = await api("GET", "/articles/" + id);
      if (state.article?.id === id) state.article = article;
    } catch (error) {
      if (state.article?.id === id) state.article = { id, error: error.message };
    }
    renderSoon({ focus: true });
  }

  async function voteArticle(article, helpful) {
    state.votes.set(article.id, helpful);
    renderSoon();
    try {
      await api("POST", "/articles/" + article.id + "/feedback", { helpful });
    } catch {
      /* a vote lost to the network is not worth an error on the customer's screen */
    }
  }

  let suggestTimer = null;
  let suggestRequest = 0;

  /** Suggestions belong to a first message: a new thread nothing has been sent in yet. */
  function wantsSuggestions() {
    return state.view === "thread" && state.current === NEW && thread(NEW).messages.size === 0;
  }

  function suggestSoon() {
    clearTimeout(suggestTimer);
    const text = dom.input.value.trim();
    if (!wantsSuggestions() || text.length < SUGGEST_MIN_CHARS) {
      suggestRequest++; // an answer on its way is no longer wanted
      if (state.suggestions.length) {
        state.suggestions = [];
        renderSoon();
      }
      return;
    }
    suggestTimer = setTimeout(() => loadSuggestions(dom.input.value), SUGGEST_AFTER_MS);
  }

  async function loadSuggestions(text) {
    const number = ++suggestRequest;
    const query = text.trimStart().slice(0, MAX_QUERY_CHARS);
    const params = new URLSearchParams({ q: query, lang: LANG, suggest: "true" });
    try {
      const answer = await api("GET", "/articles?" + params);
      if (number !== suggestRequest || !wantsSuggestions()) return;
      state.suggestions = (answer.results || []).slice(0, 3);
      if (state.suggestions.length) recordSuggestions(state.suggestions);
    } catch {
      if (number === suggestRequest) state.suggestions = [];
    }
    renderSoon();
  }

  // Suggestion sessions (docs/reports.md "Self-service"): the first suggestions shown open one,
  // which the conversation that follows within the window closes; one left open is counted
  // as a question the articles answered. store.suggestions: {key, at}.
  const DEFLECTION_WINDOW_MS = 30 * 60 * 1000;

  function openSuggestionSession() {
    const session = store.suggestions;
    return session && Date.now() - session.at < DEFLECTION_WINDOW_MS ? session : null;
  }

  async function recordSuggestions(articles) {
    if (openSuggestionSession() || state.recordingSuggestions) return;
    state.recordingSuggestions = true;
    try {
      const body = { articles: articles.map((article) => article.id) };
      const { key } = await api("POST", "/suggestions", body);
      store.suggestions = { key, at: Date.now() };
      saveStore();
    } catch {
      /* uncounted: the reports miss one suggestion session */
    } finally {
      state.recordingSuggestions = false;
    }
  }

  function followSuggestions(conversationId) {
    const session = openSuggestionSession();
    delete store.suggestions;
    saveStore();
    if (!session) return;
    const path = "/suggestions/" + encodeURIComponent(session.key) + "/conversation";
    api("POST", path, { conversation: conversationId }).catch(() => {});
  }

  function clearSuggestions() {
    clearTimeout(suggestTimer);
    suggestRequest++;
    state.suggestions = [];
  }

  // --- NPS: "How likely are you to recommend us?" after a resolved conversation ----------------
  //
  // Asked below a resolved conversation once its CSAT question is answered, if the helpdesk
  // says this customer may be asked (GET /nps: at most once per HELPDESK_NPS_INTERVAL_DAYS).
  // "Not now" declines for this conversation's cycle (store.npsSkipped: {id: cycle}).

  const nps = {
    token: null, // whose answer `ask` is: a new session asks the helpdesk again
    ask: null, // null: not known yet
    loading: false,
    score: null,
    comment: "",
    error: "",
    busy: false,
    thanksFor: null, // the conversation whose thread thanks for the answer
  };

  function npsKnown() {
    if (nps.token !== store.token) {
      Object.assign(nps, { token: store.token, ask: null, score: null, comment: "", error: "" });
    }
    if (nps.ask === null && !nps.loading && store.token) loadNpsState();
    return nps.ask !== null;
  }

  async function loadNpsState() {
    nps.loading = true;
    try {
      const answer = await api("GET", "/nps");
      nps.ask = Boolean(answer.ask);
      renderSoon();
    } catch {
      nps.ask = false; // not asked this visit: never an error shown for a question
    } finally {
      nps.loading = false;
    }
  }

  function wantsNps(conversation) {
    const cycle = conversation.cycle ?? 1;
    return (
      conversation.status === "resolved" &&
      !wantsRating(conversation) &&
      lastServerId(conversation.id) > 0 &&
      store.npsSkipped?.[conversation.id] !== cycle &&
      npsKnown() &&
      nps.ask
    );
  }

  /** The NPS question or its thanks, as thread items (none when not asked). */
  function npsItems(conversation) {
    if (nps.thanksFor === conversation.id) {
      return [
        {
          key: "nps-thanks",
          sig: "nps-thanks",
          build: () =>
            h("div", { class: "hd-card hd-thanks hd-nps-thanks", role: "status" }, h("p", { text: t("npsThanks") })),
        },
      ];
    }
    return wantsNps(conversation) ? [npsItem(conversation)] : [];
  }

  function npsItem(conversation) {
    return {
      key: "nps",
      sig: [nps.error, nps.busy].join("|"), // choosing a score keeps the form (and its focus)
      build: () => {
        const options = Array.from({ length: 11 }, (_, score) => {
          const input = h("input", {
            class: "hd-nps__input",
            type: "radio",
            name: "hd-nps-score",
            value: String(score),
            "aria-label": score === 0 ? t("npsLowest") : score === 10 ? t("npsHighest") : null,
            onchange: () => {
              nps.score = score;
              nps.error = "";
              form.querySelector(".hd-field-error")?.remove();
            },
          });
          input.checked = nps.score === score;
          return h("label", { class: "hd-nps__option" }, input, h("span", { text: String(score) }));
        });
        const comment = h("textarea", {
          class: "hd-rating__comment",
          rows: "2",
          maxlength: "2000",
          placeholder: t("npsComment"),
          "aria-label": t("npsComment"),
          oninput: () => (nps.comment = comment.value),
        });
        comment.value = nps.comment;
        const form = h(
          "form",
          {
            class: "hd-card hd-nps",
            "aria-labelledby": "hd-nps-title",
            onsubmit: (event) => {
              event.preventDefault();
              sendNps(conversation);
            },
          },
          h("p", { class: "hd-rating__title", id: "hd-nps-title", text: t("npsTitle") }),
          h(
            "div",
            { class: "hd-nps__scale", role: "radiogroup", "aria-labelledby": "hd-nps-title" },
            options,
          ),
          h(
            "div",
            { class: "hd-nps__ends", "aria-hidden": "true" },
            h("span", { text: t("npsLow") }),
            h("span", { text: t("npsHigh") }),
          ),
          comment,
          nps.error ? h("p", { class: "hd-field-error", role: "alert", text: nps.error }) : null,
          h(
            "div",
            { class: "hd-card__actions" },
            h("button", { class: "hd-button", type: "submit", disabled: nps.busy, text: t("send") }),
            h("button", {
              class: "hd-link",
              type: "button",
              text: t("notNow"),
              onclick: () => skipNps(conversation),
            }),
          ),
        );
        return form;
      },
    };
  }

  async function sendNps(conversation) {
    if (nps.score === null) {
      nps.error = t("npsChoose");
      renderSoon();
      return;
    }
    nps.busy = true;
    nps.error = "";
    renderSoon();
    try {
      await withRetries(() =>
        api("POST", "/nps", {
          score: nps.score,
          comment: nps.comment.trim(),
          conversation: conversation.id,
        }),
      );
      nps.ask = false;
      nps.thanksFor = conversation.id;
    } catch (error) {
      if (error.code === "already_answered") nps.ask = false; // answered on another device
      else nps.error = error.message;
    } finally {
      nps.busy = false;
      renderSoon({ scrollToEnd: true });
    }
  }

  function skipNps(conversation) {
    store.npsSkipped = { ...store.npsSkipped, [conversation.id]: conversation.cycle ?? 1 };
    saveStore();
    renderSoon();
  }

  // --- Websocket -------------------------------------------------------------------------------

  // The live connection of helpdesk/client.js: resume from store.cursor, drop events seen,
  // ping, reconnect with backoff, poll REST while down (made in start()).
  function makeConnection(client) {
    return client.liveConnection({
      url: () =>
        store.token ? SOCKET_URL + "?token=" + encodeURIComponent(store.token) : null,
      cursor: () => store.cursor ?? null,
      onCursor: (cursor) => {
        store.cursor = cursor;
        saveStoreSoon();
      },
      onFrame: handleFrame,
      onLive: setLive,
      onResumed: (frame, { after, reconnected }) => {
        // REST repairs whatever the replay could not cover (a first visit resumes "from now").
        if ((reconnected || after == null) && state.open) refreshOpenView();
      },
      onClose: (event) => {
        if (event.code !== 4401) return true;
        resetSession(); // the token is no longer valid; a new session starts with the next message
        return false;
      },
      poll: () => {
        if (store.token && state.open) refreshOpenView();
      },
      pollEveryMs: POLL_EVERY_MS,
    });
  }

  let reconnectingTimer = null;

  function setLive(live) {
    state.socketLive = live;
    if (dom.host) dom.host.dataset.connection = live ? "live" : "down"; // for tests and styling
    if (live) {
      clearTimeout(reconnectingTimer);
      reconnectingTimer = null;
      state.showReconnecting = false;
    } else if (store.token && !reconnectingTimer) {
      // Only mention a drop that lasts; a quick reconnect should go unnoticed.
      reconnectingTimer = setTimeout(() => {
        state.showReconnecting = !state.socketLive && Boolean(store.token);
        renderSoon();
      }, 4000);
    }
    renderSoon();
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case "typing":
        onTyping(frame);
        return;
      case "presence":
        return;
      case "error":
        console.warn("Helpdesk widget:", frame.data?.message || frame.message || frame);
        return;
    }
    applyEvent(frame);
  }

  function applyEvent(event) {
    const data = event.data || {};
    switch (event.type) {
      case "message.created":
        if (typeof data.id !== "number" || data.private) return;
        mergeMessages(data.conversation ?? event.conversation, [data]);
        touchConversation(data);
        return;
      case "conversation.created":
        upsertConversation(data);
        if (agentReachedOut()) openThread(data.id);
        return;
      case "conversation.updated":
      case "conversation.assigned":
        upsertConversation(data);
        return;
      case "conversation.rated": {
        const cycle = event.change?.rating?.cycle ?? data.cycle;
        markRated(event.conversation, cycle);
        return;
      }
      case "conversation.nps_answered": // in another tab or device: not asked again here
        nps.ask = false;
        renderSoon();
        return;
    }
  }

  /** An agent started a conversation with us ("On the site now") while the open widget
   *  showed an empty new conversation: show theirs instead. Our own new conversation always
   *  has our message in the draft, and a half-written one is never taken away. */
  function agentReachedOut() {
    return state.open && state.current === NEW && !thread(NEW).messages.size && !dom.input?.value.trim();
  }

  function onTyping(frame) {
    const data = frame.data || frame;
    const author = data.author || data.agent || {};
    const kind = author.kind || data.author_kind || data.kind || "agent";
    if (kind === "customer") return; // our own typing, echoed
    const conversationId = frame.conversation ?? data.conversation;
    if (data.is_typing === false) {
      state.typing.delete(conversationId);
    } else {
      const name = author.name || data.name || t("agent");
      state.typing.set(conversationId, { name, until: Date.now() + TYPING_SHOWN_MS });
      setTimeout(renderSoon, TYPING_SHOWN_MS + 50);
    }
    renderSoon({ keepScroll: true });
  }

  let typingSentAt = 0;
  let typingIdleTimer = null;

  function sendTyping(isTyping) {
    const conversation = state.current;
    if (typeof conversation !== "number" || connection.socket?.readyState !== WebSocket.OPEN) {
      return;
    }
    clearTimeout(typingIdleTimer);
    if (isTyping) {
      if (Date.now() - typingSentAt >= TYPING_SEND_EVERY_MS) {
        typingSentAt = Date.now();
        connection.send({ type: "typing", conversation, is_typing: true });
      }
      typingIdleTimer = setTimeout(() => sendTyping(false), TYPING_IDLE_MS);
    } else if (typingSentAt) {
      typingSentAt = 0;
      connection.send({ type: "typing", conversation, is_typing: false });
    }
  }

  function refreshOpenView() {
    if (!store.token) return;
    loadConversations();
    if (state.view === "thread" && typeof state.current === "number") {
      loadMessages(state.current);
    }
  }

  let storeTimer = null;
  function saveStoreSoon() {
    clearTimeout(storeTimer);
    storeTimer = setTimeout(saveStore, 250);
  }

  // --- Navigation ------------------------------------------------------------------------------

  let availabilityTimer = null;

  function openPanel() {
    if (state.open) return;
    state.open = true;
    saveTab();
    loadAvailability();
    availabilityTimer = setInterval(loadAvailability, AVAILABILITY_EVERY_MS);
    connection.connect();
    if (state.view === "thread" && state.current != null) {
      openThread(state.current);
    } else if (store.token || sessionRequest) {
      // A signed-in user's session may still be on its way: it loads the list when it lands.
      state.view = "home";
      loadConversations();
    } else {
      openThread(NEW); // a first visit: nothing to list yet
    }
    renderSoon({ scrollToEnd: true, focus: true });
  }

  function closePanel() {
    if (!state.open) return;
    state.open = false;
    clearInterval(availabilityTimer);
    sendTyping(false);
    saveTab();
    render({}); // now: on phones the launcher is only shown again by this render
    dom.launcher.focus();
  }

  function showHelp() {
    sendTyping(false);
    state.view = "help";
    if (state.help.results === null) searchHelp("");
    renderSoon({ focus: true });
  }

  /** Back from an article to where it was opened; from anywhere else, home. */
  function goBack() {
    if (state.view === "article" && state.articleFrom === "thread" && state.current != null) {
      state.view = "thread";
      renderSoon({ focus: true });
    } else if (state.view === "article") {
      state.view = "help";
      renderSoon({ focus: true });
    } else {
      showHome();
    }
  }

  function showHome() {
    sendTyping(false);
    state.view = "home";
    state.current = null;
    saveTab();
    if (store.token) loadConversations();
    renderSoon({ focus: true });
  }

  function openThread(id) {
    sendTyping(false);
    state.view = "thread";
    state.current = id;
    saveTab();
    if (typeof id === "number") {
      if (!state.conversations.has(id)) loadConversation(id);
      loadMessages(id);
      markRead(id);
    }
    renderSoon({ scrollToEnd: true, focus: true });
  }

  // --- DOM (h() is helpdesk/client.js's: text goes in as textContent only) -------------------

  const ICONS = {
    chat: "M21 11.5a8.4 8.4 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.4 8.4 0 0 1-3.8-.9L3 21l1.9-5.7a8.4 8.4 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.4 8.4 0 0 1 3.8-.9h.5a8.5 8.5 0 0 1 8 8v.5z",
    close: "M18 6 6 18M6 6l12 12",
    down: "m6 9 6 6 6-6",
    back: "M19 12H5m7 7-7-7 7-7",
    send: "M22 2 11 13M22 2l-7 20-4-9-9-4 20-7z",
    plus: "M12 5v14M5 12h14",
    star: "m12 2 3.1 6.3 6.9 1-5 4.9 1.2 6.8-6.2-3.2L5.8 21 7 14.2 2 9.3l6.9-1z",
    chevron: "m9 18 6-6-6-6",
    search: "m21 21-4.3-4.3M11 18a7 7 0 1 1 0-14 7 7 0 0 1 0 14z",
    book: "M4 19.5A2.5 2.5 0 0 1 6.5 17H20M4 19.5A2.5 2.5 0 0 0 6.5 22H20V2H6.5A2.5 2.5 0 0 0 4 4.5z",
    clip: "m21.4 11.1-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5",
  };

  function icon(name, extraClass) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "hd-icon" + (extraClass ? " " + extraClass : ""));
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  /** Put `items` ({key, sig, build, update?}) into `container` in order, rebuilding only what
   * changed. An item with `update(el)` is built once and then changed in place: in a live
   * region a rebuilt element is read out again. */
  function reconcile(container, items) {
    const old = new Map();
    const wanted = new Set(items.map((item) => item.key));
    for (const child of [...container.children]) {
      // Gone first: what stays is then already in order, and moving it would insert it again.
      if (wanted.has(child.dataset.key)) old.set(child.dataset.key, child);
      else child.remove();
    }
    let previous = null;
    for (const item of items) {
      let el = old.get(item.key);
      old.delete(item.key);
      if (el && el.dataset.sig !== item.sig && item.update) {
        item.update(el);
        el.dataset.sig = item.sig;
      } else if (!el || el.dataset.sig !== item.sig) {
        const fresh = item.build();
        item.update?.(fresh);
        fresh.dataset.key = item.key;
        fresh.dataset.sig = item.sig;
        if (el) el.replaceWith(fresh);
        el = fresh;
      }
      const expected = previous ? previous.nextSibling : container.firstChild;
      if (el !== expected) container.insertBefore(el, expected);
      previous = el;
    }
  }

  // Made once the language is known (start()).
  let timeFormat, dayFormat, shortDayFormat;

  function makeFormats() {
    timeFormat = new Intl.DateTimeFormat(LANG, { hour: "2-digit", minute: "2-digit" });
    dayFormat = new Intl.DateTimeFormat(LANG, { day: "numeric", month: "long" });
    shortDayFormat = new Intl.DateTimeFormat(LANG, { day: "numeric", month: "short" });
  }

  function dayKey(date) {
    return date.getFullYear() + "-" + date.getMonth() + "-" + date.getDate();
  }

  function dayLabel(date) {
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (dayKey(date) === dayKey(today)) return t("today");
    if (dayKey(date) === dayKey(yesterday)) return t("yesterday");
    return dayFormat.format(date);
  }

  function shortWhen(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    const today = dayKey(date) === dayKey(new Date());
    return today ? timeFormat.format(date) : shortDayFormat.format(date);
  }

  function statusLabel(status) {
    const key = { open: "statusOpen", pending: "statusPending", snoozed: "statusSnoozed" }[status];
    return t(key || "statusResolved");
  }

  function unreadText(count) {
    return count === 1 ? t("unreadOne") : t("unreadMany", { n: count });
  }

  /** "We usually reply within …", from the team's recent first replies (the same history as
   * the wait estimate, so the two agree); nothing of the kind without that history. While an
   * estimate shows, it alone speaks of time. */
  function usualReplyText() {
    const availability = state.availability;
    const typical = availability?.typical_reply_seconds;
    if (typical == null || availability.estimated_wait_seconds != null) return t("offlineShort");
    if (typical < 15 * 60) return t("newConversationHint");
    if (typical < 60 * 60) return t("replyWithinHour");
    if (typical < 8 * 3600) return t("replyWithinHours");
    return t("replyWithinDay");
  }

  /** Nobody can chat live: because nobody is there, or because everyone is busy. */
  function unavailableText() {
    return state.availability?.agents_online > 0 && state.availability.open_now !== false
      ? t("busy")
      : t("offline");
  }

  function waitText(seconds) {
    if (seconds == null) return "";
    if (seconds < 60) return t("waitUnderMinute");
    if (seconds < 90 * 60) return t("waitMinutes", { n: Math.round(seconds / 60) });
    return t("waitHours", { n: Math.round(seconds / 3600) });
  }

  // --- Skeleton --------------------------------------------------------------------------------

  const dom = {};

  function buildSkeleton() {
    const host = document.createElement("helpdesk-widget");
    host.setAttribute("data-lang", LANG);
    const shadow = host.attachShadow({ mode: "open" });
    const root = h("div", { class: "hd-root", hidden: true, lang: LANG });
    if (ACCENT) root.style.setProperty("--hd-accent", ACCENT);

    // Hidden until the stylesheet has loaded, so the page never flashes unstyled markup.
    const stylesheet = h("link", { rel: "stylesheet", href: STYLESHEET_URL });
    const reveal = () => root.removeAttribute("hidden");
    stylesheet.addEventListener("load", reveal);
    stylesheet.addEventListener("error", () => console.warn("Helpdesk widget: no stylesheet"));

    dom.badge = h("span", { class: "hd-badge", hidden: true, "aria-hidden": "true" });
    dom.launcherIcon = h("span", { class: "hd-launcher__icon" });
    dom.launcher = h(
      "button",
      {
        class: "hd-launcher",
        type: "button",
        "aria-controls": "hd-panel",
        "aria-expanded": "false",
        onclick: () => (state.open ? closePanel() : openPanel()),
      },
      dom.launcherIcon,
      dom.badge,
    );

    dom.back = h(
      "button",
      {
        class: "hd-iconbutton hd-back",
        type: "button",
        "aria-label": t("back"),
        onclick: goBack,
      },
      icon("back"),
    );
    dom.title = h("h2", { class: "hd-title", id: "hd-title" });
    dom.subtitle = h("p", { class: "hd-subtitle" });
    dom.close = h(
      "button",
      {
        class: "hd-iconbutton hd-close",
        type: "button",
        "aria-label": t("close"),
        onclick: closePanel,
      },
      icon("close"),
    );
    dom.header = h(
      "header",
      { class: "hd-header" },
      dom.back,
      h("div", { class: "hd-heading" }, dom.title, dom.subtitle),
      dom.close,
    );

    dom.connection = h("div", { class: "hd-connection", role: "status", hidden: true });
    dom.body = h("div", { class: "hd-body" });
    dom.typing = h("div", { class: "hd-typing", "aria-live": "polite" });
    dom.composer = buildComposer();

    dom.panel = h(
      "section",
      {
        class: "hd-panel",
        id: "hd-panel",
        role: "dialog",
        "aria-labelledby": "hd-title",
        hidden: true,
      },
      dom.header,
      dom.connection,
      dom.body,
      dom.typing,
      dom.composer,
    );
    // Files go with the next message: the paperclip, a drop anywhere on the chat, a paste.
    dom.files = client.pendingFiles({
      zone: dom.panel,
      input: dom.input,
      button: dom.attach,
      list: dom.pendingFiles,
      removeLabel: t("removeFile", { name: "{name}" }), // pendingFiles puts each name in
      lang: LANG,
      prefix: "hd-",
      onChange: updateSendButton,
    });

    dom.announcer = h("div", { class: "hd-visually-hidden", role: "status" });
    // Escape closes the chat from anywhere in the widget, the launcher too (closePanel()
    // gives the launcher the focus).
    root.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !state.open) return;
      event.stopPropagation();
      closePanel();
    });
    root.append(dom.panel, buildInvitation(), dom.launcher, dom.announcer);
    shadow.append(stylesheet, root);
    document.body.append(host);
    dom.host = host;
    dom.root = root;
  }

  function buildComposer() {
    dom.email = h("input", {
      class: "hd-email__input",
      type: "email",
      id: "hd-email",
      autocomplete: "email",
      placeholder: t("emailPlaceholder"),
      "aria-describedby": "hd-notice",
      oninput: () => {
        state.emailDraft = dom.email.value.trim();
        state.emailError = "";
        dom.emailError.hidden = true;
      },
    });
    dom.emailError = h("p", { class: "hd-field-error", hidden: true, role: "alert" });
    dom.emailRow = h(
      "div",
      { class: "hd-email", hidden: true },
      h("label", { class: "hd-email__label", for: "hd-email", text: t("emailLabel") }),
      dom.email,
      dom.emailError,
    );
    dom.input = h("textarea", {
      class: "hd-input",
      rows: "1",
      placeholder: t("placeholder"),
      "aria-label": t("messageLabel"),
      "aria-describedby": "hd-notice hd-count hd-composer-error",
      oninput: () => {
        autoGrow();
        updateSendButton();
        updateCount();
        sendTyping(Boolean(dom.input.value.trim()));
        suggestSoon();
      },
      onkeydown: (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          submitComposer();
        }
      },
    });
    dom.send = h(
      "button",
      { class: "hd-send", type: "submit", "aria-label": t("send"), disabled: true },
      icon("send"),
    );
    dom.attach = h("button", { class: "hd-attach", type: "button", "aria-label": t("attach"), title: t("attach") }, icon("clip"));
    dom.pendingFiles = h("ul", { class: "hd-pending-files", hidden: true });
    dom.resolvedNote = h("p", { class: "hd-composer__note", hidden: true });
    dom.count = h("p", { class: "hd-count", id: "hd-count", hidden: true });
    dom.composerError = h("p", {
      class: "hd-field-error",
      id: "hd-composer-error",
      role: "alert",
      hidden: true,
    });
    // A live region that stays in place (only its content changes), so screen readers hear
    // suggestions as they arrive.
    dom.suggestions = h("div", { class: "hd-suggest", "aria-live": "polite" });
    return h(
      "form",
      {
        class: "hd-composer",
        onsubmit: (event) => {
          event.preventDefault();
          submitComposer();
        },
      },
      dom.suggestions,
      dom.resolvedNote,
      dom.emailRow,
      dom.pendingFiles,
      // The paperclip last in the tab order (message box, Send, then files); shown first.
      h("div", { class: "hd-composer__row" }, dom.input, dom.send, dom.attach),
      dom.count,
      dom.composerError,
    );
  }

  /** Characters as the helpdesk counts them (code points: an emoji is one). */
  function characters(text) {
    return [...text].length;
  }

  function showComposerError(text) {
    dom.composerError.textContent = text;
    dom.composerError.hidden = !text;
  }

  /** The counter under the message box, from 80 % of the limit; over it, in red. */
  function updateCount() {
    const count = characters(dom.input.value);
    const over = count > MAX_LENGTH;
    const numbers = { count: count.toLocaleString(LANG), limit: MAX_LENGTH.toLocaleString(LANG) };
    dom.count.hidden = count < MAX_LENGTH * COUNT_SHOWN_FROM;
    dom.count.classList.toggle("is-over", over);
    dom.count.textContent = t("charCount", numbers);
    if (!over) showComposerError(""); // the text changed: an earlier refusal no longer applies
    return { over, numbers };
  }

  function autoGrow() {
    dom.input.style.height = "auto";
    dom.input.style.height = Math.min(dom.input.scrollHeight, 140) + "px";
  }

  function updateSendButton() {
    dom.send.disabled = !dom.input.value.trim() && !dom.files?.count;
  }

  function submitComposer() {
    const body = dom.input.value;
    if (!body.trim() && !dom.files.count) return;
    const { over, numbers } = updateCount();
    if (over) {
      // Kept, and not sent: the helpdesk would refuse it (400 too_long).
      showComposerError(t("tooLong", numbers));
      return;
    }
    showComposerError("");
    if (!dom.emailRow.hidden && state.emailDraft && !dom.email.checkValidity()) {
      state.emailError = t("emailInvalid");
      dom.emailError.textContent = state.emailError;
      dom.emailError.hidden = false;
      dom.email.focus();
      return;
    }
    dom.input.value = "";
    autoGrow();
    updateSendButton();
    updateCount();
    clearSuggestions();
    const files = dom.files.take();
    sendMessage(body.trim() ? body : "", files.length ? files : undefined);
    dom.input.focus();
  }

  // --- Campaign invitations (docs/widget.md "Invitations") -----------------------------------
  //
  // A campaign whose rules pick this visitor (GET /campaigns) shows its message in a bubble
  // above the launcher after its delay. Answering opens the chat with the invitation as the
  // first message; the conversation starts with `campaign`. Dismissed or answered: no other
  // invitation in this browser session.

  const INVITED_KEY = TAB_KEY + ":invited";
  const RETURNING_AFTER_MS = 30 * 60 * 1000; // as the helpdesk counts a returning visitor

  async function scheduleInvitation() {
    if (!store.firstSeen) {
      store.firstSeen = Date.now();
      saveStore();
    }
    if (state.open || storage("sessionStorage")?.getItem(INVITED_KEY)) return;
    if (boot && !boot.invitations) return; // the loader says no campaign runs: ask nothing
    const returning = Date.now() - store.firstSeen >= RETURNING_AFTER_MS;
    const query = "?url=" + encodeURIComponent(location.href) + "&returning=" + returning;
    let results;
    try {
      ({ results } = await api("GET", "/campaigns" + query));
    } catch {
      return; // no invitation rather than an error on the shop's page
    }
    const first = results.sort((a, b) => a.delay_seconds - b.delay_seconds)[0];
    if (first) setTimeout(() => showInvitation(first), first.delay_seconds * 1000);
  }

  function showInvitation(campaign) {
    if (state.open || state.invitation) return;
    state.invitation = { ...campaign, shown: true, answering: false };
    announce(t("inviteFrom", { name: campaign.sender.name }) + ": " + campaign.message);
    api("POST", "/campaigns/" + campaign.id + "/shown").catch(() => {});
    renderSoon();
  }

  function endInvitations() {
    try {
      storage("sessionStorage")?.setItem(INVITED_KEY, "1");
    } catch {
      /* storage unavailable: the invitation may come back on the next page */
    }
  }

  function answerInvitation() {
    state.invitation.shown = false;
    state.invitation.answering = true;
    endInvitations();
    state.view = "thread";
    state.current = NEW;
    openPanel();
  }

  function dismissInvitation() {
    state.invitation = null;
    endInvitations();
    render({});
    dom.launcher.focus();
  }

  function buildInvitation() {
    dom.inviteFrom = h("span", { class: "hd-invite__from" });
    dom.inviteText = h("span", { class: "hd-invite__text" });
    dom.invite = h(
      "div",
      {
        class: "hd-invite",
        hidden: true,
        onkeydown: (event) => event.key === "Escape" && dismissInvitation(),
      },
      h(
        "button",
        { class: "hd-invite__close", type: "button", "aria-label": t("inviteDismiss"), onclick: dismissInvitation },
        icon("close"),
      ),
      h(
        "button",
        { class: "hd-invite__body", type: "button", onclick: answerInvitation },
        dom.inviteFrom,
        dom.inviteText,
        h("span", { class: "hd-invite__reply", text: t("inviteReply") }),
      ),
    );
    return dom.invite;
  }

  function renderInvitation() {
    const invitation = state.invitation;
    dom.invite.hidden = !invitation?.shown || state.open;
    if (dom.invite.hidden) return;
    dom.inviteFrom.textContent = t("inviteFrom", { name: invitation.sender.name });
    dom.inviteText.textContent = invitation.message;
  }

  /** The invitation being answered, first in the new thread, as its sender wrote it. */
  function invitationItem(invitation) {
    return {
      key: "invitation",
      sig: "invitation:" + invitation.id,
      build: () =>
        h(
          "div",
          { class: "hd-msg hd-msg--agent hd-msg--welcome" },
          h("div", { class: "hd-msg__author", text: invitation.sender.name }),
          h("div", { class: "hd-msg__bubble", text: invitation.message }),
        ),
    };
  }

  // --- Rendering -------------------------------------------------------------------------------

  let renderQueued = false;
  const renderWishes = { scrollToEnd: false, focus: false };

  function renderSoon(wishes) {
    if (wishes?.scrollToEnd) renderWishes.scrollToEnd = true;
    if (wishes?.focus) renderWishes.focus = true;
    if (renderQueued || !dom.root) return;
    renderQueued = true;
    queueMicrotask(() => {
      renderQueued = false;
      const wishesNow = { ...renderWishes };
      renderWishes.scrollToEnd = renderWishes.focus = false;
      render(wishesNow);
    });
  }

  function render(wishes) {
    const nearEnd = dom.body.scrollHeight - dom.body.scrollTop - dom.body.clientHeight < 80;
    renderLauncher();
    renderInvitation();
    dom.panel.hidden = !state.open;
    dom.root.classList.toggle("is-open", state.open);
    dom.connection.hidden = !(state.showReconnecting && state.open);
    dom.connection.textContent = t("reconnecting");
    if (state.open) {
      renderHeader();
      if (state.view === "thread") renderThread();
      else if (state.view === "help") renderHelp();
      else if (state.view === "article") renderArticle();
      else renderHome();
      renderSuggestions();
      renderTyping();
      dom.composer.hidden = state.view !== "thread";
      if (state.view === "thread" && (wishes.scrollToEnd || nearEnd)) {
        dom.body.scrollTop = dom.body.scrollHeight;
      }
      if (wishes.focus) focusView();
    }
  }

  function focusView() {
    // On phones, focusing the text box would pop the keyboard over the thread.
    if (window.matchMedia?.("(pointer: coarse)").matches) return;
    if (state.view === "thread") {
      // Asked for (nobody can answer live), the email field comes first, above the message.
      const field = dom.emailRow.hidden || dom.email.value ? dom.input : dom.email;
      field.focus({ preventScroll: true });
    } else if (state.view === "help") {
      dom.helpInput.focus({ preventScroll: true });
    } else if (state.view === "article") {
      dom.body.querySelector(".hd-article__title")?.focus({ preventScroll: true });
    } else {
      dom.body.querySelector(".hd-start")?.focus({ preventScroll: true });
    }
  }

  function renderLauncher() {
    const count = unreadTotal();
    dom.launcher.setAttribute("aria-expanded", String(state.open));
    const label = state.open ? t("closeChat") : t("openChat");
    dom.launcher.setAttribute(
      "aria-label",
      count && !state.open ? label + " (" + unreadText(count) + ")" : label,
    );
    const iconName = state.open ? "down" : "chat";
    if (dom.launcherIcon.dataset.icon !== iconName) {
      dom.launcherIcon.dataset.icon = iconName;
      dom.launcherIcon.replaceChildren(icon(iconName));
    }
    dom.badge.hidden = !count || state.open;
    dom.badge.textContent = count > 9 ? "9+" : String(count);
  }

  function availabilityText() {
    const availability = state.availability;
    if (!availability) return "";
    if (!availability.can_chat_live) return unavailableText();
    return waitText(availability.estimated_wait_seconds) || t("online");
  }

  function renderHeader() {
    const conversation = state.conversations.get(state.current);
    const inThread = state.view === "thread";
    const inHelp = state.view === "help" || state.view === "article";
    const canGoBack =
      inHelp || (inThread && (state.conversations.size > 0 || state.current !== NEW));
    dom.back.hidden = !canGoBack;
    dom.back.setAttribute("aria-label", backLabel());
    dom.header.classList.toggle("has-back", canGoBack);
    dom.root.classList.toggle("is-thread", inThread);
    if (inHelp) {
      dom.title.textContent = t("helpTitle");
      dom.subtitle.textContent = attrs.title || t("title");
    } else if (inThread && conversation) {
      dom.title.textContent = conversation.assignee?.name || attrs.title || t("title");
      dom.subtitle.textContent =
        conversation.status !== "open"
          ? statusLabel(conversation.status)
          : state.availability && !state.availability.can_chat_live
            ? t("offlineShort")
            : availabilityText();
    } else {
      dom.title.textContent = attrs.title || t("title");
      // Offline, the body says so at length; the header stays friendly.
      dom.subtitle.textContent = state.availability?.can_chat_live
        ? availabilityText()
        : t("intro");
    }
    const online = Boolean(state.availability?.can_chat_live);
    dom.subtitle.classList.toggle(
      "is-online",
      online && (!conversation || conversation.status === "open"),
    );
  }

  function backLabel() {
    if (state.view === "article") {
      return state.articleFrom === "thread" ? t("backToMessage") : t("backToArticles");
    }
    return state.view === "help" ? t("backToConversations") : t("back");
  }

  /** Only when nobody can chat live; otherwise the header says "online" and the wait. */
  function availabilityNotice() {
    const availability = state.availability;
    if (!availability || availability.can_chat_live) return null;
    const wait = waitText(availability.estimated_wait_seconds);
    return h(
      "div",
      { class: "hd-notice hd-notice--offline", role: "note", id: "hd-notice" },
      h("span", { text: unavailableText() }),
      wait ? h("span", { class: "hd-notice__wait", text: wait }) : null,
    );
  }

  function renderHome() {
    const conversations = [...state.conversations.values()].sort((a, b) =>
      String(b.last_activity_at).localeCompare(String(a.last_activity_at)),
    );
    const items = [
      {
        key: "intro",
        sig: "intro",
        build: () =>
          h(
            "div",
            { class: "hd-hero" },
            h("p", { class: "hd-hero__greeting", text: t("greeting") }),
            h("p", { class: "hd-hero__text", text: t("intro") }),
          ),
      },
      {
        key: "availability",
        sig: JSON.stringify(state.availability),
        build: () => availabilityNotice() || h("div", { hidden: true }),
      },
      {
        key: "start",
        sig: "start:" + usualReplyText(),
        build: () =>
          h(
            "button",
            { class: "hd-start", type: "button", onclick: () => openThread(NEW) },
            h(
              "span",
              { class: "hd-start__text" },
              h("strong", { text: t("newConversation") }),
              h("span", { text: usualReplyText() }),
            ),
            h("span", { class: "hd-start__icon" }, icon("send")),
          ),
      },
      {
        key: "help",
        sig: "help",
        build: () =>
          h(
            "button",
            { class: "hd-start hd-start--help", type: "button", onclick: showHelp },
            h(
              "span",
              { class: "hd-start__text" },
              h("strong", { text: t("searchHelp") }),
              h("span", { text: t("searchHelpHint") }),
            ),
            h("span", { class: "hd-start__icon" }, icon("search")),
          ),
      },
    ];
    if (conversations.length) {
      items.push({
        key: "list",
        sig: conversations
          .map((c) =>
            [
              c.id,
              c.status,
              c.last_activity_at,
              c.last_message_preview,
              c.assignee?.name,
              state.unread.get(c.id)?.size || 0,
            ].join("|"),
          )
          .join(";"),
        build: () =>
          h(
            "section",
            { class: "hd-list", "aria-labelledby": "hd-list-title" },
            h("h3", { class: "hd-list__title", id: "hd-list-title", text: t("yourConversations") }),
            h("ul", { class: "hd-list__items" }, conversations.map(conversationRow)),
          ),
      });
    } else if (state.listLoaded || !store.token) {
      items.push({
        key: "empty",
        sig: "empty",
        build: () => h("p", { class: "hd-empty", text: t("noConversations") }),
      });
    }
    reconcile(dom.body, items);
  }

  function conversationRow(conversation) {
    const unread = state.unread.get(conversation.id)?.size || 0;
    const who = conversation.assignee?.name || attrs.title || t("title");
    return h(
      "li",
      {},
      h(
        "button",
        {
          class: "hd-row" + (unread ? " is-unread" : ""),
          type: "button",
          onclick: () => openThread(conversation.id),
        },
        avatar(conversation.assignee, initials(who), "hd-avatar"),
        h(
          "span",
          { class: "hd-row__main" },
          h(
            "span",
            { class: "hd-row__top" },
            h("span", { class: "hd-row__who", text: who }),
            h("span", { class: "hd-row__when", text: shortWhen(conversation.last_activity_at) }),
          ),
          h("span", {
            class: "hd-row__preview",
            text:
              conversation.last_message_preview ||
              t("conversationTitle", { id: conversation.id }),
          }),
          h(
            "span",
            { class: "hd-row__bottom" },
            h("span", {
              class: "hd-status hd-status--" + conversation.status,
              text: statusLabel(conversation.status),
            }),
            unread
              ? h("span", {
                  class: "hd-row__unread",
                  text: String(unread),
                  "aria-label": unreadText(unread),
                })
              : null,
          ),
        ),
        icon("chevron", "hd-row__chevron"),
      ),
    );
  }

  function initials(name) {
    const letters = String(name)
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((word) => word[0]);
    return letters.join("").toLocaleUpperCase(LANG) || "?";
  }

  function renderThread() {
    const id = state.current;
    const conversation = state.conversations.get(id);
    const messages = sortedMessages(id);
    let container = dom.body.querySelector(":scope > .hd-thread");
    if (!container || container.dataset.conversation !== String(id)) {
      container = h("div", {
        class: "hd-thread",
        role: "log",
        "aria-live": "polite",
        "aria-label": t("messages"),
      });
      container.dataset.conversation = String(id);
      dom.body.replaceChildren(container);
    }
    const items = [];
    if (id === NEW) {
      items.push({
        key: "availability",
        sig: JSON.stringify(state.availability),
        build: () => availabilityNotice() || h("div", { hidden: true }),
      });
      items.push({
        key: "quick-answer",
        sig: "quick-answer",
        build: () =>
          h(
            "p",
            { class: "hd-quick" },
            h("span", { text: t("quickAnswer") + " " }),
            h("button", { class: "hd-link", type: "button", text: t("searchHelp"), onclick: showHelp }),
          ),
      });
    }
    if (id === NEW && state.invitation?.answering) {
      items.push(invitationItem(state.invitation)); // the conversation will start with it
    } else if (messages[0]?.author?.kind === "agent") {
      // An invitation or an agent's first message opens it: no greeting above that.
    } else if (id === NEW || thread(id).loaded || messages.length) {
      items.push({
        key: "welcome",
        sig: "welcome",
        build: () =>
          h(
            "div",
            { class: "hd-msg hd-msg--agent hd-msg--welcome" },
            h("div", { class: "hd-msg__author", text: attrs.title || t("title") }),
            h("div", { class: "hd-msg__bubble", text: t("welcome") }),
          ),
      });
    } else if (!thread(id).loaded && messages.length === 0) {
      items.push({
        key: "loading",
        sig: "loading",
        build: () => h("p", { class: "hd-loading", text: t("loading") }),
      });
    }
    let previous = null;
    let lastDay = null;
    messages.forEach((message, index) => {
      const date = new Date(message.created_at);
      const day = dayKey(date);
      if (day !== lastDay) {
        lastDay = day;
        previous = null;
        items.push({
          key: "day:" + day,
          sig: dayLabel(date),
          build: () => h("div", { class: "hd-day", text: dayLabel(date) }),
        });
      }
      const next = messages[index + 1];
      const firstOfGroup = !previous || authorOf(previous) !== authorOf(message);
      const lastOfGroup =
        !next || authorOf(next) !== authorOf(message) || dayKey(new Date(next.created_at)) !== day;
      items.push(messageItem(message, firstOfGroup, lastOfGroup));
      previous = message;
    });
    if (conversation?.with_bot && conversation.status !== "resolved" && previous?.author?.kind === "bot") {
      items.push(handoffItem(conversation));
    } else if (conversation?.with_bot && conversation.status === "resolved") {
      items.push({
        key: "bot-answered",
        sig: "bot-answered",
        build: () => h("p", { class: "hd-handoff__note", role: "status", text: t("botThanks") }),
      });
    } else if (conversation && !conversation.with_bot && state.handedOver.has(conversation.id)) {
      items.push({
        key: "handed-over",
        sig: "handed-over",
        build: () => h("p", { class: "hd-handoff__note", role: "status", text: t("handedOver") }),
      });
    }
    if (conversation && wantsRating(conversation)) {
      items.push(ratingItem(conversation));
    } else if (conversation && state.ratingThanks.has(conversation.id)) {
      items.push({
        key: "thanks",
        sig: "thanks",
        build: () =>
          h(
            "div",
            { class: "hd-card hd-thanks", role: "status" },
            h("span", { class: "hd-thanks__stars", "aria-hidden": "true" }, icon("star")),
            h("p", { text: t("thanks") }),
          ),
      });
    }
    if (conversation) items.push(...npsItems(conversation));
    reconcile(container, items);

    const resolved = conversation?.status === "resolved";
    dom.resolvedNote.hidden = !resolved;
    dom.resolvedNote.textContent = resolved ? t("resolvedNote") : "";
    const askEmail =
      id === NEW &&
      state.availability &&
      !state.availability.can_chat_live &&
      !store.customer?.email &&
      !PROFILE.email;
    const asking = askEmail && dom.emailRow.hidden;
    dom.emailRow.hidden = !askEmail;
    // Asked for once the availability is known: it comes first, unless writing has begun.
    if (asking && dom.root.getRootNode().activeElement === dom.input && !dom.input.value) {
      dom.email.focus({ preventScroll: true });
    }
  }

  function authorOf(message) {
    const author = message.author || {};
    return author.kind === "customer" ? "customer" : author.kind + ":" + (author.id ?? author.name);
  }

  function messageItem(message, firstOfGroup, lastOfGroup) {
    const files = message.attachments?.length;
    const sig = [message.id, message.status, message.error, message.progress, files, firstOfGroup, lastOfGroup].join("|");
    return {
      key: "m:" + messageKey(message),
      sig,
      build: () => buildMessage(message),
      update: (el) => updateMessage(el, message, firstOfGroup, lastOfGroup),
    };
  }

  function authorName(message) {
    const kind = message.author?.kind || "agent";
    if (kind === "customer") return t("you");
    if (kind === "system") return attrs.title || t("title");
    if (kind === "bot") return t("bot");
    return message.author?.name || t("agent");
  }

  /** A message as the log shows it. Its author is always there for screen readers; the
   * customer's own, the system's and the second of a group keep it visually hidden. */
  function buildMessage(message) {
    const kind = message.author?.kind || "agent";
    const side = kind === "customer" ? "customer" : kind === "system" ? "system" : "agent";
    const name = authorName(message);
    const author = h(
      "div",
      { class: "hd-msg__author" },
      kind === "agent" ? avatar(message.author, initials(name), "hd-avatar hd-avatar--small") : null,
      h("span", { text: name }),
    );
    // The body is text, always: textContent, never markup.
    const bubble = h("div", { class: "hd-msg__bubble" });
    if (kind === "bot") linkify(bubble, message.body);
    else bubble.textContent = message.body;
    const meta = h(
      "div",
      { class: "hd-msg__meta" },
      h("span", { class: "hd-msg__sending", text: t("sending") }),
      h("time"),
    );
    const classes = "hd-msg hd-msg--" + side + (kind === "bot" ? " hd-msg--bot" : "");
    if (!message.body) bubble.hidden = true; // a file alone
    return h("div", { class: classes }, author, bubble, meta);
  }

  /** What changes after a message is shown (sent, failed, grouped with the next one), changed
   * in place: only a failure adds something, an alert. */
  function updateMessage(el, message, firstOfGroup, lastOfGroup) {
    const failed = message.status === "failed" || message.status === "refused";
    el.classList.toggle("is-sending", message.status === "sending");
    const sending = el.querySelector(".hd-msg__sending");
    sending.textContent = message.files?.length && message.progress != null ? t("uploading", { n: message.progress }) : t("sending");
    el.classList.toggle("is-failed", failed);
    el.classList.toggle("is-grouped", !lastOfGroup);
    el.classList.toggle("is-continued", !firstOfGroup);
    const time = el.querySelector(".hd-msg__meta time");
    const shown = timeFormat.format(new Date(message.created_at));
    if (time.textContent !== shown) time.textContent = shown;
    time.setAttribute("datetime", message.created_at);
    if (message.attachments?.length && !el.querySelector(".hd-files")) {
      // The files, once the helpdesk has them (a message being sent has none yet).
      const options = { base: BASE, lang: LANG, prefix: "hd-", scroller: dom.body };
      const files = client.attachmentList(message.attachments, options);
      el.querySelector(".hd-msg__meta").before(files);
    }
    el.querySelector(".hd-msg__meta--failed")?.remove();
    if (failed) el.append(failureNote(message));
  }

  /** The bot's links to help articles, clickable: text nodes and <a> with textContent only. */
  function linkify(element, text) {
    text.split(/(https?:\/\/\S+)/).forEach((part, index) => {
      if (index % 2 === 0) element.append(document.createTextNode(part));
      else element.append(h("a", { href: part, target: "_blank", rel: "noopener", text: part }));
    });
  }

  /** "Talk to a person" under the bot's answer, while the bot holds the conversation. */
  function handoffItem(conversation) {
    return {
      key: "handoff",
      sig: [state.handoffBusy, state.handoffError].join("|"),
      build: () =>
        h(
          "div",
          { class: "hd-handoff" },
          h(
            "div",
            { class: "hd-handoff__buttons" },
            h("button", {
              class: "hd-button",
              type: "button",
              text: t("talkToPerson"),
              disabled: state.handoffBusy,
              onclick: () => handOff(conversation, "/handoff"),
            }),
            h("button", {
              class: "hd-button hd-button--quiet",
              type: "button",
              text: t("botAnswered"),
              disabled: state.handoffBusy,
              onclick: () => handOff(conversation, "/answered"),
            }),
          ),
          state.handoffError
            ? h("p", { class: "hd-msg__meta hd-msg__meta--failed", role: "alert", text: state.handoffError })
            : null,
        ),
    };
  }

  /** "Talk to a person" (`/handoff`) or "This answered my question" (`/answered`). */
  async function handOff(conversation, action) {
    state.handoffBusy = true;
    state.handoffError = "";
    renderSoon();
    try {
      const updated = await withRetries(() =>
        api("POST", "/conversations/" + conversation.id + action),
      );
      upsertConversation(updated);
      if (action === "/handoff") state.handedOver.add(conversation.id);
    } catch (error) {
      if (error.code !== "no_bot") state.handoffError = error.message;
    } finally {
      state.handoffBusy = false;
      renderSoon({ scrollToEnd: true });
    }
  }

  function failureNote(message) {
    if (message.status === "refused") {
      const text = t("notSent") + " " + message.error;
      return h("div", { class: "hd-msg__meta hd-msg__meta--failed", role: "alert", text });
    }
    return h(
      "div",
      { class: "hd-msg__meta hd-msg__meta--failed", role: "alert" },
      h("span", { text: t("notSent") + (message.error ? " " + message.error : "") }),
      h("button", {
        class: "hd-link",
        type: "button",
        text: t("retry"),
        onclick: () => retryMessage(message),
      }),
    );
  }

  function ratingItem(conversation) {
    const draft = ratingDraft(conversation.id);
    return {
      key: "rating",
      sig: [draft.score, draft.error, draft.busy].join("|"),
      build: () => {
        const stars = [1, 2, 3, 4, 5].map((score) =>
          h(
            "button",
            {
              class: "hd-star" + (score <= draft.score ? " is-on" : ""),
              type: "button",
              "aria-pressed": String(score === draft.score),
              "aria-label": t("star" + score),
              title: t("star" + score),
              onclick: () => {
                draft.score = score;
                draft.error = "";
                renderSoon();
                queueMicrotask(() =>
                  dom.body.querySelector(".hd-star[aria-pressed='true']")?.focus(),
                );
              },
            },
            icon("star"),
          ),
        );
        const comment = h("textarea", {
          class: "hd-rating__comment",
          rows: "2",
          maxlength: "2000",
          placeholder: t("rateComment"),
          "aria-label": t("rateComment"),
          oninput: () => (draft.comment = comment.value),
        });
        comment.value = draft.comment;
        return h(
          "form",
          {
            class: "hd-card hd-rating",
            "aria-labelledby": "hd-rating-title",
            onsubmit: (event) => {
              event.preventDefault();
              sendRating(conversation);
            },
          },
          h("p", { class: "hd-rating__title", id: "hd-rating-title", text: t("rateTitle") }),
          h("div", { class: "hd-stars", role: "group", "aria-label": t("rateStars") }, stars),
          comment,
          draft.error
            ? h("p", { class: "hd-field-error", role: "alert", text: draft.error })
            : null,
          h(
            "div",
            { class: "hd-card__actions" },
            h("button", {
              class: "hd-button",
              type: "submit",
              disabled: draft.busy,
              text: t("rateSend"),
            }),
            h("button", {
              class: "hd-link",
              type: "button",
              text: t("notNow"),
              onclick: () => skipRating(conversation),
            }),
          ),
        );
      },
    };
  }

  // --- Help articles (views) -----------------------------------------------------------------

  // What an article body may hold (the server's allow-list: helpcenter/rendering.py), and
  // what a search snippet may (<mark> only). Anything else is dropped, keeping its text.
  const ARTICLE_TAGS = new Set(
    "H2 H3 H4 H5 H6 P BR HR STRONG EM S DEL CODE PRE BLOCKQUOTE UL OL LI A IMG TABLE THEAD TBODY TR TH TD".split(" "),
  );
  const SNIPPET_TAGS = new Set(["MARK"]);
  const DROPPED_WITH_CONTENT = new Set(["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "SVG"]);
  const SAFE_URL = /^(https?:|mailto:|tel:)/i;

  /** Sanitized HTML from the server, copied through an allow-list: an inert parse
   * (DOMParser runs no script and loads nothing), then new elements with only safe links. */
  function safeFragment(html, allowed) {
    const parsed = new DOMParser().parseFromString(String(html || ""), "text/html");
    const copy = (source) => {
      const fragment = document.createDocumentFragment();
      for (const node of source.childNodes) {
        if (node.nodeType === Node.TEXT_NODE) {
          fragment.append(node.data);
        } else if (node.nodeType === Node.ELEMENT_NODE && !DROPPED_WITH_CONTENT.has(node.tagName)) {
          if (!allowed.has(node.tagName)) {
            fragment.append(copy(node));
            continue;
          }
          const element = document.createElement(node.tagName.toLowerCase());
          const url = (name) => {
            const value = node.getAttribute(name);
            if (!value) return null;
            const absolute = new URL(value, BASE).href;
            return SAFE_URL.test(absolute) ? absolute : null;
          };
          if (node.tagName === "A" && url("href")) {
            element.href = url("href");
            element.target = "_blank";
            element.rel = "noopener nofollow";
          }
          if (node.tagName === "IMG") {
            if (!url("src")) continue;
            element.src = url("src");
            element.alt = node.getAttribute("alt") || "";
          }
          element.append(copy(node));
          fragment.append(element);
        }
      }
      return fragment;
    };
    return copy(parsed.body);
  }

  function buildHelpSearch() {
    dom.helpInput = h("input", {
      class: "hd-search__input",
      type: "search",
      id: "hd-help-q",
      maxlength: String(MAX_QUERY_CHARS),
      autocomplete: "off",
      placeholder: t("searchPlaceholder"),
      oninput: () => searchHelpSoon(dom.helpInput.value),
    });
    dom.helpStatus = h("p", { class: "hd-search__status", role: "status" });
    return h(
      "form",
      {
        class: "hd-search",
        role: "search",
        onsubmit: (event) => {
          event.preventDefault();
          clearTimeout(helpTimer);
          searchHelp(dom.helpInput.value.trim());
        },
      },
      h("label", { class: "hd-search__label", for: "hd-help-q", text: t("searchLabel") }),
      h(
        "div",
        { class: "hd-search__row" },
        dom.helpInput,
        h("button", { class: "hd-send", type: "submit", "aria-label": t("search") }, icon("search")),
      ),
      dom.helpStatus,
    );
  }

  function articleButton(article, from) {
    return h(
      "li",
      {},
      h(
        "button",
        {
          class: "hd-row hd-article-row",
          type: "button",
          onclick: () => openArticle(article.id, from),
        },
        h(
          "span",
          { class: "hd-row__main" },
          h("span", { class: "hd-row__who", text: article.title }),
          h("span", { class: "hd-row__preview" }, safeFragment(article.snippet, SNIPPET_TAGS)),
        ),
        icon("chevron", "hd-row__chevron"),
      ),
    );
  }

  function renderHelp() {
    const help = state.help;
    if (!dom.helpForm) dom.helpForm = buildHelpSearch();
    const results = help.results || [];
    const searched = Boolean(help.searchedFor);
    const items = [{ key: "search", sig: "search", build: () => dom.helpForm }];
    if (results.length) {
      items.push({
        key: "results",
        sig: JSON.stringify([help.searchedFor, results.map((article) => article.id)]),
        build: () =>
          h(
            "section",
            { class: "hd-list" },
            searched
              ? null
              : h("h3", { class: "hd-list__title", text: t("popularArticles") }),
            h(
              "ul",
              { class: "hd-list__items" },
              results.map((article) => articleButton(article, "help")),
            ),
          ),
      });
    }
    reconcile(dom.body, items);
    let status = "";
    if (help.error) status = help.error;
    else if (help.loading && help.results === null) status = t("loading");
    else if (searched && !results.length) status = t("noResults");
    else if (searched) {
      status = results.length === 1 ? t("resultsOne") : t("resultsMany", { n: results.length });
    }
    if (dom.helpStatus.textContent !== status) dom.helpStatus.textContent = status;
  }

  function renderArticle() {
    const article = state.article || {};
    const vote = state.votes.get(article.id);
    const sig = JSON.stringify([article.id, article.updated_at, article.error, vote]);
    reconcile(dom.body, [{ key: "article", sig, build: () => articleView(article, vote) }]);
  }

  function articleView(article, vote) {
    if (article.loading) return h("p", { class: "hd-loading", text: t("loading") });
    if (article.error) return h("p", { class: "hd-field-error", role: "alert", text: article.error });
    const writeToUs = h("button", {
      class: "hd-button",
      type: "button",
      text: t("writeToUs"),
      onclick: () => openThread(state.articleFrom === "thread" ? state.current ?? NEW : NEW),
    });
    const feedback =
      vote === undefined
        ? h(
            "div",
            { class: "hd-card hd-answered", role: "group", "aria-labelledby": "hd-answered" },
            h("p", { class: "hd-rating__title", id: "hd-answered", text: t("answered") }),
            h(
              "div",
              { class: "hd-answered__buttons" },
              h("button", {
                class: "hd-button",
                type: "button",
                text: t("yes"),
                onclick: () => voteArticle(article, true),
              }),
              h("button", {
                class: "hd-button hd-button--quiet",
                type: "button",
                text: t("no"),
                onclick: () => voteArticle(article, false),
              }),
            ),
          )
        : h(
            "div",
            { class: "hd-card hd-answered", role: "status" },
            h("p", { text: vote ? t("votedYes") : t("votedNo") }),
            vote ? null : writeToUs,
          );
    return h(
      "article",
      { class: "hd-article", lang: article.language || LANG },
      h("h3", { class: "hd-article__title", tabindex: "-1", text: article.title }),
      h("div", { class: "hd-article__body" }, safeFragment(article.body_html, ARTICLE_TAGS)),
      h("a", {
        class: "hd-article__link",
        href: article.url,
        target: "_blank",
        rel: "noopener",
        text: t("openInHelpCenter"),
      }),
      feedback,
    );
  }

  function renderSuggestions() {
    const shown = wantsSuggestions() ? state.suggestions : [];
    const sig = shown.map((article) => article.id).join(",");
    if (dom.suggestions.dataset.sig === sig) return;
    dom.suggestions.dataset.sig = sig;
    if (!shown.length) {
      dom.suggestions.replaceChildren();
      return;
    }
    dom.suggestions.replaceChildren(
      h("p", { class: "hd-suggest__title", id: "hd-suggest-title", text: t("suggestionsTitle") }),
      h(
        "ul",
        { class: "hd-suggest__list", "aria-labelledby": "hd-suggest-title" },
        shown.map((article) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                class: "hd-suggest__item",
                type: "button",
                onclick: () => openArticle(article.id, "thread"),
              },
              icon("book"),
              h("span", { text: article.title }),
            ),
          ),
        ),
      ),
    );
  }

  function renderTyping() {
    const typing = state.typing.get(state.current);
    const visible = state.view === "thread" && typing && typing.until > Date.now();
    const text = visible ? t("typing", { name: typing.name }) : "";
    if (dom.typing.dataset.text === text) return;
    dom.typing.dataset.text = text;
    dom.typing.replaceChildren();
    if (visible) {
      dom.typing.append(
        h("span", { class: "hd-typing__dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
        h("span", { text }),
      );
    }
  }

  // --- Start -----------------------------------------------------------------------------------

  async function start() {
    [client] = await Promise.all([clientModule, loadStrings()]);
    ({ uuid, h, avatar } = client);
    api = makeApi(client);
    connection = makeConnection(client);
    makeFormats();
    buildSkeleton();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState !== "visible") return;
      if (store.token && !connection.socket) connection.reconnectNow();
      if (state.view === "thread" && typeof state.current === "number") markRead(state.current);
    });
    window.addEventListener("online", () => store.token && connection.reconnectNow());
    window.addEventListener("pagehide", saveStore); // the last cursor, not yet written
    // Another tab of this site started a session: share it.
    window.addEventListener("storage", (event) => {
      if (event.key !== STORE_KEY) return;
      const other = readJson(storage("localStorage"), STORE_KEY);
      if (other.token && other.token !== store.token && other.identifier === store.identifier) {
        Object.assign(store, { token: other.token, customer: other.customer });
        connection.reconnectNow();
        if (state.open) loadConversations();
      }
    });

    if (IDENTIFIER && !hasSession()) ensureSession().catch(() => {});
    else connection.connect(); // with a token only
    followHistory();
    reportPageview();
    scheduleInvitation();

    if (typeof tab.current === "number" && store.token) {
      state.view = "thread";
      state.current = tab.current;
    }
    if (tab.open) openPanel();
    renderSoon();
  }

  const started = new Promise((resolve) => {
    const go = () =>
      start().then(resolve, (error) => {
        console.warn("Helpdesk widget: could not start (is " + CLIENT_URL + " served?)", error);
      });
    if (document.body) go();
    else document.addEventListener("DOMContentLoaded", go, { once: true });
  });

  // The page's own buttons may call these before the widget has started: they wait for it.
  window.HelpdeskWidget = {
    open: () => void started.then(openPanel),
    close: () => void started.then(closePanel),
    toggle: () => void started.then(() => (state.open ? closePanel() : openPanel())),
    identify: (attributes) => started.then(() => identify(attributes)),
  };
})();

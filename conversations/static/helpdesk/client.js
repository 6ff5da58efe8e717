/*
 * What every page of the helpdesk needs to talk to it, written once: the JSON request with
 * the API's error shape, and the live socket that resumes from its cursor after a drop.
 * Used by the customer widget (helpdesk/widget.js), the agent workspace (agents/workspace.js)
 * and the reports page (reports/dashboard.js). Plain JavaScript, no build step, no library.
 *
 * How it loads: it is an ES module, so nothing here is a global of the page.
 * - The staff pages are modules themselves (<script type="module">) and import it;
 *   templates/staff_page.html names it in a <link rel="modulepreload">, so the browser fetches
 *   it alongside the page's script instead of after reading that script's import.
 * - The widget stays the one classic <script> tag a shop pastes into its pages, on any
 *   origin. It loads this file with import() from beside its own URL, started as the widget's
 *   script runs and awaited together with its string catalog: no extra round trip before the
 *   widget shows. A module from another origin is fetched with CORS, and /static/ answers with
 *   `Access-Control-Allow-Origin: *` (WhiteNoise's default, WHITENOISE_ALLOW_ALL_ORIGINS;
 *   tests/conversations/test_widget_page.py holds it), without cookies: a proxy or CDN in
 *   front of /static/ must keep that header. The widget's own API calls still say
 *   `credentials: "omit"`: its token is the credential, never the shop's cookies.
 * Bodies and names from the server only ever go in as text: this file never parses HTML.
 */

// --- HTTP: JSON in and out, errors as ApiError ------------------------------------------------

/** An API failure: the HTTP status (0: no answer), and the API's {"error": {code, message,
 * fields}} (shared/API.md). */
export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || {};
    // Worth retrying (with the same client_id): the server may not have seen the request.
    this.retryable = status === 0 || status === 429 || status >= 500;
  }
}

/**
 * `api(method, path, body)` for one API: resolves the answer's JSON (null when empty), rejects
 * with an ApiError.
 *   base         prefix of every path
 *   credentials  fetch's: "same-origin" (the session cookie) or "omit" (a token instead)
 *   headers      (method, path) => extra headers (language, CSRF, Authorization)
 *   networkError () => the message when the helpdesk cannot be reached (default: the browser's)
 *   failed       (response) => the message when an error answer has none of its own
 *   onError      (error, path) => seen before the call rejects (a 401 ends a session)
 */
export function jsonApi({ base, credentials = "same-origin", headers, networkError, failed, onError }) {
  return async function api(method, path, body) {
    const sent = { Accept: "application/json", ...headers?.(method, path) };
    if (body !== undefined) sent["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(base + path, {
        method,
        headers: sent,
        credentials,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw new ApiError(0, "network", networkError ? networkError() : cause.message);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      /* an empty or non-JSON answer (a proxy's error page) */
    }
    if (response.ok) return data;
    const error = data?.error || {};
    const message = error.message || (failed ? failed(response) : response.statusText || String(response.status));
    const failure = new ApiError(response.status, error.code || "error", message, error.fields);
    onError?.(failure, path);
    throw failure;
  };
}

/** The staff pages' API: the session cookie, CSRF on writes, the page's language. */
export function staffApi(base, options) {
  return jsonApi({
    base,
    headers: (method) => {
      const headers = { "Accept-Language": document.documentElement.lang || "en" };
      if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
      return headers;
    },
    ...options,
  });
}

/** Django's CSRF token: the page's own form field, else the cookie. */
export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** An error in words: the message, then what the fields say when it adds anything. */
export function errorText(error) {
  const message = String(error?.message ?? error);
  const fields = Object.values(error?.fields || {})
    .flat()
    .filter((value) => typeof value === "string");
  return fields.length && !fields.includes(message) ? `${message} (${fields.join(" ")})` : message;
}

/** A v4 UUID (client_id); crypto.randomUUID needs a secure context, plain http gets one from
 * random bytes. */
export function uuid() {
  if (window.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- Numbers ----------------------------------------------------------------------------------------

/** Percentages as the language writes them: "24.6%" in English, "%24,6" in Turkish, "24,6 %"
 * in French (Intl knows where the sign goes). The formatter takes percent (0–100), as the API
 * gives them; every page shows percentages through it. */
export function percentFormat(lang, maximumFractionDigits = 1) {
  const format = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits });
  return (value) => format.format(value / 100);
}

// --- DOM ------------------------------------------------------------------------------------------

/** An element: props are attributes, except class, text (textContent, never HTML), dataset
 * and on<event> listeners; children are nodes or text. */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An agent's avatar: the initials and colour the server gives every agent (conversations/
 * people.py decides both), else `fallback` initials on the page's own colours. Decorative:
 * the name is always written beside it. The colour goes through the CSSOM, which the pages'
 * Content-Security-Policy allows (a style attribute it would block). */
export function avatar(person, fallback, className) {
  const shown = person?.avatar;
  const element = h("span", { class: className, "aria-hidden": "true", text: shown?.initials || fallback });
  if (shown?.color) {
    element.style.backgroundColor = shown.color;
    element.style.color = "#fff";
  }
  return element;
}

// --- The live socket -------------------------------------------------------------------------------

const PING_EVERY_MS = 25000;
const SILENCE_LIMIT_MS = 60000; // no frame at all (not even a pong) for this long: half-open
const MAX_DELAY_MS = 30000;
const SEEN_KEPT = 5000;

/** A websocket URL (ws: or wss:, as the page or `path`'s own scheme is) for a path or URL. */
export function socketUrl(path) {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

/**
 * The helpdesk's websocket, kept open (shared/API.md "Websockets", STYLE.md "Live updates"):
 * on open it sends {"type": "resume", "after": <last cursor>} and is live once "resumed"
 * comes; it drops any event whose cursor it has seen; it pings every 25 s and treats a minute
 * of silence as a dead socket; after a drop it reconnects with backoff (1 s … 30 s, jittered),
 * resuming from its cursor, and meanwhile `poll` keeps the page current through REST.
 *
 *   url         () => the socket's URL, or null while there is nothing to connect with
 *   resume      false: a socket that only listens (no cursors); live as soon as it opens
 *   cursor      () => the last cursor seen (the page keeps it, in memory or in storage)
 *   onCursor    (cursor) => a higher cursor was seen: keep it
 *   onFrame     (frame) => every frame but pong and resumed; a cursored event only once
 *   onLive      (live) => the socket went live (resumed) or down
 *   onResumed   (frame, {after, reconnected}) => resumed after `after` (null: "from now");
 *               `reconnected`: after a drop
 *   onClose     (event) => a socket closed unasked; return false to stay closed (4401)
 *   poll, pollEveryMs  called every pollEveryMs while the socket is down after a drop
 *
 * Returns {connect(), reconnectNow(), close(), send(frame), forget(), socket, live}.
 */
export function liveConnection({
  url,
  resume = true,
  cursor = () => null,
  onCursor = () => {},
  onFrame = () => {},
  onLive = () => {},
  onResumed = () => {},
  onClose = () => {},
  poll = null,
  pollEveryMs = 10000,
}) {
  let socket = null;
  let live = false;
  let attempts = 0;
  let reconnectTimer = null;
  let pingTimer = null;
  let pollTimer = null;
  let lastFrameAt = 0;
  let resumedAfter = null; // the cursor sent with "resume"
  let floor = 0; // events at or below it were seen before the resume
  const seen = new Set();

  function connect() {
    if (socket || !("WebSocket" in window)) return;
    const address = url();
    if (!address) return;
    clearTimeout(reconnectTimer);
    const ws = new WebSocket(address);
    socket = ws;
    ws.addEventListener("open", () => {
      lastFrameAt = Date.now();
      if (resume) {
        resumedAfter = cursor() ?? null;
        floor = resumedAfter ?? 0;
        ws.send(JSON.stringify({ type: "resume", after: resumedAfter }));
      } else {
        setLive(true);
      }
      startPing(ws);
    });
    ws.addEventListener("message", (message) => {
      lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      receive(frame);
    });
    ws.addEventListener("close", (event) => closed(ws, event));
  }

  function closed(ws, event) {
    if (socket !== ws) return; // one that was replaced or closed on purpose
    socket = null;
    clearInterval(pingTimer);
    setLive(false);
    if (onClose(event) === false) return;
    const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** attempts++) * (0.5 + Math.random() / 2);
    reconnectTimer = setTimeout(connect, delay);
    if (poll && !pollTimer) pollTimer = setInterval(() => (live ? stopPolling() : poll()), pollEveryMs);
  }

  /** Stop for good (until connect()): a new session, the customer signed out. */
  function close() {
    const ws = socket;
    socket = null;
    clearInterval(pingTimer);
    clearTimeout(reconnectTimer);
    stopPolling();
    if (ws) ws.close(1000);
    setLive(false);
  }

  /** Reconnect at once, backoff reset (the network is back, the tab is visible again). */
  function reconnectNow() {
    if (socket && socket.readyState <= WebSocket.OPEN) return;
    attempts = 0;
    socket = null;
    connect();
  }

  function startPing(ws) {
    clearInterval(pingTimer);
    pingTimer = setInterval(() => {
      if (Date.now() - lastFrameAt > SILENCE_LIMIT_MS) {
        ws.close(4000); // half-open: no pong for too long
        closed(ws, { code: 4000 });
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
    }, PING_EVERY_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function setLive(now) {
    live = now;
    if (now) {
      attempts = 0;
      stopPolling();
    }
    onLive(now);
  }

  function receive(frame) {
    if (frame.type === "pong") return;
    if (frame.type === "resumed") {
      const reconnected = attempts > 0;
      if (typeof frame.cursor === "number") noteCursor(frame.cursor);
      setLive(true);
      onResumed(frame, { after: resumedAfter, reconnected });
      return;
    }
    if (typeof frame.cursor === "number") {
      if (frame.cursor <= floor || seen.has(frame.cursor)) return; // seen already
      seen.add(frame.cursor);
      if (seen.size > SEEN_KEPT) seen.delete(seen.values().next().value);
      noteCursor(frame.cursor);
    }
    onFrame(frame);
  }

  function noteCursor(value) {
    const known = cursor();
    if (known == null || value > known) onCursor(value);
  }

  return {
    connect,
    reconnectNow,
    close,
    /** Send a frame if the socket is open; says whether it was. */
    send(frame) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(frame));
      return true;
    },
    /** Forget the cursors seen (another customer starts over). */
    forget() {
      seen.clear();
      floor = 0;
    },
    get socket() {
      return socket;
    },
    get live() {
      return live;
    },
  };
}

// --- Files (docs/attachments.md) ------------------------------------------------------------------
// The widget and the workspace attach files the same way: a button, drag and drop, paste.

/** POST a message with files as multipart/form-data (`fields` and `files`), telling the upload's
 * progress (0–1) to `onProgress`, which fetch cannot. Resolves the answer's JSON, rejects with
 * an ApiError, as jsonApi's calls do. */
export function uploadMessage({ url, fields, files, headers, onProgress, networkError }) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value != null) form.append(name, String(value));
  for (const file of files) form.append("files", file, file.name);
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url); // no cookies cross-origin (the widget): its token is the credential
    for (const [name, value] of Object.entries(headers || {})) request.setRequestHeader(name, value);
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = (event) => event.lengthComputable && onProgress?.(event.loaded / event.total);
    request.onerror = () => reject(new ApiError(0, "network", networkError ? networkError() : "Network error"));
    request.onload = () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch {
        /* an empty or non-JSON answer */
      }
      if (request.status >= 200 && request.status < 300) return resolve(data);
      const error = data?.error || {};
      reject(new ApiError(request.status, error.code || "error", error.message || request.statusText, error.fields));
    };
    request.send(form);
  });
}

/** "1.4 MB", "820 KB" in the page's language. */
export function fileSize(bytes, lang) {
  const [unit, value] = bytes >= 1e6 ? ["megabyte", bytes / 1e6] : ["kilobyte", Math.max(bytes / 1e3, 0.1)];
  return new Intl.NumberFormat(lang, { style: "unit", unit, maximumFractionDigits: 1 }).format(value);
}

/** A message's files: images as thumbnails that open the whole file, other files as a chip
 * with name and size that downloads it. Links are relative to `base` (the helpdesk). A thread
 * scrolled to its end stays there as images arrive (`scroller`, the thread's element). */
export function attachmentList(attachments, { base, lang, prefix = "", scroller }) {
  if (!attachments?.length) return null;
  const link = (path) => new URL(path, base).href;
  return h(
    "div",
    { class: `${prefix}files` },
    attachments.map((file) =>
      file.thumbnail_url
        ? h(
            "a",
            { class: `${prefix}file ${prefix}file--image`, href: link(file.url), target: "_blank", rel: "noopener" },
            h("img", {
              src: link(file.thumbnail_url),
              alt: file.name,
              onload: (event) => scroller && keepAtEnd(scroller, event.target.offsetHeight),
            }),
          )
        : h(
            "a",
            { class: `${prefix}file`, href: link(file.url), download: file.name, rel: "noopener" },
            h("span", { class: `${prefix}file__name`, text: file.name }),
            h("span", { class: `${prefix}file__size`, text: fileSize(file.size, lang) }),
          ),
    ),
  );
}

function keepAtEnd(scroller, grownBy) {
  const fromEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
  if (fromEnd - grownBy < 80) scroller.scrollTop = scroller.scrollHeight;
}

/** Files waiting to go with the next message: chosen with `button`, dropped on `zone` or
 * pasted into `input`, listed in `list` (each with a remove button). `onChange(count)` is told
 * of every change; `take()` hands them over and empties the list. */
export function pendingFiles({ zone, input, button, list, removeLabel, lang, prefix = "", onChange }) {
  const files = [];
  const picker = h("input", { type: "file", multiple: true, hidden: true, tabindex: "-1" });
  picker.addEventListener("change", () => {
    add([...picker.files]);
    picker.value = "";
  });
  button.after(picker);
  button.addEventListener("click", () => picker.click());
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  zone.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    zone.classList.add(`${prefix}is-dropping`);
  });
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove(`${prefix}is-dropping`);
  });
  zone.addEventListener("drop", (event) => {
    zone.classList.remove(`${prefix}is-dropping`);
    if (!event.dataTransfer?.files?.length) return;
    event.preventDefault();
    add([...event.dataTransfer.files]);
  });
  input.addEventListener("paste", (event) => {
    const pasted = [...(event.clipboardData?.files || [])];
    if (!pasted.length) return;
    event.preventDefault(); // an image pasted: a file, not its name as text
    add(pasted);
  });

  function add(more) {
    files.push(...more);
    show();
  }

  function show() {
    list.replaceChildren(
      ...files.map((file, index) =>
        h(
          "li",
          { class: `${prefix}pending-file` },
          h("span", { class: `${prefix}file__name`, text: file.name }),
          h("span", { class: `${prefix}file__size`, text: fileSize(file.size, lang) }),
          h("button", {
            type: "button",
            class: `${prefix}pending-file__remove`,
            "aria-label": removeLabel.replace("{name}", file.name),
            text: "×",
            onclick: () => {
              files.splice(index, 1);
              show();
              input.focus();
            },
          }),
        ),
      ),
    );
    list.hidden = !files.length;
    onChange?.(files.length);
  }

  return {
    add,
    take() {
      const taken = files.splice(0);
      show();
      return taken;
    },
    get count() {
      return files.length;
    },
  };
}

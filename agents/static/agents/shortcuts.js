/*
 * Keyboard shortcuts of the workspace (docs/workspace.md "Keys"); `?` lists them in a dialog.
 *
 * j / k move a cursor over the inbox rows (focus follows it), Enter or o opens the row, x ticks
 * it for a bulk action, r and n go to the reply box (n: as a private note), e resolves and
 * a assigns to oneself the open conversation, g then v goes to the views, / to the search.
 * None fires while typing in a field, with Ctrl, Alt or Meta held, or under an open dialog.
 */

const SEQUENCE_MS = 1500; // g, then v within this time

export function installShortcuts(ws) {
  const $ = (id) => document.getElementById(id);
  const dialog = $("shortcuts-dialog");
  if (!dialog) return;
  const { state, hooks } = ws;
  let cursor = null; // the inbox row j / k are on (a conversation id)
  let pending = null; // "g" pressed, waiting for its second key
  let pendingTimer = null;

  function typing(target) {
    return target instanceof HTMLElement && (target.isContentEditable || target.closest("input, textarea, select, [contenteditable]"));
  }

  function rowOf(id) {
    return document.querySelector(`#conversation-list .conv[data-id="${id}"]`);
  }

  function moveCursor(step) {
    if (!state.listed.length) return;
    const from = state.listed.indexOf(cursor ?? state.currentId);
    const index = from === -1 ? 0 : Math.min(Math.max(from + step, 0), state.listed.length - 1);
    cursor = state.listed[index];
    paintCursor({ focus: true });
  }

  function paintCursor({ focus = false } = {}) {
    for (const row of document.querySelectorAll("#conversation-list .conv[data-cursor]")) delete row.dataset.cursor;
    const row = cursor != null && rowOf(cursor);
    if (!row) return;
    row.dataset.cursor = "true";
    if (focus) {
      row.querySelector("a").focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  // The inbox is drawn anew on every change: the cursor follows, and so does the focus when
  // it was on the inbox (a removed element leaves the focus on <body>).
  let inboxFocused = false;
  document.addEventListener("focusin", (event) => {
    inboxFocused = Boolean(event.target.closest?.("#conversation-list"));
  });
  const afterRender = hooks.afterRender;
  hooks.afterRender = (list) => {
    afterRender?.(list);
    paintCursor({ focus: inboxFocused && document.activeElement === document.body });
  };

  function composer(privateNote) {
    if (!state.currentId) return;
    const toggle = $("private-toggle");
    if (toggle.checked !== privateNote) toggle.click(); // its own listener restyles the box
    $("composer-input").focus();
  }

  function goToViews() {
    const first = document.querySelector("#saved-views-list .saved-view-open") || $("save-view");
    first?.focus();
  }

  const keys = {
    "?": () => dialog.showModal(),
    j: () => moveCursor(1),
    k: () => moveCursor(-1),
    o: () => cursor != null && ws.open(cursor),
    Enter: () => cursor != null && document.activeElement === document.body && ws.open(cursor),
    x: () => {
      const id = cursor ?? state.currentId;
      if (id != null && state.listed.includes(id)) hooks.toggleSelected?.(id);
    },
    r: () => composer(false),
    n: () => composer(true),
    e: () => state.currentId && $("resolve").click(),
    a: () => state.currentId && $("assign-me").click(),
    "/": () => $("inbox-filters").elements.q.focus(),
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    if (pending === "g") {
      pending = null;
      clearTimeout(pendingTimer);
      if (event.key === "v") {
        event.preventDefault();
        goToViews();
      }
      return;
    }
    if (event.key === "g") {
      pending = "g";
      pendingTimer = setTimeout(() => (pending = null), SEQUENCE_MS);
      return;
    }
    const action = keys[event.key];
    if (!action) return;
    if (event.key === "Enter" && document.activeElement !== document.body) return; // a button's own Enter
    event.preventDefault();
    action();
  });

  // A row opened by click or key becomes the cursor, so j / k go on from there.
  document.getElementById("conversation-list").addEventListener("focusin", (event) => {
    const row = event.target.closest(".conv");
    if (row) {
      cursor = Number(row.dataset.id);
      paintCursor();
    }
  });

  // Esc in the reply box (no canned responses open) hands the keys back to the inbox.
  $("composer-input").addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented || !$("canned-picker").hidden) return;
    event.target.blur();
    paintCursor({ focus: true });
  });

  $("shortcuts-close").addEventListener("click", () => dialog.close());
  $("shortcuts-button")?.addEventListener("click", () => dialog.showModal());
  window.hdShortcuts = { cursor: () => cursor };
}

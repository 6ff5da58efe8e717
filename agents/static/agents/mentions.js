/*
 * The mention picker of the reply box (docs/workspace.md "Mentions"): in a private note, "@"
 * opens the list of the agents who may read the conversation (GET /api/v1/agents?conversation=);
 * typing filters it, ↑ ↓ choose, Enter or Tab inserts "@handle ", Esc closes. The handle is the
 * part of the agent's email before the "@" when no other agent of the list shares it, else the
 * whole address: the server reads exactly that syntax (conversations/mentions.py).
 *
 * Its keys are handled before the reply box's own (a capturing listener), so Enter picks
 * rather than sends while the list is open.
 */
import { h } from "../helpdesk/client.js";

// An "@" at the start or after a space or an opening bracket, then what is typed of a handle.
const TYPED = /(?:^|[\s(\[{"'])@([\w.%+\-@]*)$/u;
const SHOWN = 8;

export function attachMentionPicker({ api, me, input, privateToggle, picker, conversation }) {
  const strings = JSON.parse(document.getElementById("alerts-strings").textContent);
  const cache = new Map(); // conversation id → its readers
  let items = [];
  let index = 0;
  let typed = null; // {start, query} of the "@…" before the caret

  async function readers(conversationId) {
    if (!cache.has(conversationId)) {
      cache.set(
        conversationId,
        api("GET", `agents?conversation=${conversationId}`)
          .then((data) => data.results || [])
          .catch(() => {
            cache.delete(conversationId); // try again next time
            return [];
          }),
      );
    }
    return cache.get(conversationId);
  }

  function handleOf(agent, agents) {
    const local = agent.email.split("@")[0].toLowerCase();
    const shared = agents.filter((other) => other.email.split("@")[0].toLowerCase() === local).length > 1;
    return shared ? agent.email.toLowerCase() : local;
  }

  function typedBeforeCaret() {
    if (!privateToggle.checked || input.selectionStart !== input.selectionEnd) return null;
    const before = input.value.slice(0, input.selectionStart);
    const match = TYPED.exec(before);
    return match ? { start: before.length - match[1].length - 1, query: match[1].toLowerCase() } : null;
  }

  async function update() {
    typed = typedBeforeCaret();
    const conversationId = conversation();
    if (!typed || !conversationId) return close();
    const agents = await readers(conversationId);
    typed = typedBeforeCaret(); // what is typed now, not when the list was asked for
    if (!typed || conversationId !== conversation()) return close();
    const query = typed.query;
    items = agents
      .filter((agent) => agent.email && agent.id !== me.id) // mentioning yourself does nothing
      .filter((agent) => !query || agent.name.toLowerCase().includes(query) || agent.email.toLowerCase().startsWith(query))
      .slice(0, SHOWN)
      .map((agent) => ({ agent, handle: handleOf(agent, agents) }));
    index = Math.min(index, Math.max(items.length - 1, 0));
    render();
  }

  function render() {
    const options = items.map((item, position) =>
      h(
        "li",
        {
          role: "option",
          id: `mention-${item.agent.id}`,
          "aria-selected": position === index ? "true" : "false",
          dataset: { handle: item.handle },
          onmousedown: (event) => {
            event.preventDefault(); // keep the focus in the reply box
            pick(item);
          },
        },
        h("span", { class: "shortcut", text: `@${item.handle}` }),
        h("span", { class: "text", text: item.agent.name }),
      ),
    );
    if (!options.length) options.push(h("li", { class: "none", text: strings.no_colleague }));
    else options.push(h("li", { class: "hint", "aria-hidden": "true", text: strings.mention_hint }));
    picker.replaceChildren(...options);
    picker.hidden = false;
    input.setAttribute("aria-activedescendant", items[index] ? `mention-${items[index].agent.id}` : "");
    picker.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest" });
  }

  function close() {
    if (picker.hidden) return;
    picker.hidden = true;
    items = [];
    index = 0;
    input.removeAttribute("aria-activedescendant");
  }

  function pick(item) {
    const caret = input.selectionStart;
    const start = typed ? typed.start : caret;
    const inserted = `@${item.handle} `;
    input.value = input.value.slice(0, start) + inserted + input.value.slice(caret);
    const after = start + inserted.length;
    input.setSelectionRange(after, after);
    close();
    input.focus();
    input.dispatchEvent(new Event("input", { bubbles: true })); // the box grows, the count follows
  }

  input.addEventListener(
    "keydown",
    (event) => {
      if (picker.hidden) return;
      let handled = true;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        const step = event.key === "ArrowDown" ? 1 : -1;
        index = (index + step + items.length) % Math.max(items.length, 1);
        render();
      } else if ((event.key === "Enter" || event.key === "Tab") && items[index]) pick(items[index]);
      else if (event.key === "Escape") close();
      else handled = false;
      if (handled) {
        event.preventDefault();
        event.stopImmediatePropagation(); // not the reply box's Enter (send)
      }
    },
    { capture: true },
  );
  input.addEventListener("input", update);
  input.addEventListener("click", update);
  // Closed when the focus moves elsewhere in the page (the window losing it keeps the list).
  input.addEventListener("blur", () => setTimeout(() => document.activeElement !== input && close(), 150));
  privateToggle.addEventListener("change", update);

  return { close, update };
}

/*
 * The workspace's saved views and bulk actions (docs/workspace.md "Views", "Bulk actions").
 *
 * Views: the inbox sidebar lists the agent's views and their teams' shared ones with their
 * counts (GET /api/v1/views), refreshed when live events arrive (at most every
 * COUNTS_EVERY_MS) and after a bulk action. Choosing one shows GET /conversations?view={id};
 * the filter form then narrows it (its values replace the view's). "Save view" stores the
 * current tab and filters, for oneself or a team.
 *
 * Bulk: a checkbox on each row (Shift+click selects a range) shows the bulk bar: assign to me
 * or an agent, resolve, add a label, snooze; POST /api/v1/conversations/bulk answers each
 * conversation's outcome, and the refusals are said with their reasons.
 *
 * Hooked into workspace.js through `hooks` (viewQuery, viewMatches, ordering, afterRender,
 * onEvent); user text goes in with textContent only.
 */
import { h } from "../helpdesk/client.js";

const COUNTS_EVERY_MS = 5000; // live events refresh the counts at most this often
const COUNTS_POLL_MS = 60000; // and this often anyway (counts also move by others' filters)
const SERVER_ONLY = ["q", "attribute", "callback", "mentioned"]; // filters the page cannot check
const FILTER_NAMES = ["status", "assignee", "team", "channel", "label", "priority", "attribute", "callback", "mentioned", "q", "ordering"];

export function installViews(ws) {
  const $ = (id) => document.getElementById(id);
  const root = $("saved-views");
  if (!root) return;
  const S = JSON.parse($("views-strings").textContent);
  const say = (key, params) => {
    let text = S[key] || key;
    for (const [name, value] of Object.entries(params || {})) text = text.replace(`%(${name})s`, value);
    return text;
  };
  const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
  const { state, hooks, api } = ws;
  const views = { list: [], active: null }; // active: the shown view (an object of list)
  const selected = new Set(); // conversation ids ticked for a bulk action
  let anchor = null; // the last row ticked: Shift+click selects from it

  // --- The views list ----------------------------------------------------------------------

  let countsTimer = null;
  let countsAt = 0;
  async function loadViews() {
    countsAt = Date.now();
    try {
      views.list = (await api("GET", "views")).results || [];
    } catch {
      return; // the sidebar keeps what it showed; the inbox works without it
    }
    if (views.active) views.active = views.list.find((view) => view.id === views.active.id) || null;
    renderViews();
  }

  /** At most one count refresh per COUNTS_EVERY_MS, however many events arrive. */
  function loadViewsSoon() {
    if (countsTimer) return;
    const wait = Math.max(0, countsAt + COUNTS_EVERY_MS - Date.now());
    countsTimer = setTimeout(() => {
      countsTimer = null;
      loadViews();
    }, wait);
  }

  function countText(view) {
    if (view.count == null) return "–";
    return numbers.format(view.count) + (view.count_exact ? "" : "+");
  }

  function renderViews() {
    const list = $("saved-views-list");
    list.replaceChildren(
      ...views.list.map((view) => {
        const current = views.active?.id === view.id;
        const label = view.team ? say("shared_with", { team: view.team.name }) : say("personal");
        return h(
          "li",
          { class: "saved-view", dataset: { id: view.id } },
          h(
            "button",
            {
              type: "button",
              class: "saved-view-open",
              "aria-pressed": current ? "true" : "false",
              title: label,
              onclick: () => (current ? leaveView() : showView(view)),
            },
            h("span", { class: "saved-view-name", text: view.name }),
            view.team ? h("span", { class: "saved-view-team", text: view.team.name }) : null,
            h("span", { class: "saved-view-count", "aria-label": say("count", { count: countText(view) }), text: countText(view) }),
          ),
          view.can_change
            ? h("button", { type: "button", class: "icon-button saved-view-edit", "aria-label": say("edit_view", { name: view.name }), text: "✎", onclick: () => openDialog(view) })
            : null,
        );
      }),
    );
    $("saved-views-empty").hidden = views.list.length > 0;
    $("saved-views-count").textContent = views.list.length ? String(views.list.length) : "";
  }

  function showView(view) {
    views.active = view;
    for (const tab of document.querySelectorAll(".tabs [role=tab]")) tab.setAttribute("aria-selected", "false");
    const form = $("inbox-filters");
    for (const name of ["q", "status", "channel", "label"]) {
      form.elements[name].value = "";
      state.filters[name] = "";
    }
    state.listed = [];
    renderViews();
    ws.reload();
  }

  /** Back to the tabs (a tab was chosen, or the shown view clicked again). */
  function leaveView({ reload = true } = {}) {
    if (!views.active) return;
    views.active = null;
    renderViews();
    if (!reload) return;
    const tab = document.querySelector(`.tabs [data-tab="${state.tab}"]`);
    tab?.setAttribute("aria-selected", "true");
    state.listed = [];
    ws.reload();
  }

  // A tab click leaves the view first (capture: before workspace.js loads the tab).
  document.querySelector(".tabs").addEventListener("click", () => leaveView({ reload: false }), true);

  hooks.viewQuery = (pageSize) => {
    if (!views.active) return null;
    const query = new URLSearchParams({ view: views.active.id, page_size: pageSize });
    for (const name of ["status", "channel", "label", "q"]) {
      if (state.filters[name]) query.set(name, state.filters[name]); // narrows the view
    }
    return query;
  };

  hooks.ordering = () => (views.active ? views.active.filters.ordering || "-last_activity_at" : undefined);

  /** Whether a changed conversation belongs in the shown view, as far as the page can tell. */
  hooks.viewMatches = (conversation) => {
    if (!views.active) return undefined;
    const filters = { ...views.active.filters };
    for (const name of ["status", "channel", "label"]) if (state.filters[name]) filters[name] = state.filters[name];
    const list = (value) => String(value).split(",").map((part) => part.trim()).filter(Boolean);
    if (filters.status && !list(filters.status).includes(conversation.status)) return false;
    if (filters.priority && !list(filters.priority).includes(conversation.priority)) return false;
    if (filters.channel && conversation.channel !== filters.channel) return false;
    if (filters.label && !(conversation.labels || []).some((name) => name.toLowerCase() === filters.label.toLowerCase())) return false;
    const assignee = (filters.assignee || "").trim().toLowerCase();
    if (assignee === "me" && conversation.assignee?.id !== state.me.id) return false;
    if (assignee === "none" && conversation.assignee) return false;
    if (/^\d+$/.test(assignee) && conversation.assignee?.id !== Number(assignee)) return false;
    const team = (filters.team || "").trim().toLowerCase();
    const teamId = conversation.team?.id;
    if (team === "none" && conversation.team) return false;
    if (team === "mine" && !(state.agent?.teams || []).some((mine) => mine.id === teamId)) return false;
    if (/^\d+$/.test(team) && teamId !== Number(team)) return false;
    if (team && !["none", "mine"].includes(team) && !/^\d+$/.test(team) && conversation.team?.name.toLowerCase() !== team) return false;
    // What only the server can tell (a search, an attribute, a mention): keep what it listed.
    if (SERVER_ONLY.some((name) => filters[name])) return state.listed.includes(conversation.id);
    return true;
  };

  hooks.onEvent = (frame) => {
    if (frame.type === "message.created" || frame.type.startsWith("conversation.")) loadViewsSoon();
  };

  // --- Saving and editing a view --------------------------------------------------------------

  /** The filters the inbox shows now: the shown view's with the form's narrowing, or the tab
   * and the form, as the list's query parameters. */
  function currentFilters() {
    const query = ws.inboxQuery();
    const filters = views.active ? { ...views.active.filters } : {};
    for (const name of FILTER_NAMES) if (query.get(name)) filters[name] = query.get(name);
    return filters;
  }

  const dialog = $("view-dialog");
  let editing = null; // the view being edited, or null for a new one

  function describe(filters) {
    const parts = Object.entries(filters).map(([name, value]) => `${S[`filter_${name}`] || name}: ${value}`);
    return parts.length ? parts.join(" · ") : say("no_filters");
  }

  function openDialog(view) {
    editing = view || null;
    const form = $("view-form");
    form.reset();
    $("view-error").hidden = true;
    $("view-dialog-title").textContent = view ? say("edit_title") : say("save_title");
    form.elements.name.value = view ? view.name : "";
    const share = form.elements.team;
    const teams = state.me.is_admin ? state.teams : state.agent?.teams || [];
    share.replaceChildren(h("option", { value: "", text: say("only_me") }), ...teams.map((team) => h("option", { value: team.id, text: say("team_option", { team: team.name }) })));
    share.value = view?.team ? String(view.team.id) : "";
    share.disabled = Boolean(view); // a view stays personal or shared as it was made
    $("view-replace-row").hidden = !view;
    $("view-delete").hidden = !view;
    $("view-filters").textContent = describe(view && !form.elements.replace.checked ? view.filters : currentFilters());
    dialog.showModal();
    form.elements.name.focus();
  }

  $("view-form").elements.replace.addEventListener("change", (event) => {
    $("view-filters").textContent = describe(event.target.checked ? currentFilters() : editing.filters);
  });

  $("save-view").addEventListener("click", () => openDialog(null));
  $("view-cancel").addEventListener("click", () => dialog.close());

  $("view-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { name: form.elements.name.value.trim() };
    if (!editing || form.elements.replace.checked) body.filters = currentFilters();
    if (!editing && form.elements.team.value) body.team = Number(form.elements.team.value);
    try {
      const saved = editing ? await api("PATCH", `views/${editing.id}`, body) : await api("POST", "views", body);
      dialog.close();
      ws.toast(say(editing ? "view_saved" : "view_created", { name: saved.name }));
      await loadViews();
      if (!editing) showView(views.list.find((view) => view.id === saved.id) || saved);
      else if (views.active?.id === saved.id) ws.reload();
    } catch (error) {
      $("view-error").textContent = ws.errorText(error);
      $("view-error").hidden = false;
    }
  });

  $("view-delete").addEventListener("click", async () => {
    if (!editing || !confirm(say("delete_confirm", { name: editing.name }))) return;
    try {
      await api("DELETE", `views/${editing.id}`);
    } catch (error) {
      $("view-error").textContent = ws.errorText(error);
      $("view-error").hidden = false;
      return;
    }
    dialog.close();
    if (views.active?.id === editing.id) leaveView();
    ws.toast(say("view_deleted"));
    loadViews();
  });

  // --- Selecting rows and the bulk bar ---------------------------------------------------------

  hooks.afterRender = (list) => {
    for (const id of [...selected]) if (!state.listed.includes(id)) selected.delete(id);
    for (const row of list.children) {
      const id = Number(row.dataset.id);
      const name = row.querySelector(".who")?.textContent || String(id);
      const box = h("input", {
        type: "checkbox",
        class: "conv-select",
        "aria-label": say("select", { name }),
        onclick: (event) => tick(id, event.target.checked, event.shiftKey),
      });
      box.checked = selected.has(id);
      row.classList.toggle("selected", box.checked);
      row.prepend(box);
    }
    renderBulkBar();
  };

  function tick(id, on, range) {
    const ids = range && anchor != null && state.listed.includes(anchor) ? between(anchor, id) : [id];
    for (const each of ids) on ? selected.add(each) : selected.delete(each);
    anchor = id;
    paintTicks();
  }

  function paintTicks() {
    for (const row of document.querySelectorAll("#conversation-list .conv")) {
      const ticked = selected.has(Number(row.dataset.id));
      row.classList.toggle("selected", ticked);
      const box = row.querySelector(".conv-select");
      if (box) box.checked = ticked;
    }
    renderBulkBar();
  }

  function between(one, two) {
    const [from, to] = [state.listed.indexOf(one), state.listed.indexOf(two)].sort((a, b) => a - b);
    return state.listed.slice(from, to + 1);
  }

  /** x: tick or untick a row (shortcuts.js). */
  hooks.toggleSelected = (id) => tick(id, !selected.has(id), false);

  function renderBulkBar() {
    const bar = $("bulk-bar");
    bar.hidden = selected.size === 0;
    $("bulk-count").textContent = say("selected", { count: numbers.format(selected.size) });
    const agents = $("bulk-agent");
    if (agents.options.length <= 1 && state.agents.length) {
      agents.append(...state.agents.map((agent) => h("option", { value: agent.id, text: agent.name || agent.email })));
    }
  }

  async function bulk(body, done) {
    const ids = state.listed.filter((id) => selected.has(id));
    if (!ids.length) return;
    for (const button of document.querySelectorAll("#bulk-bar button")) button.disabled = true;
    let answer;
    try {
      answer = await api("POST", "conversations/bulk", { ids, ...body });
    } catch (error) {
      ws.toast(ws.errorText(error), "error");
      return;
    } finally {
      for (const button of document.querySelectorAll("#bulk-bar button")) button.disabled = false;
    }
    const refused = [];
    for (const result of answer.results) {
      if (result.ok) {
        selected.delete(result.id);
        ws.apply(result.conversation);
      } else {
        refused.push(`#${result.id}: ${result.error.message}`);
      }
    }
    renderBulkBar();
    const message = say(done, { count: numbers.format(answer.succeeded) });
    if (refused.length) ws.toast(`${message} ${say("refused", { count: refused.length, reasons: refused.join("; ") })}`, "error");
    else ws.toast(message);
    loadViews();
  }

  $("bulk-assign-me").addEventListener("click", () => bulk({ action: "assign", assignee: "me" }, "done_assigned"));
  $("bulk-assign").addEventListener("click", () => {
    const agent = $("bulk-agent").value;
    if (!agent) return $("bulk-agent").focus();
    bulk({ action: "assign", assignee: Number(agent) }, "done_assigned");
  });
  $("bulk-resolve").addEventListener("click", () => bulk({ action: "resolve" }, "done_resolved"));
  $("bulk-label-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const label = $("bulk-label").value.trim();
    if (!label) return $("bulk-label").focus();
    bulk({ action: "label", label }, "done_labelled").then(() => ($("bulk-label").value = ""));
  });
  $("bulk-snooze").addEventListener("click", () => {
    const until = $("bulk-until").value;
    if (!until) return $("bulk-until").focus();
    bulk({ action: "snooze", snoozed_until: new Date(until).toISOString() }, "done_snoozed");
  });
  $("bulk-clear").addEventListener("click", () => {
    selected.clear();
    anchor = null;
    paintTicks();
  });

  // --- Start -----------------------------------------------------------------------------------

  loadViews();
  setInterval(() => document.visibilityState === "visible" && loadViews(), COUNTS_POLL_MS);
  window.hdViews = { views, selected, reload: loadViews };
}

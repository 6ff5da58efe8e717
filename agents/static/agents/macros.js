/*
 * Macros in the agent workspace (docs/workspace.md, "Macros"): a canned reply and actions
 * applied in one step. The "Macros" button next to the reply box, and the macros listed after
 * the canned responses in the "/" picker, open a dialog: search, the list, a preview of what
 * the chosen macro will do (its reply filled in for this conversation, its actions listed)
 * and Apply. POST conversations/{id}/macros/{macro id} applies all of it or nothing.
 *
 * Keys in the dialog: type to filter, ↑ ↓ to choose (the preview follows), Enter moves to
 * Apply (a second Enter applies), Esc closes.
 *
 * It hooks into workspace.js through window.hdWorkspace (api, applyConversation, showMessage,
 * addPickerSource); user-provided text is inserted with textContent only. An ES module.
 */
import { ApiError, errorText as apiErrorText, h, uuid } from "../helpdesk/client.js";

(function () {
  "use strict";

  const workspace = window.hdWorkspace;
  const S = JSON.parse(document.getElementById("macro-strings").textContent);
  const $ = (id) => document.getElementById(id);
  const dialog = $("macro-dialog");
  const search = $("macro-search");

  let macros = null; // every macro the agent may use (GET macros), for the "/" picker
  let shown = []; // the dialog's list: macros with `rendered` for the open conversation
  let highlighted = 0;
  let conversationId = null; // the conversation the dialog was opened for

  function t(key, params) {
    let text = S[key] || key;
    for (const [name, value] of Object.entries(params || {})) text = text.replace(`%(${name})s`, value);
    return text;
  }

  /** A refused macro's message already says which action failed and why (its `fields`
   * repeat the reason), so the message alone. */
  function errorText(error) {
    return error instanceof ApiError ? error.message || apiErrorText(error) : String(error);
  }

  let listRequest = null;
  function loadMacros() {
    listRequest ??= workspace
      .api("GET", "macros")
      .then((data) => (macros = data.results || []))
      .catch(() => {
        listRequest = null; // try again next time
        return [];
      });
    return listRequest;
  }

  function matching(list, needle) {
    const words = needle.trim().toLowerCase();
    return list.filter((macro) => !words || macro.name.toLowerCase().includes(words) || macro.body.toLowerCase().includes(words));
  }

  // --- The "/" picker: macros after the canned responses ---------------------------------------

  workspace.addPickerSource((needle) => {
    if (macros === null) {
      loadMacros();
      return [];
    }
    return matching(macros, needle).map((macro) => ({
      kind: "macro",
      optionId: `macro-option-${macro.id}`,
      label: t("macro"),
      text: macro.name,
      pick: () => openDialog(macro.id),
    }));
  });

  // --- What a macro does, in words -------------------------------------------------------------

  function duration(minutes) {
    if (minutes % 1440 === 0) return t("days", { n: minutes / 1440 });
    if (minutes % 60 === 0) return t("hours", { n: minutes / 60 });
    return t("minutes", { n: minutes });
  }

  function actionLines(macro) {
    const lines = [];
    if (macro.status === "snoozed") lines.push(t("snooze", { time: duration(macro.snooze_minutes || 0) }));
    else if (macro.status) lines.push(t("set_status", { status: S.statuses[macro.status] || macro.status }));
    if (macro.add_labels.length) lines.push(t("add_labels", { labels: macro.add_labels.join(", ") }));
    if (macro.remove_labels.length) lines.push(t("remove_labels", { labels: macro.remove_labels.join(", ") }));
    if (macro.move_to_team) lines.push(t("move_to_team", { team: macro.move_to_team.name }));
    if (macro.priority) lines.push(t("set_priority", { priority: S.priorities[macro.priority] || macro.priority }));
    if (macro.assign === "me") lines.push(t("assign_me"));
    if (macro.assign === "nobody") lines.push(t("assign_nobody"));
    if (macro.assign === "agent" && macro.assign_to) lines.push(t("assign_agent", { name: macro.assign_to.name }));
    return lines;
  }

  // --- The dialog ---------------------------------------------------------------------------------

  async function openDialog(macroId) {
    conversationId = workspace.state.currentId;
    if (!conversationId) return;
    $("macro-error").hidden = true;
    search.value = "";
    shown = [];
    renderList();
    if (!dialog.open) dialog.showModal();
    search.focus();
    let data;
    try {
      data = await workspace.api("GET", `macros?conversation=${conversationId}`);
    } catch (error) {
      showError(errorText(error));
      return;
    }
    if (!dialog.open || conversationId !== workspace.state.currentId) return; // closed meanwhile
    macros = data.results || [];
    shown = matching(macros, search.value); // what was typed while the list loaded
    highlighted = Math.max(0, shown.findIndex((macro) => macro.id === macroId));
    renderList();
  }

  function filter() {
    shown = matching(macros || [], search.value);
    highlighted = 0;
    renderList();
  }

  function renderList() {
    const list = $("macro-list");
    list.replaceChildren(
      ...shown.map((macro, index) =>
        h(
          "li",
          {
            role: "option",
            id: `macro-${macro.id}`,
            "aria-selected": index === highlighted ? "true" : "false",
            dataset: { id: macro.id },
            onmousedown: (event) => event.preventDefault(), // the focus stays in the search
            onclick: () => {
              highlighted = index;
              renderList();
            },
          },
          h("span", { class: "macro-name", text: macro.name }),
          h("span", { class: "macro-scope", text: t(`scope_${macro.scope}`) }),
        ),
      ),
    );
    if (!shown.length) list.append(h("li", { class: "none", text: macros === null ? t("loading") : t("none") }));
    const current = shown[highlighted];
    search.setAttribute("aria-activedescendant", current ? `macro-${current.id}` : "");
    list.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest" });
    renderPreview(current);
  }

  function renderPreview(macro) {
    $("macro-apply").disabled = !macro;
    $("macro-preview-title").textContent = macro ? macro.name : t("choose");
    const reply = $("macro-preview-reply");
    const text = macro ? (macro.rendered ?? macro.body) : "";
    reply.hidden = !text.trim();
    reply.textContent = text;
    reply.dataset.private = String(Boolean(macro?.private));
    $("macro-preview-kind").textContent = !macro ? "" : !text.trim() ? t("no_reply") : macro.private ? t("private_note") : t("reply");
    const lines = macro ? actionLines(macro) : [];
    $("macro-preview-actions").replaceChildren(...lines.map((line) => h("li", { text: line })));
    if (macro && !lines.length) $("macro-preview-actions").append(h("li", { class: "muted", text: t("no_actions") }));
  }

  function showError(text) {
    $("macro-error").textContent = text;
    $("macro-error").hidden = !text;
  }

  async function apply() {
    const macro = shown[highlighted];
    const id = conversationId;
    if (!macro || !id) return;
    const button = $("macro-apply");
    button.disabled = true;
    showError("");
    try {
      const answer = await workspace.api("POST", `conversations/${id}/macros/${macro.id}`, { client_id: uuid() });
      workspace.applyConversation(answer.conversation);
      if (answer.message) workspace.showMessage(answer.message, id);
      dialog.close();
      workspace.toast(t("applied", { name: macro.name }));
      $("composer-input").focus();
    } catch (error) {
      showError(errorText(error)); // nothing was applied: the agent may pick another
    } finally {
      button.disabled = !shown[highlighted];
    }
  }

  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && shown.length) {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlighted = (highlighted + step + shown.length) % shown.length;
      renderList();
    } else if (event.key === "Enter") {
      event.preventDefault(); // choosing is not applying: Enter goes to Apply first
      if (shown[highlighted]) $("macro-apply").focus();
    }
  });
  $("macro-form").addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  $("macro-cancel").addEventListener("click", () => dialog.close());
  $("macros-button").addEventListener("click", () => openDialog(null));
})();

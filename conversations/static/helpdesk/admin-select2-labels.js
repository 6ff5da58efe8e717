/* Select2 (the admin's autocomplete fields) types into a search box of its own that has no
   label: give it the label of the select it stands for, so screen readers name it. */
"use strict";
function labelSelect2Search() {
  for (const select of document.querySelectorAll("select.admin-autocomplete")) {
    const label = document.querySelector(`label[for="${select.id}"]`);
    const search = select.parentElement.querySelector(".select2-search__field");
    if (label && search && !search.hasAttribute("aria-label")) search.setAttribute("aria-label", label.textContent.replace(/:$/, ""));
  }
}
// The admin's autocomplete.js starts Select2 when jQuery is ready, and Select2 may draw its box
// again: label it whenever it appears.
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(labelSelect2Search).observe(document.body, { childList: true, subtree: true });
  labelSelect2Search();
});

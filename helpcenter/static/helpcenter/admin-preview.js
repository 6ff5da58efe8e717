// The article form's live preview: the body's Markdown rendered by the server exactly as a
// save would render it (sanitized), shortly after the author stops typing.
// The admin loads form media in <head>: start once the form is there.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  const preview = document.querySelector(".hc-preview[data-preview-url]");
  const body = document.getElementById("id_body");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (!preview || !body || !csrf) return;
  let timer = null;
  let sent = 0;

  async function refresh() {
    const number = ++sent;
    const form = new FormData();
    form.append("body", body.value);
    const response = await fetch(preview.dataset.previewUrl, {
      method: "POST",
      body: form,
      headers: { "X-CSRFToken": csrf.value },
      credentials: "same-origin",
    });
    if (!response.ok || number !== sent) return; // a later keystroke has asked again
    const answer = await response.json();
    preview.innerHTML = answer.html; // sanitized by the server (helpcenter/rendering.py)
  }

  body.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => refresh().catch(() => {}), 400);
  });
});

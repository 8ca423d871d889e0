// Refreshes the overview without a full reload, and sends actions without leaving the page.
// No framework, no CDN: served from the package. Without JavaScript the forms still work.
(function () {
  "use strict";
  var script = document.currentScript;
  var root = script.getAttribute("data-root") || "";
  var every = (parseFloat(script.getAttribute("data-refresh")) || 5) * 1000;
  var busy = false;

  function refresh() {
    var box = document.getElementById("overview");
    if (!box || busy) { return Promise.resolve(); }
    busy = true;
    return fetch(box.getAttribute("data-src") || root + "/overview", { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) { box.innerHTML = html; box.removeAttribute("data-stale"); })
      .catch(function () { box.setAttribute("data-stale", "true"); })
      .then(function () { busy = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("action")) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) { button.disabled = true; }
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) { window.alert(text); });
      }
    }).then(refresh);
  });

  window.setInterval(refresh, every);
  window.pylitestreamRefresh = refresh;
})();

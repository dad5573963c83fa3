// Progress of running work in the admin (catalog/admin/progress.py): every element with
// data-progress-url re-reads its JSON every few seconds and stops once the work has finished.
(function () {
  "use strict";
  function poll(element) {
    var url = element.getAttribute("data-progress-url");
    var seconds = parseInt(element.getAttribute("data-poll-seconds"), 10) || 3;
    function update() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var bar = element.querySelector("progress");
          if (data.percent !== null) {
            if (!bar) {
              bar = document.createElement("progress");
              bar.max = 100;
              element.insertBefore(bar, element.firstChild);
              element.insertBefore(document.createTextNode(" "), bar.nextSibling);
            }
            bar.value = data.percent;
          }
          element.querySelector(".text").textContent = data.text;
          if (data.running) { window.setTimeout(update, seconds * 1000); }
        })
        .catch(function () { window.setTimeout(update, seconds * 4000); });
    }
    window.setTimeout(update, seconds * 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress-url]").forEach(poll);
  });
})();

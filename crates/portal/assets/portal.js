// The portal's few lines of script: times in the viewer's time zone and language, and the
// invitation token read from the link's fragment (never sent to a server in a URL).
(function () {
  "use strict";
  function localTimes(root) {
    var lang = document.documentElement.lang || "en";
    var fmt = new Intl.DateTimeFormat(lang === "th" ? "th-TH" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) {
        var opts = el.dataset.tz ? { dateStyle: "medium", timeStyle: "short", timeZone: el.dataset.tz } : null;
        el.textContent = opts ? new Intl.DateTimeFormat(fmt.resolvedOptions().locale, opts).format(d) : fmt.format(d);
      }
    });
  }
  function invitation() {
    var field = document.getElementById("token");
    var m = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
    if (field && m) {
      field.value = decodeURIComponent(m[1]);
    }
  }
  // A date filter's days are the viewer's: the form sends the browser's offset from UTC.
  function offsets(root) {
    root.querySelectorAll("input[data-tz-offset]").forEach(function (el) {
      el.value = String(-new Date().getTimezoneOffset());
    });
    root.querySelectorAll("input[data-tz-name]").forEach(function (el) {
      el.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    });
  }
  // A chosen file is read into the text field it fills (the CSV import), then posted as a form.
  function fileFields(root) {
    root.querySelectorAll("input[type=file][data-fills]").forEach(function (el) {
      el.addEventListener("change", function () {
        var target = document.getElementById(el.dataset.fills);
        if (el.files && el.files[0] && target) {
          el.files[0].text().then(function (t) { target.value = t; });
        }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    invitation();
    offsets(document);
    fileFields(document);
  });
  document.addEventListener("htmx:afterSwap", function (e) { localTimes(e.target); });
  document.addEventListener("htmx:sseMessage", function (e) { localTimes(e.target); });
})();

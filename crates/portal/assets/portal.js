// The portal's few lines of script: times in the viewer's time zone and language, and the
// invitation token read from the link's fragment (never sent to a server in a URL).
(function () {
  "use strict";
  // Every live stream this page opens is closed when the page goes away: a stream left open
  // (a page kept for the back button) holds one of the browser's six connections to the portal.
  var sources = [];
  var NativeEventSource = window.EventSource;
  if (NativeEventSource) {
    window.EventSource = function (url, options) {
      var source = new NativeEventSource(url, options);
      sources.push(source);
      return source;
    };
    window.EventSource.prototype = NativeEventSource.prototype;
    ["CONNECTING", "OPEN", "CLOSED"].forEach(function (k) { window.EventSource[k] = NativeEventSource[k]; });
    window.addEventListener("pagehide", function () {
      sources.forEach(function (s) { s.close(); });
      sources = [];
    });
    // A page brought back from the back-forward cache has closed streams: load it afresh.
    window.addEventListener("pageshow", function (e) { if (e.persisted) { location.reload(); } });
  }
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
  // A chart from `data-uplot` (`[[unix seconds…], [values…]]`), drawn by the vendored uPlot.
  function charts(root) {
    if (!window.uPlot) { return; }
    root.querySelectorAll("[data-uplot]").forEach(function (el) {
      var data = JSON.parse(el.getAttribute("data-uplot"));
      var width = Math.max(280, el.clientWidth || 600);
      el.textContent = "";
      new window.uPlot({ width: width, height: 200,
        series: [{}, { label: el.dataset.label || "", stroke: "#1f7a44", fill: "rgba(31,122,68,.15)", paths: window.uPlot.paths.stepped({ align: 1 }) }],
        scales: { y: { range: [0, 1] } }, axes: [{}, { values: function (u, v) { return v.map(function (x) { return x === 1 ? "1" : x === 0 ? "0" : ""; }); } }]
      }, data, el);
    });
  }
  // The volume slider says its value next to it.
  function sliders(root) {
    root.querySelectorAll("input[type=range]").forEach(function (el) {
      var out = root.querySelector("output[for='" + el.id + "']");
      if (out) { el.addEventListener("input", function () { out.textContent = el.value; }); }
    });
  }
  // The inbox's keys: r reply, n note, a assign to me, c close, j/k next/previous, ? help.
  function shortcuts() {
    var root = document.querySelector("[data-shortcuts]");
    var help = document.getElementById("shortcuts");
    if (!root || !help) { return; }
    var open = document.getElementById("shortcuts-open");
    if (open) { open.addEventListener("click", function () { help.showModal(); }); }
    document.querySelectorAll("select[data-canned]").forEach(function (sel) {
      sel.addEventListener("change", function () {
        var box = document.getElementById(sel.dataset.canned);
        if (box && sel.value) { box.value = sel.value; box.focus(); }
      });
    });
    function submit(id) { var f = document.getElementById(id); if (f) { f.requestSubmit(); } }
    function step(by) {
      var links = Array.prototype.slice.call(document.querySelectorAll("a[data-conversation]"));
      if (!links.length) { return; }
      var at = links.findIndex(function (a) { return a.getAttribute("aria-current") === "true"; });
      var next = links[Math.min(links.length - 1, Math.max(0, at + by))];
      if (next) { location.href = next.href; }
    }
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      if (e.ctrlKey || e.metaKey || e.altKey || help.open) { return; }
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) { return; }
      var moves = {
        r: function () { var x = document.getElementById("reply-text"); if (x) { x.focus(); } },
        n: function () { var x = document.getElementById("note-text"); if (x) { x.focus(); } },
        a: function () { submit("assign-me"); },
        c: function () { submit("close"); },
        j: function () { step(1); },
        k: function () { step(-1); },
        "?": function () { help.showModal(); }
      };
      if (moves[e.key]) { e.preventDefault(); moves[e.key](); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    shortcuts();
    invitation();
    offsets(document);
    fileFields(document);
    sliders(document);
    // Forms with local times say the browser's offset from UTC, in minutes east.
    document.querySelectorAll("form[data-offset] input[name=offset]").forEach(function (el) {
      el.value = String(-new Date().getTimezoneOffset());
    });
  });
  window.addEventListener("load", function () { charts(document); });
  document.addEventListener("htmx:afterSwap", function (e) { localTimes(e.target); });
  document.addEventListener("htmx:sseMessage", function (e) { localTimes(e.target); });
})();

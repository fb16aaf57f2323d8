// Draws each report chart with the vendored uPlot: one line per series over the report's groups,
// from the JSON the page carries next to it (`data-chart` names the element holding it).
(function () {
  "use strict";
  function draw(el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source || typeof uPlot === "undefined") { return; }
    var d = JSON.parse(source.textContent);
    var xs = d.labels.map(function (_, i) { return i; });
    var series = [{}].concat(d.series.map(function (s) {
      return { label: s.name, stroke: "#0b5cad", width: 2, points: { size: 7 } };
    }));
    var data = [xs].concat(d.series.map(function (s) { return s.values; }));
    var width = Math.max(280, el.clientWidth);
    var opts = {
      width: width, height: 260, series: series,
      scales: { x: { time: false } },
      axes: [{ values: function (_, ticks) { return ticks.map(function (t) { return d.labels[t] || ""; }); } }, {}]
    };
    el.textContent = "";
    new uPlot(opts, data, el);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();

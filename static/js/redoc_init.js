// Starts Redoc on /api/redoc/ (templates/drf_spectacular/redoc.html): the schema URL and settings come from the page.
(function () {
  const container = document.getElementById("redoc-container");
  const settings = JSON.parse(document.getElementById("redoc-settings").textContent);
  window.Redoc.init(container.dataset.schemaUrl, settings, container);
})();

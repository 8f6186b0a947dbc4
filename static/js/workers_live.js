/* The worker monitor page, live: renders each /ws/workers/ snapshot into the table and the queue figures
   (the same cells as templates/training/_worker_rows.html), reconnecting with a growing delay. */
(function () {
  "use strict";

  var root = document.getElementById("workers-live");
  if (!root || !window.WebSocket) return;
  var rows = root.querySelector("[data-worker-rows]");
  var queues = root.querySelector("[data-queues]");
  var conn = root.querySelector("[data-conn]");
  var delay = 1000;

  function bytes(n) {
    if (typeof n !== "number") return "—";
    var units = ["bytes", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }

  function percent(n) { return typeof n === "number" ? Math.round(n) + " %" : "—"; }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function cell(main, detail, className) {
    var td = el("td", undefined, className);
    if (typeof main === "string") td.appendChild(el("span", main)); else td.appendChild(main);
    if (detail) td.appendChild(el("div", detail, "muted small"));
    return td;
  }

  function runsCell(worker) {
    var td = el("td");
    worker.runs.forEach(function (run) {
      var link = el("a", "#" + run.id + " " + run.name);
      link.href = run.url;
      td.appendChild(link);
      td.appendChild(document.createTextNode(" "));
    });
    if (worker.hidden_runs) td.appendChild(el("span", worker.hidden_runs + " other run" + (worker.hidden_runs > 1 ? "s" : ""), "muted small"));
    if (!worker.runs.length && !worker.hidden_runs) td.appendChild(el("span", "idle", "muted small"));
    return td;
  }

  function gpusCell(worker) {
    var td = el("td");
    worker.gpus.forEach(function (g) {
      var util = g.utilisation_percent === null ? "" : percent(g.utilisation_percent) + ", ";
      td.appendChild(el("div", "GPU " + g.index + " " + g.name + ": " + util + bytes(g.memory_used_bytes) + " / " + bytes(g.memory_total_bytes), "small"));
    });
    if (!worker.gpus.length) td.appendChild(el("span", "none", "muted small"));
    return td;
  }

  function render(snapshot) {
    var body = document.createDocumentFragment();
    snapshot.workers.forEach(function (w) {
      var tr = el("tr");
      tr.dataset.worker = w.name;
      tr.appendChild(cell(el("strong", w.name), w.host + " · pid " + w.pid));
      tr.appendChild(cell(w.queues.join(" "), "concurrency " + w.concurrency));
      tr.appendChild(cell(percent(w.cpu_percent), "host " + percent(w.host_cpu_percent) + " of " + w.cpu_count + " cores", "num"));
      tr.appendChild(cell(bytes(w.rss_bytes), "host " + bytes(w.ram_used_bytes) + " / " + bytes(w.ram_total_bytes), "num"));
      tr.appendChild(gpusCell(w));
      tr.appendChild(runsCell(w));
      body.appendChild(tr);
    });
    if (!snapshot.workers.length) {
      var empty = el("tr");
      empty.appendChild(el("td", "No worker is reporting.", "muted")).colSpan = 6;
      body.appendChild(empty);
    }
    rows.replaceChildren(body);
    var figures = document.createDocumentFragment();
    Object.keys(snapshot.queues).forEach(function (name) {
      var length = snapshot.queues[name];
      var div = el("div");
      div.appendChild(el("dt", name));
      div.appendChild(el("dd", length === null ? "unknown" : String(length), "num"));
      figures.appendChild(div);
    });
    queues.replaceChildren(figures);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
    socket.onopen = function () { delay = 1000; conn.textContent = "live"; };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "workers") render(message);
    };
    socket.onclose = function () {
      conn.textContent = "reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  connect();
})();

/* TorchCanvas run pages, no build step:
 *  - [data-run-live]   one run: WebSocket /ws/runs/<id>/ (history first, then live events; de-duplicated by
 *                      seq), reconnects with backoff, reads the events API while the socket is down;
 *  - [data-runs-live]  run lists: the per-user stream /ws/runs/ updates status, progress and loss in place;
 *  - [data-compare-chart] the compare page's overlaid loss curves;
 *  - [data-artifacts-live] a version's export builds: /ws/versions/<id>/artifacts/ says when one changed,
 *                      and the panel is fetched again from the server (it renders the rows).
 * Charts are drawn by uPlot (static/vendor/uplot.iife.min.js).
 */
(function () {
  "use strict";

  var TERMINAL = ["succeeded", "failed", "cancelled"];
  var LABELS = { queued: "Queued", running: "Running", succeeded: "Succeeded", failed: "Failed", cancelled: "Cancelled" };
  var BADGES = { queued: "badge-muted", running: "badge-accent", succeeded: "badge-ok", failed: "badge-error", cancelled: "badge-warn" };
  var COLORS = ["#ee4c2c", "#4f46e5", "#0d9488", "#d97706", "#0284c7", "#c026d3", "#65a30d", "#475467"];
  var ACCESS_REVOKED = 4403; // close code of training/consumers.py: access to the run was removed

  function num(value) {
    if (typeof value !== "number" || !isFinite(value)) return "—";
    var abs = Math.abs(value);
    if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) return value.toExponential(3);
    return String(Number(value.toPrecision(4)));
  }

  function bytes(value) {
    if (typeof value !== "number") return "—";
    var units = ["bytes", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (value >= 1024 && i < units.length - 1) {
      value /= 1024;
      i += 1;
    }
    return (i ? value.toFixed(1) : String(value)) + " " + units[i];
  }

  function seconds(value) {
    if (typeof value !== "number") return "—";
    if (value < 60) return value.toFixed(1) + " s";
    var m = Math.floor(value / 60);
    return m + " min " + Math.round(value - 60 * m) + " s";
  }

  function setBadge(badge, status) {
    if (!badge || !LABELS[status]) return;
    badge.textContent = LABELS[status];
    badge.className = badge.className.replace(/\bbadge-\w+/g, "").trim() + " " + BADGES[status];
  }

  /* A WebSocket that reconnects after 1, 2, 4 … 30 s (with jitter) until stopped. */
  function liveSocket(path, handlers) {
    var socket = null;
    var attempt = 0;
    var timer = null;
    var stopped = false;
    function connect() {
      if (stopped) return;
      socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      socket.onopen = function () {
        attempt = 0;
        handlers.state("live");
      };
      socket.onmessage = function (event) {
        var message;
        try {
          message = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        handlers.message(message);
      };
      socket.onclose = function (event) {
        socket = null;
        if (stopped) return;
        if (event.code === ACCESS_REVOKED) {
          stopped = true; // reconnecting would be refused: this user may no longer see the run
          handlers.state("revoked");
          return;
        }
        var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.75 + Math.random() * 0.5);
        attempt += 1;
        handlers.state("down", delay);
        timer = setTimeout(connect, delay);
      };
    }
    connect();
    return {
      stop: function () {
        stopped = true;
        clearTimeout(timer);
        if (socket) socket.close();
      },
      reconnect: function () {
        if (socket) socket.close(); // onclose schedules the next attempt
      },
    };
  }

  function chartOptions(width, height, series) {
    var axis = { stroke: "#667085", grid: { stroke: "#eef0f3", width: 1 }, ticks: { stroke: "#e4e7ec", width: 1 } };
    return {
      width: width,
      height: height,
      scales: { x: { time: false } },
      axes: [Object.assign({ label: "step" }, axis), Object.assign({ label: "loss", size: 64 }, axis)],
      series: [{ label: "step" }].concat(
        series.map(function (s, i) {
          return {
            label: s.label,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            spanGaps: true,
            points: { show: false },
            value: function (u, v) {
              return v == null ? "—" : num(v);
            },
          };
        })
      ),
    };
  }

  function mountChart(box, series, data, height) {
    var empty = box.querySelector("[data-chart-empty]");
    if (empty) empty.hidden = true;
    var chart = new window.uPlot(chartOptions(box.clientWidth || 600, height, series), data, box);
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        if (box.clientWidth) chart.setSize({ width: box.clientWidth, height: height });
      }).observe(box);
    }
    return chart;
  }

  /* --- one run ---------------------------------------------------------------------------- */

  function initRun(root) {
    var $ = function (selector) {
      return root.querySelector(selector);
    };
    var chartBox = $("[data-loss-chart]");
    var status = root.dataset.status;
    var total = Number(root.dataset.total) || 0;
    var seen = new Set();
    var maxSeq = 0;
    var contiguous = 0; // every event up to this one has been applied
    var steps = [];
    var losses = [];
    var chart = null;
    var drawPending = false;
    var socket = null;
    var stopTimer = null;
    var refreshTimer = null;
    var gone = false;
    var sawProgress = false;
    var finished = false; // its terminal status has arrived
    var lastStep = 0;

    function conn(text, kind) {
      var el = $("[data-conn]");
      el.textContent = text;
      el.className = "conn conn-" + kind;
    }

    function draw() {
      drawPending = false;
      if (!window.uPlot || !steps.length) return;
      if (!chart) chart = mountChart(chartBox, [{ label: "loss" }], [steps, losses], 300);
      else chart.setData([steps, losses]);
      chartBox.dataset.points = String(steps.length); // how many points are drawn (read by the browser tests)
    }

    function addPoint(step, loss) {
      // Points come in order; one filled in after a gap is put in its place.
      var i = steps.length;
      while (i > 0 && steps[i - 1] > step) i -= 1;
      if (i > 0 && steps[i - 1] === step) losses[i - 1] = loss;
      else {
        steps.splice(i, 0, step);
        losses.splice(i, 0, loss);
      }
      if (!drawPending) {
        drawPending = true;
        requestAnimationFrame(draw);
      }
    }

    function setProgress(step, stepTotal, m) {
      if (stepTotal) total = stepTotal;
      var percent = total ? Math.max(0, Math.min(100, (100 * step) / total)) : 0;
      $("[data-progress-fill]").style.width = percent + "%";
      $("[data-progress]").setAttribute("aria-valuenow", String(Math.round(percent)));
      lastStep = step;
      if (!total) return;
      var text = "step " + step + " / " + total;
      if (finished) m = null; // no time left to show once it is over
      if (m && m.epoch != null) text += " · epoch " + m.epoch;
      if (m && typeof m.elapsed_s === "number") {
        text += " · " + seconds(m.elapsed_s);
        if (step > 0 && step < total) text += " · about " + seconds((m.elapsed_s / step) * (total - step)) + " left";
      }
      $("[data-progress-text]").textContent = text;
    }

    function stat(name, text) {
      var el = $('[data-stat="' + name + '"]');
      if (el) el.textContent = text;
    }

    /* The summary panel (status, metrics table, cancel) is server-rendered: fetch it again when it is behind. */
    function refreshSummary(force, tries) {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(function () {
        var summary = document.getElementById("run-summary");
        if (!summary || !window.htmx) return;
        if (!force && summary.dataset.status === status) return;
        window.htmx
          .ajax("GET", root.dataset.summaryUrl, { target: "#run-summary", swap: "outerHTML" })
          .then(function () {
            var fresh = document.getElementById("run-summary");
            // The event may be ahead of the database row by a moment: look again, a few times.
            if (fresh && fresh.dataset.status !== status && (tries || 0) < 3) refreshSummary(true, (tries || 0) + 1);
          });
      }, 250 + 750 * (tries || 0));
    }

    function finish() {
      finished = true;
      conn("finished", "done");
      var note = $("[data-chart-note]");
      if (note) note.textContent = "per step";
      if (total && status !== "succeeded") {
        $("[data-progress-text]").textContent = LABELS[status].toLowerCase() + " at step " + lastStep + " / " + total;
      }
      clearTimeout(stopTimer);
      // The done/error event may follow the terminal status: keep listening a moment.
      stopTimer = setTimeout(function () {
        if (socket) socket.stop();
      }, 3000);
    }

    function apply(m) {
      if (typeof m.seq === "number") {
        if (seen.has(m.seq)) return;
        if (seen.size && m.seq > maxSeq + 1) resync();
        seen.add(m.seq);
        maxSeq = Math.max(maxSeq, m.seq);
        while (seen.has(contiguous + 1)) contiguous += 1;
      }
      if (m.type === "status" && LABELS[m.status]) {
        status = m.status;
        setBadge($("[data-run-status]"), status);
        if (status === "succeeded") setProgress(total, total);
        refreshSummary(false);
        if (TERMINAL.indexOf(status) >= 0) finish();
      } else if (m.type === "progress") {
        if (!sawProgress && status === "running") refreshSummary(true); // device and versions are known now
        sawProgress = true;
        setProgress(m.step, m.total, m);
        stat("loss", num(m.loss));
        stat("samples_per_s", num(m.samples_per_s));
        stat("step_time_ms", typeof m.step_time_ms === "number" ? num(m.step_time_ms) + " ms" : "—");
        stat("memory_bytes", bytes(m.memory_bytes));
        if (typeof m.loss === "number" && isFinite(m.loss)) addPoint(m.step, m.loss);
      } else if (m.type === "done") {
        var metrics = m.metrics || {};
        if (typeof metrics.loss === "number") stat("loss", num(metrics.loss));
        if (typeof metrics.samples_per_s === "number") stat("samples_per_s", num(metrics.samples_per_s));
        if (typeof metrics.step_time_ms === "number") stat("step_time_ms", num(metrics.step_time_ms) + " ms");
        if (typeof metrics.peak_memory_bytes === "number") stat("memory_bytes", bytes(metrics.peak_memory_bytes));
        // Progress events are throttled; the final curve has every step (evenly thinned when long).
        (metrics.loss_curve || []).forEach(function (point) {
          if (typeof point[1] === "number" && isFinite(point[1])) addPoint(point[0], point[1]);
        });
        refreshSummary(true);
      } else if (m.type === "error") {
        var box = $("[data-live-error]");
        box.textContent = m.message || "The run failed.";
        box.hidden = false;
        refreshSummary(true);
      }
    }

    /* The events API: for a late load while the socket is down, and to fill a gap in the sequence. */
    function fetchEvents(url, pages) {
      if (!root.dataset.eventsUrl || gone) return;
      fetch(url || root.dataset.eventsUrl + "?after=" + contiguous, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.status === 401 || response.status === 403 || response.status === 404) {
            gone = true; // 401: the session ended; retrying cannot help until the person logs in again
            if (socket) socket.stop();
            conn(response.status === 401 ? "signed out: log in again" : "no longer visible to you", "down");
            return null;
          }
          return response.ok ? response.json() : null;
        })
        .then(function (body) {
          if (!body) return;
          var events = Array.isArray(body) ? body : body.results || body.events || [];
          events
            .slice()
            .sort(function (a, b) {
              return a.seq - b.seq;
            })
            .forEach(apply);
          if (body.next && (pages || 0) < 50) fetchEvents(body.next, (pages || 0) + 1);
        })
        .catch(function () {});
    }

    /* While the socket is down, read the events API every few seconds. */
    var pollTimer = null;
    function poll() {
      if (finished || gone) return;
      fetchEvents();
      pollTimer = setTimeout(poll, 3000);
    }

    var resyncTimer = null;
    function resync() {
      clearTimeout(resyncTimer);
      resyncTimer = setTimeout(fetchEvents, 500);
    }

    if (!window.uPlot) conn("chart unavailable", "down");
    socket = liveSocket(root.dataset.wsPath, {
      message: apply,
      state: function (state, delay) {
        if (state === "live") {
          clearTimeout(pollTimer);
          pollTimer = null;
          if (TERMINAL.indexOf(status) >= 0) conn("finished", "done");
          else conn("● live", "live");
          return;
        }
        if (state === "revoked") {
          conn("access removed: reload", "down");
          return;
        }
        if (finished) {
          socket.stop(); // its end has arrived: nothing more will happen to this run
          return;
        }
        conn("reconnecting in " + Math.round(delay / 1000) + " s…", "down");
        if (!pollTimer) poll();
      },
    });
  }

  /* --- lists of runs ------------------------------------------------------------------------ */

  function updateRow(row, run) {
    setBadge(row.querySelector('[data-field="status"]'), run.status);
    var step = run.step || 0;
    var total = run.total || 0;
    if (run.status === "succeeded" && total) step = total;
    var fill = row.querySelector('[data-field="progress"]');
    if (fill && total) fill.style.width = Math.min(100, (100 * step) / total) + "%";
    var steps = row.querySelector('[data-field="step"]');
    if (steps && total) steps.textContent = step + "/" + total;
    var loss = row.querySelector('[data-field="loss"]');
    if (loss && typeof run.loss === "number") loss.textContent = num(run.loss);
  }

  function initLists() {
    var refreshed = new Set();
    liveSocket("/ws/runs/", {
      state: function () {},
      message: function (m) {
        if (m.type !== "run" || !m.run) return;
        var run = m.run;
        var rows = document.querySelectorAll('[data-runs-live] [data-run-id="' + Number(run.id) + '"]');
        rows.forEach(function (row) {
          updateRow(row, run);
        });
        if (rows.length || refreshed.has(run.id) || !window.htmx) return;
        refreshed.add(run.id); // a run this page does not show yet (queued elsewhere): reload the list once
        document.querySelectorAll("[data-runs-live][data-refresh-url]").forEach(function (box) {
          if (box.id) window.htmx.ajax("GET", box.dataset.refreshUrl, { target: "#" + box.id, swap: "outerHTML" });
        });
      },
    });
  }

  /* --- compare ------------------------------------------------------------------------------ */

  function initCompare(box) {
    var curves = JSON.parse(document.getElementById("run-curves").textContent);
    document.querySelectorAll("[data-series]").forEach(function (swatch) {
      swatch.style.background = COLORS[Number(swatch.dataset.series) % COLORS.length];
    });
    var any = curves.some(function (c) {
      return c.points.length;
    });
    if (!any || !window.uPlot) return;
    var tables = curves.map(function (c) {
      return [
        c.points.map(function (p) {
          return p[0];
        }),
        c.points.map(function (p) {
          return p[1];
        }),
      ];
    });
    mountChart(box, curves, window.uPlot.join(tables), 340);
  }

  /* --- a version's export builds ------------------------------------------------------------ */

  function initArtifacts(box) {
    var queued = null;
    function refresh() {
      if (queued || !window.htmx) return;
      queued = setTimeout(function () {
        queued = null; // several changes within the delay: one fetch
        var panel = document.getElementById(box.id);
        if (panel) window.htmx.ajax("GET", panel.dataset.refreshUrl, { target: "#" + box.id, swap: "outerHTML" });
      }, 150);
    }
    liveSocket(box.dataset.artifactsLive, {
      state: function () {},
      // The first message says what the rows are now (a build may have moved since the page was rendered).
      message: function (m) {
        if (m.type === "artifact" || m.type === "artifacts") refresh();
      },
    });
  }

  function init() {
    var run = document.querySelector("[data-run-live]");
    if (run) initRun(run);
    if (document.querySelector("[data-runs-live]")) initLists();
    var compare = document.querySelector("[data-compare-chart]");
    if (compare) initCompare(compare);
    var artifacts = document.querySelector("[data-artifacts-live]");
    if (artifacts) initArtifacts(artifacts);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

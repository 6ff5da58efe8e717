/* The reports page: reads the report API with the session cookie and draws it with Chart.js.
 *
 * It stays current by itself: a `report.updated` event on the agent websocket (sent when the
 * reports task has recomputed something) schedules a debounced refresh, and a 30 s timer
 * refreshes anyway, so a page whose socket is down or not subscribed is never stale for long.
 * The socket is /ws/agent/?watch=reports: it hears only report.updated and does not make the
 * manager "online" for assignment. The API calls and the socket go through helpdesk/client.js
 * (an ES module, as this file is). window.hdReports exposes refresh(), the charts and the
 * socket (the browser tests use them).
 */
import { errorText, liveConnection, percentFormat, socketUrl, staffApi } from "../helpdesk/client.js";

(function () {
  "use strict";

  const root = document.getElementById("reports");
  const T = JSON.parse(document.getElementById("report-strings").textContent);
  const API = root.dataset.api;
  const LANG = document.documentElement.lang || "en";
  const REFRESH_MS = 30000;
  const DEBOUNCE_MS = 1000;
  const form = document.getElementById("filters");
  // The slices the form offers (the inbox picker only once inboxes exist).
  const SLICES = ["team", "agent", "channel", "inbox"].filter((key) => form.elements[key]);
  form.addEventListener("submit", (event) => event.preventDefault()); // filters apply as they change
  const params = new URLSearchParams(location.search);
  const TZ = params.get("tz") || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const SERIES = [
    "created", "resolved", "reopened",
    "first_response_time", "wait_time", "handle_time", "resolution_time", "csat", "nps",
  ];
  const DURATIONS = ["first_response_time", "wait_time", "handle_time", "resolution_time"];
  const COLORS = { created: "#2563eb", resolved: "#16a34a", reopened: "#d97706", csat: "#7c3aed", nps: "#ca8a04",
    first_response_time: "#0891b2", wait_time: "#db2777", handle_time: "#4f46e5", resolution_time: "#0d9488" };

  const number = new Intl.NumberFormat(LANG);
  const decimal = new Intl.NumberFormat(LANG, { maximumFractionDigits: 1 });
  const percentOf = percentFormat(LANG);
  const wholePercent = percentFormat(LANG, 0);
  const charts = {};
  const state = {
    period: params.get("period") || "7d",
    from: params.get("from") || "",
    to: params.get("to") || "",
    team: params.get("team") || "",
    agent: params.get("agent") || "",
    channel: params.get("channel") || "",
    inbox: params.get("inbox") || "",
    interval: params.get("interval") || "auto",
    sort: "resolved",
    agents: [],
    waitingSince: null,
    lastRefresh: 0,
    refreshCount: 0,
    socketEvents: 0,
  };

  // --- Formatting ------------------------------------------------------------------------

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => (key in values ? values[key] : ""));
  }

  /** 252.4 -> "4 min 12 s"; a day and more -> "2 d 3 h". */
  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
    let s = Math.round(seconds);
    const part = (amount, unit) => `${number.format(amount)}\u00a0${unit}`;
    if (s < 60) return part(s, T.second);
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d) return h ? `${part(d, T.day)} ${part(h, T.hour)}` : part(d, T.day);
    if (h) return m ? `${part(h, T.hour)} ${part(m, T.minute)}` : part(h, T.hour);
    return s ? `${part(m, T.minute)} ${part(s, T.second)}` : part(m, T.minute);
  }

  function percent(value) {
    return value === null || value === undefined ? "–" : percentOf(value);
  }

  const signed = new Intl.NumberFormat(LANG, { maximumFractionDigits: 1, signDisplay: "exceptZero" });

  /** An NPS score, −100 to 100, with its sign: "+25", "−10", "0". */
  function npsScore(value) {
    return value === null || value === undefined ? "–" : signed.format(value);
  }

  function count(value) {
    return value === null || value === undefined ? "–" : number.format(value);
  }

  function dateFormat(options) {
    return new Intl.DateTimeFormat(LANG, { timeZone: TZ, ...options });
  }

  function rangeText(since, until) {
    const format = dateFormat({ dateStyle: "medium" });
    const last = new Date(until.getTime() - 1);
    return format.formatRange ? format.formatRange(since, last) : `${format.format(since)} – ${format.format(last)}`;
  }

  // --- The period ------------------------------------------------------------------------

  function today() {
    // en-CA formats as YYYY-MM-DD, the form the API reads as "midnight in tz".
    return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" })
      .format(new Date());
  }

  function addDays(isoDate, days) {
    const date = new Date(`${isoDate}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() + days);
    return date.toISOString().slice(0, 10);
  }

  /** {since, until} as the API takes them, or null when the custom dates are not usable. */
  function period() {
    const now = new Date().toISOString();
    switch (state.period) {
      case "today": return { since: today(), until: now };
      case "30d": return { since: addDays(today(), -29), until: now };
      case "custom":
        if (!state.from || !state.to || state.from > state.to) return null;
        return { since: state.from, until: addDays(state.to, 1) };
      default: return { since: addDays(today(), -6), until: now };
    }
  }

  function filters() {
    const result = { tz: TZ };
    for (const key of SLICES) if (state[key]) result[key] = state[key];
    return result;
  }

  function chooseInterval(lengthMs) {
    const days = lengthMs / 86400000;
    if (state.interval === "hour" && days <= 200) return "hour";
    if (["day", "week", "month"].includes(state.interval)) return state.interval;
    if (days <= 2) return "hour";
    return days <= 90 ? "day" : "week";
  }

  // --- The API ---------------------------------------------------------------------------

  const api = staffApi(API);

  function getJSON(path, query) {
    return api("GET", `${path}?${new URLSearchParams(query)}`);
  }

  // --- Refresh -----------------------------------------------------------------------------

  let running = null;
  let again = false;
  let debounce = null;

  /** Reload everything; calls during a reload coalesce into one more run after it. */
  function refresh() {
    if (running) {
      again = true;
      return running;
    }
    running = load()
      .catch((error) => showError(fill(T.error, { message: errorText(error) })))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          return refresh();
        }
        return undefined;
      });
    return running;
  }

  function scheduleRefresh() {
    clearTimeout(debounce);
    debounce = setTimeout(refresh, DEBOUNCE_MS);
  }

  async function load() {
    const range = period();
    if (!range) {
      showError(T.custom_invalid);
      return;
    }
    const base = { ...range, ...filters() };
    const current = await getJSON("summary", base);
    const since = new Date(current.since);
    const until = new Date(current.until);
    const length = until - since;
    const before = { ...filters(), since: new Date(since - length).toISOString(), until: since.toISOString() };
    const interval = chooseInterval(length);
    const [previous, series, agents] = await Promise.all([
      getJSON("summary", before),
      Promise.all(SERIES.map((metric) => getJSON("timeseries", { ...base, metric, interval }))),
      getJSON("agents", base),
    ]);
    showError(state.interval === "hour" && interval !== "hour" ? T.hour_too_long : "");
    state.interval_used = interval;
    renderPeriod(since, until, length);
    renderCards(current, previous);
    renderWaiting(current.waiting_now);
    renderCharts(series, interval, length);
    state.agents = agents.results;
    renderAgents();
    state.lastRefresh = Date.now();
    state.refreshCount += 1;
    document.getElementById("updated-label").textContent = fill(T.updated_at, {
      time: dateFormat({ timeStyle: "medium" }).format(new Date()),
    });
  }

  function showError(message) {
    const box = document.getElementById("report-error");
    box.textContent = message;
    box.hidden = !message;
  }

  // --- Headline cards ------------------------------------------------------------------------

  const CARDS = {
    created: { value: (s) => s.conversations.created, show: count, better: 0,
      sub: (s) => `${count(s.messages ? s.messages.in : null)} ${T.messages_in}` },
    resolved: { value: (s) => s.conversations.resolved, show: count, better: 1,
      sub: (s) => `${count(s.messages ? s.messages.out : null)} ${T.replies}` },
    reopened: { value: (s) => s.conversations.reopened, show: count, better: -1, sub: () => T.cycles },
    escalated: { value: (s) => s.conversations.escalated, show: count, better: -1, sub: () => T.escalated_note },
    open_now: { value: (s) => s.conversations.open_now, show: count, better: null, sub: () => T.open_now_note },
    // Invitations (docs/campaigns.md) and self-service (docs/reports.md "Deflected questions").
    campaign_shown: { value: (s) => s.campaigns.shown, show: count, better: 0, sub: () => T.shown_note },
    campaign_answered: { value: (s) => s.campaigns.answered, show: count, better: 1, sub: () => T.answered_note },
    campaign_conversations: { value: (s) => s.campaigns.conversations, show: count, better: 1,
      sub: () => T.campaign_conversations_note },
    deflected: { value: (s) => s.self_service.deflected, show: count, better: 1, sub: () => T.deflected_note },
    csat: { value: (s) => s.csat.score_percent, show: percent, better: 1, points: true,
      sub: (s) => [
        `${T.mean_score} ${s.csat.mean === null ? "–" : decimal.format(s.csat.mean)} / 5`,
        `${count(s.csat.responses)} ${T.ratings}`,
        `${T.response_rate} ${s.csat.response_rate === null ? "–" : percent(100 * s.csat.response_rate)}`,
      ].join(" · ") },
    nps: { value: (s) => s.nps.score, show: npsScore, better: 1, points: true,
      sub: (s) => [
        `${count(s.nps.promoters)} ${T.promoters}`,
        `${count(s.nps.passives)} ${T.passives}`,
        `${count(s.nps.detractors)} ${T.detractors}`,
        `${count(s.nps.responses)} ${T.answers}`,
      ].join(" · ") },
  };
  for (const metric of DURATIONS) {
    CARDS[metric] = { value: (s) => s[metric].mean, show: duration, better: -1,
      sub: (s) => `${T.median} ${duration(s[metric].median)} · ${T.p90} ${duration(s[metric].p90)} · ${count(s[metric].count)} ${T.values}` };
  }

  function renderCards(current, previous) {
    for (const [key, card] of Object.entries(CARDS)) {
      const element = root.querySelector(`[data-kpi="${key}"]`);
      const now = card.value(current);
      element.querySelector(".value").textContent = card.show(now);
      element.querySelector(".sub").textContent = card.sub(current);
      renderDelta(element.querySelector(".delta"), now, card.better === null ? undefined : card.value(previous), card);
    }
  }

  /** "▼ 12 %" in green when lower is better and it went down; nothing for live numbers. */
  function renderDelta(element, now, before, card) {
    element.replaceChildren();
    if (before === undefined) return;
    const chip = document.createElement("span");
    chip.className = "chip neutral";
    const note = document.createElement("span");
    note.className = "note";
    note.textContent = T.vs_previous;
    if (now === null || before === null) {
      note.textContent = T.no_previous;
      element.append(note);
      return;
    }
    const change = card.points ? now - before : before === 0 ? (now === 0 ? 0 : null) : (100 * (now - before)) / before;
    if (change === null) {
      chip.textContent = `▲ ${T.new}`;
    } else if (Math.abs(change) < 0.05) {
      chip.textContent = `■ ${T.no_change}`;
    } else {
      const amount = card.points ? `${decimal.format(Math.abs(change))} ${T.points}` : percentOf(Math.abs(change));
      chip.textContent = `${change > 0 ? "▲" : "▼"} ${amount}`;
      if (card.better) chip.className = `chip ${Math.sign(change) === card.better ? "good" : "bad"}`;
    }
    element.append(chip, note);
  }

  function renderPeriod(since, until, length) {
    document.getElementById("period-label").textContent = rangeText(since, until);
    document.getElementById("compare-label").textContent = compareText(since, length);
    document.getElementById("tz-label").textContent = TZ;
  }

  function compareText(since, length) {
    const before = new Date(since.getTime() - length);
    const format = dateFormat({ dateStyle: "medium" });
    return fill(T.comparing, { start: format.format(before), end: format.format(new Date(since.getTime() - 1)) });
  }

  // --- Waiting now ------------------------------------------------------------------------------

  function renderWaiting(waiting) {
    state.waitingSince = waiting.since ? new Date(waiting.since) : null;
    document.getElementById("waiting-count").textContent = count(waiting.count);
    document.getElementById("waiting-note").textContent = waiting.count
      ? fill(T.waiting_since, { time: dateFormat({ dateStyle: "medium", timeStyle: "short" }).format(state.waitingSince) })
      : T.nobody_waiting;
    tickWaiting();
  }

  function tickWaiting() {
    const panel = document.getElementById("waiting");
    const longest = state.waitingSince ? Math.max(0, (Date.now() - state.waitingSince) / 1000) : null;
    document.getElementById("waiting-longest").textContent = longest === null ? "–" : duration(longest);
    panel.dataset.level = longest === null || longest < 300 ? "ok" : longest < 900 ? "warn" : "bad";
  }

  // --- Charts -------------------------------------------------------------------------------------

  function pointLabel(start, interval, length) {
    const date = new Date(start);
    if (interval === "hour") {
      const withDay = length > 86400000 * 1.01;
      return dateFormat(withDay ? { month: "short", day: "numeric", hour: "numeric" } : { hour: "numeric" }).format(date);
    }
    if (interval === "week") return fill(T.week_of, { date: dateFormat({ month: "short", day: "numeric" }).format(date) });
    if (interval === "month") return dateFormat({ month: "short", year: "numeric" }).format(date);
    return dateFormat({ month: "short", day: "numeric" }).format(date);
  }

  function chartOptions(kind, legend) {
    const show = kind === "duration" ? duration : kind === "percent" ? percent : kind === "nps" ? npsScore : count;
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: { duration: 250 },
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { display: legend, position: "bottom", labels: { boxWidth: 12, usePointStyle: true } },
        tooltip: {
          callbacks: {
            label(context) {
              const counts = context.dataset.counts || [];
              const n = counts[context.dataIndex];
              const text = `${context.dataset.label}: ${show(context.parsed.y)}`;
              return kind === "count" || n === undefined ? text : `${text} (${count(n)} ${T.values})`;
            },
          },
        },
      },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8, color: "#64748b" } },
        y: {
          beginAtZero: true,
          suggestedMax: kind === "percent" ? 100 : undefined,
          max: kind === "percent" || kind === "nps" ? 100 : undefined,
          min: kind === "nps" ? -100 : undefined,
          grid: { color: "#eef2f7" },
          ticks: { color: "#64748b", maxTicksLimit: 6, callback: (value) => show(value), precision: kind === "count" ? 0 : undefined },
        },
      },
    };
  }

  // Round steps for a time axis: ticks read "10 min, 20 min", not "1 h 23 min".
  const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
    21600, 43200, 86400, 172800, 604800, 1209600, 2592000];

  function durationStep(datasets) {
    const highest = Math.max(0, ...datasets.flatMap((dataset) => dataset.data.filter((v) => v !== null)));
    return DURATION_STEPS.find((step) => highest / step <= 5) || DURATION_STEPS[DURATION_STEPS.length - 1];
  }

  function drawChart(id, type, labels, datasets, kind) {
    let chart = charts[id];
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets = datasets;
    } else {
      const canvas = document.getElementById(`chart-${id}`);
      chart = charts[id] = new window.Chart(canvas, { type, data: { labels, datasets }, options: chartOptions(kind, datasets.length > 1) });
    }
    if (kind === "duration") chart.options.scales.y.ticks.stepSize = durationStep(datasets);
    // About one label per 80 px, so a phone does not print them on top of each other.
    chart.options.scales.x.ticks.maxTicksLimit = Math.max(3, Math.min(10, Math.floor(chart.canvas.clientWidth / 80)));
    chart.update(chart.$drawn ? "none" : undefined);
    chart.$drawn = true;
  }

  function line(metric, label, points) {
    return {
      label,
      data: points.map((point) => point.value),
      counts: points.map((point) => point.count),
      borderColor: COLORS[metric],
      backgroundColor: `${COLORS[metric]}22`,
      fill: true,
      cubicInterpolationMode: "monotone", // smooth, never overshooting 100 % or below 0
      spanGaps: true,
      pointRadius: points.length > 60 ? 0 : 2.5,
      borderWidth: 2,
    };
  }

  function renderCharts(series, interval, length) {
    const byMetric = Object.fromEntries(SERIES.map((metric, i) => [metric, series[i].points]));
    const labels = byMetric.created.map((point) => pointLabel(point.start, interval, length));
    document.getElementById("interval-label").textContent = `(${root.querySelector(`select[name=interval] option[value=${interval}]`).textContent.toLowerCase()})`;
    drawChart("volume", "bar", labels, ["created", "resolved", "reopened"].map((metric) => ({
      label: T[metric],
      data: byMetric[metric].map((point) => point.value),
      backgroundColor: COLORS[metric],
      borderRadius: 3,
      maxBarThickness: 28,
    })), "count");
    drawChart("csat", "line", labels, [line("csat", T.csat_percent, byMetric.csat)], "percent");
    drawChart("nps", "line", labels, [line("nps", T.nps, byMetric.nps)], "nps");
    for (const metric of DURATIONS) drawChart(metric, "line", labels, [line(metric, T.mean, byMetric[metric])], "duration");
  }

  // --- Agent table ----------------------------------------------------------------------------------

  const SORTS = {
    resolved: (a, b) => b.resolved - a.resolved || nullsLast(a.handle_time.mean, b.handle_time.mean, 1),
    handle: (a, b) => nullsLast(a.handle_time.mean, b.handle_time.mean, 1) || b.resolved - a.resolved,
    csat: (a, b) => nullsLast(a.csat.score_percent, b.csat.score_percent, -1) || b.csat.responses - a.csat.responses,
    nps: (a, b) => nullsLast(a.nps.score, b.nps.score, -1) || b.nps.responses - a.nps.responses,
  };

  function nullsLast(a, b, direction) {
    if (a === null && b === null) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    return direction * (a - b);
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function renderAgents() {
    const body = document.querySelector("#agent-table tbody");
    const rows = [...state.agents].sort(SORTS[state.sort]);
    for (const th of document.querySelectorAll("#agent-table th.sortable")) {
      if (th.dataset.sort === state.sort) th.setAttribute("aria-sort", state.sort === "handle" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = cell(T.no_agents, "empty");
      td.colSpan = 9;
      tr.append(td);
      body.replaceChildren(tr);
      return;
    }
    const most = Math.max(1, ...rows.map((row) => row.resolved));
    body.replaceChildren(...rows.map((row, index) => {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      const strong = document.createElement("span");
      strong.className = "agent-name";
      strong.textContent = row.agent.name || row.agent.email;
      const email = document.createElement("span");
      email.className = "agent-email";
      email.textContent = row.agent.email;
      name.append(strong, email);
      const resolved = cell("", "num");
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = "60px";
      const fillBar = document.createElement("span");
      fillBar.style.width = `${(100 * row.resolved) / most}%`;
      bar.append(fillBar);
      resolved.append(bar, document.createTextNode(count(row.resolved)));
      tr.append(
        cell(String(index + 1)),
        name,
        resolved,
        cell(duration(row.handle_time.mean), "num"),
        cell(percent(row.csat.score_percent), "num"),
        cell(count(row.csat.responses), "num hide-small"),
        cell(npsScore(row.nps.score), "num hide-small"),
        cell(duration(row.first_response_time.mean), "num hide-small"),
        cell(count(row.replies), "num hide-small"),
      );
      return tr;
    }));
  }

  // --- Export ---------------------------------------------------------------------------------------

  const exportButton = document.getElementById("export-button");
  const exportBox = document.getElementById("export-status");

  async function startExport() {
    const range = period();
    if (!range) {
      showError(T.custom_invalid);
      return;
    }
    exportButton.disabled = true;
    showExport(T.export_queued, 0);
    try {
      const job = await api("POST", "exports", { ...range, ...filters(), interval: state.interval_used || undefined });
      await followExport(job);
    } catch (error) {
      showExport(fill(T.export_failed, { message: errorText(error) }), 0);
    } finally {
      exportButton.disabled = false;
      loadExports();
    }
  }

  async function followExport(job) {
    while (job.status === "queued" || job.status === "running") {
      showExport(job.status === "queued" ? T.export_queued : fill(T.export_running, { progress: wholePercent(job.progress) }), job.progress);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      job = await getJSON(`exports/${job.id}`, {});
    }
    if (job.status === "failed") {
      showExport(fill(T.export_failed, { message: job.error || "" }), 0);
      return;
    }
    showExport(T.export_done, 100, job.download_url);
  }

  function showExport(message, progress, downloadUrl) {
    exportBox.hidden = false;
    exportBox.querySelector(".export-message").textContent = message;
    const bar = exportBox.querySelector(".progress");
    bar.setAttribute("aria-valuenow", String(progress));
    bar.firstElementChild.style.width = `${progress}%`;
    const link = document.getElementById("export-download");
    link.hidden = !downloadUrl;
    if (downloadUrl) link.href = downloadUrl;
  }

  async function loadExports() {
    const list = document.getElementById("export-list");
    let exports;
    try {
      exports = (await getJSON("exports", {})).results.slice(0, 5);
    } catch (error) {
      return; // the list is a convenience; the export itself reported its own errors
    }
    const when = dateFormat({ dateStyle: "medium", timeStyle: "short" });
    const day = dateFormat({ dateStyle: "medium" });
    list.replaceChildren(...exports.map((job) => {
      const item = document.createElement("li");
      const status = document.createElement("span");
      status.className = `status status-${job.status}`;
      status.textContent = T[`status_${job.status}`] || job.status;
      const what = document.createElement("span");
      what.textContent = `${rangeTextLoose(job.params, day)} · ${when.format(new Date(job.created_at))}`;
      item.append(status, what);
      if (job.download_url) {
        const link = document.createElement("a");
        link.href = job.download_url;
        link.textContent = T.download;
        link.setAttribute("download", "");
        item.append(link);
      } else if (job.error) {
        item.append(document.createTextNode(job.error));
      }
      return item;
    }));
  }

  function rangeTextLoose(params, format) {
    return `${format.format(new Date(params.since))} – ${format.format(new Date(new Date(params.until).getTime() - 1))}`;
  }

  // --- Live updates ---------------------------------------------------------------------------------

  function setLive(live) {
    const badge = document.getElementById("live-status");
    badge.dataset.state = live ? "live" : "polling";
    badge.querySelector(".live-text").textContent = live ? T.live : T.polling;
  }

  // Only listens (no cursors, no resume): live once open.
  const connection = liveConnection({
    url: () => socketUrl(root.dataset.socket),
    resume: false,
    onLive: setLive,
    onFrame: (event) => {
      // Sent by reports.tasks.update_reports after every recomputation (a burst of
      // conversation events costs one), so "open now" and "waiting now" follow too.
      if (event.type === "report.updated") {
        state.socketEvents += 1;
        scheduleRefresh();
      }
    },
    onClose: (closed) => closed.code !== 4401 && closed.code !== 4403, // not allowed: the timer carries on
  });

  // --- Filters ---------------------------------------------------------------------------------------

  function syncForm() {
    for (const radio of form.elements.period) radio.checked = radio.value === state.period;
    for (const key of [...SLICES, "interval"]) form.elements[key].value = state[key];
    form.elements.from.value = state.from || addDays(today(), -6);
    form.elements.to.value = state.to || today();
    form.elements.tz.value = TZ;
    form.querySelector(".custom-dates").hidden = state.period !== "custom";
  }

  function readForm() {
    state.period = form.elements.period.value;
    for (const key of [...SLICES, "interval"]) state[key] = form.elements[key].value;
    state.from = form.elements.from.value;
    state.to = form.elements.to.value;
    form.querySelector(".custom-dates").hidden = state.period !== "custom";
    const query = new URLSearchParams();
    for (const key of ["period", ...SLICES, "interval"]) {
      if (state[key] && !(key === "interval" && state[key] === "auto")) query.set(key, state[key]);
    }
    if (state.period === "custom") {
      query.set("from", state.from);
      query.set("to", state.to);
    }
    history.replaceState(null, "", `${location.pathname}${query.size ? `?${query}` : ""}`);
  }

  form.addEventListener("change", () => {
    readForm();
    refresh();
  });
  exportButton.addEventListener("click", startExport);
  for (const th of document.querySelectorAll("#agent-table th.sortable")) {
    th.querySelector("button").addEventListener("click", () => {
      state.sort = th.dataset.sort;
      renderAgents();
    });
  }

  // --- Start --------------------------------------------------------------------------------------------

  syncForm();
  if (state.period === "custom") readForm();
  window.hdReports = { refresh, charts, state, socket: () => connection.socket };
  refresh();
  loadExports();
  connection.connect();
  setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && Date.now() - state.lastRefresh > REFRESH_MS) refresh();
  });
  setInterval(tickWaiting, 1000);
})();

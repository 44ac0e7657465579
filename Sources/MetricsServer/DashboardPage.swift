/// The learner's live page, `GET /` on the metrics port: one HTML document with its script and style inline (no CDN,
/// nothing to install, works on an air-gapped cluster), which fetches `/status` and `/evaluations` every second and
/// draws them as SVG. The throughput and policy-lag charts cover the time since the page was opened (the learner
/// keeps rates, not their history); the evaluation curves cover the whole run. Elements the browser test reads carry ids
/// and `data-` attributes (Tests: python/tests/test_dashboard.py).
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ddpg learner</title>
<style>
  :root { --ink: #1d232b; --muted: #66707c; --line: #d9dee4; --accent: #1f6feb; --second: #d9480f; --good: #2b8a3e; --bad: #c92a2a; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f8fa; }
  header { padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0 12px 0 0; }
  .stat { white-space: nowrap; } .stat b { font-variant-numeric: tabular-nums; }
  #state { color: var(--muted); margin-left: auto; } #state.error { color: var(--bad); font-weight: 600; }
  main { padding: 16px 20px; display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
  section h2 { font-size: 14px; margin: 0 0 6px; } section.wide { grid-column: 1 / -1; }
  svg.chart { width: 100%; height: 240px; display: block; }
  svg text { font-size: 11px; fill: var(--muted); }
  .legend span { margin-right: 14px; color: var(--muted); } .legend i { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin-right: 4px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 3px 8px; border-bottom: 1px solid var(--line); } th:first-child, td:first-child, td.text { text-align: left; }
  th { color: var(--muted); font-weight: 600; } .off { color: var(--muted); } .empty { color: var(--muted); text-align: left; }
  progress { width: 140px; vertical-align: middle; }
</style>
</head>
<body data-refreshes="0">
<header>
  <h1>ddpg · <span id="environment">…</span></h1>
  <span class="stat">phase <b id="phase">…</b></span>
  <span class="stat">env steps <b id="env-steps">–</b> / <span id="max-env-steps">–</span> <progress id="progress" max="1" value="0"></progress></span>
  <span class="stat">updates <b id="updates">–</b></span>
  <span class="stat">weights v<b id="weights-version">–</b></span>
  <span class="stat">replay <b id="replay">–</b></span>
  <span class="stat">latest eval <b id="latest-eval">–</b></span>
  <span class="stat">solved at <b id="solved-at">–</b></span>
  <span class="stat">up <b id="uptime">–</b> s, ETA <b id="eta">–</b></span>
  <span id="state">connecting…</span>
</header>
<main>
  <section><h2>Evaluation return by env steps</h2><svg id="returns-by-steps" class="chart" data-points="0"></svg>
    <div class="legend"><span><i style="background:var(--accent)"></i>mean return (band: ± std)</span><span><i style="background:var(--good)"></i>solved</span></div></section>
  <section><h2>Evaluation return by training seconds</h2><svg id="returns-by-seconds" class="chart" data-points="0"></svg>
    <div class="legend"><span><i style="background:var(--accent)"></i>mean return</span><span><i style="background:var(--good)"></i>solved</span></div></section>
  <section><h2>Throughput (since this page opened)</h2><svg id="throughput" class="chart" data-points="0"></svg>
    <div class="legend"><span><i style="background:var(--accent)"></i>transitions/s <b id="transitions-per-second">–</b></span>
      <span><i style="background:var(--second)"></i>updates/s <b id="updates-per-second">–</b></span><span>last 10 s</span></div></section>
  <section><h2>Policy lag (since this page opened)</h2><svg id="policy-lag" class="chart" data-points="0"></svg>
    <div class="legend"><span><i style="background:var(--accent)"></i>mean, updates <b id="lag-updates">–</b></span>
      <span><i style="background:var(--second)"></i>max, updates</span><span>mean, versions <b id="lag-versions">–</b></span></div></section>
  <section class="wide"><h2>Workers and evaluators</h2>
    <table id="workers"><thead><tr><th>worker</th><th>role</th><th>session</th><th>state</th><th>envs</th><th>transitions</th><th>per s (10 s)</th>
      <th>episodes</th><th>last return</th><th>weights</th><th>gaps</th></tr></thead><tbody></tbody></table></section>
  <section class="wide"><h2>Rejections</h2>
    <table id="rejections"><thead><tr><th>reason</th><th>messages</th></tr></thead><tbody></tbody></table>
    <p id="rejection-totals" class="off"></p></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const number = (v, digits = 0) => v == null || !isFinite(v) ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const since = { uptime: [], transitions: [], updates: [], lagMean: [], lagMax: [] };
let lastUptime = null, learnerId = null;

// Axis ticks at 1, 2 or 5 times a power of ten, with the decimals their step needs.
function ticks(lo, hi, count) {
  const span = hi - lo || 1, raw = span / count, power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => span / s <= count) || 10 * power;
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push([Math.abs(v) < step * 1e-9 ? 0 : v, digits]);
  return out;
}

// series: [{color, points: [[x, y]], band: [[x, lo, hi]]?}]; level: a horizontal line (the solved return) or null.
function chart(svg, series, level, xLabel) {
  const width = svg.clientWidth || 600, height = svg.clientHeight || 240, left = 58, right = 12, top = 10, bottom = 34;
  const all = series.flatMap((s) => s.points.concat((s.band || []).flatMap(([x, lo, hi]) => [[x, lo], [x, hi]])));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.dataset.points = String(series.reduce((n, s) => n + s.points.length, 0));
  if (all.length === 0) { svg.innerHTML = `<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data yet</text>`; return; }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let ys = all.map((p) => p[1]).concat(level == null ? [] : [level]);
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const X = (x) => left + (x - x0) / (x1 - x0) * (width - left - right), Y = (y) => top + (y1 - y) / (y1 - y0) * (height - top - bottom);
  let body = "";
  for (const [t, digits] of ticks(y0, y1, 5)) body += `<line x1="${left}" x2="${width - right}" y1="${Y(t)}" y2="${Y(t)}" stroke="#eef1f4"/><text x="${left - 6}" y="${Y(t) + 4}" text-anchor="end">${number(t, digits)}</text>`;
  for (const [t, digits] of ticks(x0, x1, 6)) body += `<text x="${X(t)}" y="${height - bottom + 16}" text-anchor="middle">${number(t, digits)}</text>`;
  body += `<text x="${(left + width - right) / 2}" y="${height - 4}" text-anchor="middle">${xLabel}</text>`;
  body += `<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="#9aa4ae"/><line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="#9aa4ae"/>`;
  if (level != null) body += `<line class="level" x1="${left}" x2="${width - right}" y1="${Y(level)}" y2="${Y(level)}" stroke="var(--good)" stroke-dasharray="5 4"/>`;
  for (const s of series) {
    if (s.band && s.band.length > 1) {
      const upper = s.band.map(([x, , hi]) => `${X(x)},${Y(hi)}`), lower = s.band.slice().reverse().map(([x, lo]) => `${X(x)},${Y(lo)}`);
      body += `<polygon points="${upper.concat(lower).join(" ")}" fill="${s.color}" fill-opacity="0.12"/>`;
    }
    if (s.points.length > 0) body += `<polyline class="series" points="${s.points.map(([x, y]) => `${X(x)},${Y(y)}`).join(" ")}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
    for (const [x, y] of s.points.length <= 60 ? s.points : []) body += `<circle cx="${X(x)}" cy="${Y(y)}" r="2.5" fill="${s.color}"/>`;
  }
  svg.innerHTML = body;
}

function remember(status) {
  if (learnerId !== status.learner_id) { for (const k in since) since[k].length = 0; learnerId = status.learner_id; }
  if (status.uptime_seconds === lastUptime) return;
  lastUptime = status.uptime_seconds;
  since.uptime.push(status.uptime_seconds);
  since.transitions.push(status.transitions_per_second.last10s);
  since.updates.push(status.updates_per_second.last10s);
  since.lagMean.push(status.policy_lag_updates ? status.policy_lag_updates.mean : null);
  since.lagMax.push(status.policy_lag_updates ? status.policy_lag_updates.max : null);
  for (const k in since) if (since[k].length > 3600) since[k].shift();
}

function pairs(values) { return since.uptime.map((t, i) => [t, values[i]]).filter(([, v]) => typeof v === "number" && isFinite(v)); }

function render(status, allEvaluations) {
  remember(status);
  // A non-finite return (sent as "nan" or "inf") would blank a whole chart; such points are left out.
  const evaluations = allEvaluations.filter((e) => [e.env_steps, e.wall_seconds, e.mean_return, e.std_return].every((v) => typeof v === "number" && isFinite(v)));
  $("environment").textContent = status.environment || "environment not yet known";
  document.title = `ddpg · ${status.environment || "learner"} · ${number(status.env_steps)} steps`;
  $("phase").textContent = status.phase;
  $("env-steps").textContent = number(status.env_steps);
  $("max-env-steps").textContent = number(status.max_env_steps);
  $("progress").value = status.max_env_steps > 0 ? Math.min(1, status.env_steps / status.max_env_steps) : 0;
  $("updates").textContent = number(status.updates);
  $("weights-version").textContent = number(status.weights_version);
  $("replay").textContent = `${number(status.replay_size)} / ${number(status.replay_capacity)}`;
  const latest = status.latest_evaluation;
  $("latest-eval").textContent = latest ? `${number(latest.mean_return, 1)} at ${number(latest.env_steps)}` : "–";
  $("solved-at").textContent = status.solved_at_env_steps != null ? number(status.solved_at_env_steps) : (status.solved_return != null ? `not yet (${number(status.solved_return, 1)})` : "no target");
  $("uptime").textContent = number(status.uptime_seconds, 1);
  $("eta").textContent = status.eta_seconds != null ? `${number(status.eta_seconds)} s` : "–";
  $("transitions-per-second").textContent = number(status.transitions_per_second.last10s);
  $("updates-per-second").textContent = number(status.updates_per_second.last10s);
  $("lag-updates").textContent = status.policy_lag_updates ? number(status.policy_lag_updates.mean, 1) : "–";
  $("lag-versions").textContent = status.policy_lag ? number(status.policy_lag.mean, 2) : "–";

  const band = evaluations.map((e) => [e.env_steps, e.mean_return - e.std_return, e.mean_return + e.std_return]);
  chart($("returns-by-steps"), [{ color: "var(--accent)", points: evaluations.map((e) => [e.env_steps, e.mean_return]), band }], status.solved_return, "env steps");
  chart($("returns-by-seconds"), [{ color: "var(--accent)", points: evaluations.map((e) => [e.wall_seconds, e.mean_return]) }], status.solved_return, "training seconds");
  chart($("throughput"), [{ color: "var(--accent)", points: pairs(since.transitions) }, { color: "var(--second)", points: pairs(since.updates) }], null, "learner uptime, s");
  chart($("policy-lag"), [{ color: "var(--accent)", points: pairs(since.lagMean) }, { color: "var(--second)", points: pairs(since.lagMax) }], null, "learner uptime, s");

  const rows = status.workers.map((w) => `<tr class="${w.connected ? "" : "off"}" data-role="${escape(w.role)}"><td>${w.worker_id}</td><td class="text">${escape(w.role)}</td>` +
    `<td class="text">${w.session.toString(16).padStart(8, "0")}</td><td class="text">${w.finished ? "finished" : w.connected ? "connected" : "silent"}</td>` +
    `<td>${w.environments}</td><td>${number(w.transitions_received)}</td><td>${number(w.transitions_per_second.last10s)}</td><td>${number(w.episodes)}</td>` +
    `<td>${number(w.last_episode_return, 1)}</td><td>${number(w.weights_version)}</td><td>${number(w.sequence_gaps)}</td></tr>`);
  $("workers").tBodies[0].innerHTML = rows.join("") || `<tr><td class="empty" colspan="11">no worker has said hello yet</td></tr>`;
  const reasons = Object.entries(status.messages_rejected_by_reason || {}).sort((a, b) => b[1] - a[1]);
  $("rejections").tBodies[0].innerHTML = reasons.map(([r, n]) => `<tr><td>${escape(r)}</td><td>${number(n)}</td></tr>`).join("") ||
    `<tr><td class="empty" colspan="2">none</td></tr>`;
  $("rejection-totals").textContent = `${number(status.messages_rejected)} messages rejected of ${number(status.messages_accepted + status.messages_rejected)}; ` +
    `${number(status.transitions_rejected)} transitions inside them; ${number(status.rollbacks)} rollbacks`;
}

async function refresh() {
  const state = $("state");
  let status, evaluations;
  try {
    const [statusResponse, evaluationsResponse] = await Promise.all([fetch("status", { cache: "no-store" }), fetch("evaluations", { cache: "no-store" })]);
    if (!statusResponse.ok) { state.textContent = "waiting for the learner's first status"; state.className = ""; return; }
    status = await statusResponse.json();
    evaluations = evaluationsResponse.ok ? await evaluationsResponse.json() : [];
  } catch (error) {
    state.textContent = `learner unreachable (${error.message}); retrying`;
    state.className = "error";
    return;
  }
  try {
    render(status, evaluations);
  } catch (error) {
    state.textContent = `could not draw this status (${error.message})`;
    state.className = "error";
    return;
  }
  document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes) + 1);
  state.textContent = `updated ${new Date().toLocaleTimeString()}`;
  state.className = "";
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"""#
}

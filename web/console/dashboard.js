// Dashboard (supervisors and admins): the account's metrics for a range,
// as tiles, charts and a per-agent table (GET /api/v1/metrics).
import { chart } from "./charts.js";

const $ = (s, el = document) => el.querySelector(s);

const secs = (s) => (s >= 3600 ? (s / 3600).toFixed(1) + " h" : s >= 60 ? Math.round(s / 60) + " min" : Math.round(s) + " s");
const pct = (f) => Math.round(f * 100) + "%";

function range(kind) {
  const now = new Date();
  const to = new Date(Math.ceil(now.getTime() / 3600e3) * 3600e3);
  if (kind === "7d") return { from: new Date(to.getTime() - 7 * 86400e3), to, bucket: "day" };
  if (kind === "30d") return { from: new Date(to.getTime() - 30 * 86400e3), to, bucket: "day" };
  return { from: new Date(to.getTime() - 86400e3), to, bucket: "hour" };
}

function tile(label, value, note) {
  const d = document.createElement("div");
  d.className = "tile";
  const v = document.createElement("strong");
  v.textContent = value;
  const l = document.createElement("span");
  l.textContent = label;
  d.append(v, l);
  if (note) { const n = document.createElement("small"); n.textContent = note; d.append(n); }
  return d;
}

export async function showDashboard(api) {
  const f = $(".dash-form");
  const r = range(f.range.value);
  const qs = new URLSearchParams({ from: r.from.toISOString().replace(/\.\d+Z$/, "Z"), to: r.to.toISOString().replace(/\.\d+Z$/, "Z"), bucket: r.bucket });
  if (f.skill.value) qs.set("skill", f.skill.value);
  // Who was online, away (and why) or offline, span by span, over the same range.
  $(".dash-status-export").href = "/api/v1/exports/agent-status?format=csv&from=" + encodeURIComponent(qs.get("from")) + "&to=" + encodeURIComponent(qs.get("to"));
  if (f.agent.value) qs.set("agent", f.agent.value);
  let m;
  try {
    m = await api("GET", "/metrics?" + qs);
    $(".dash-error").textContent = "";
  } catch (e) {
    $(".dash-error").textContent = e.message;
    return;
  }
  const t = m.totals;
  const plural = (n, one) => `${n} ${n === 1 ? one : one + "s"}`;
  // A duration with no sample in the range says so, rather than "0 s".
  const durationTile = (name, d, extra = "") => d.count
    ? tile(name, secs(d.mean_seconds), "median " + secs(d.p50_seconds) + " · p90 " + secs(d.p90_seconds) + extra)
    : tile(name, "—", "none in this range");
  const tiles = $(".dash-tiles");
  tiles.textContent = "";
  tiles.append(
    tile("conversations opened", String(t.conversations_opened)),
    tile("closed", String(t.conversations_closed)),
    tile("bot containment", t.bot_conversations ? pct(t.containment_rate) : "—", `${t.bot_contained} of ${t.bot_conversations}`),
    tile("bot handoff rate", t.bot_conversations ? pct(t.handoff_rate) : "—", plural(t.bot_handoffs, "handoff")),
    durationTile("time in queue", t.queue_wait),
    durationTile("first response", t.first_response, t.first_response_in_target != null ? " · " + pct(t.first_response_in_target) + " within target" : ""),
    durationTile("handle time", t.handle_time),
    tile("messages / conversation", String(t.messages_per_conversation)),
    tile("CSAT", t.csat_count ? t.csat_mean.toFixed(2) + " / 5" : "—", plural(t.csat_count, "rating")),
    tile("widget loads · opens", `${t.widget_loads} · ${t.widget_opens}`, plural(t.widget_tamper_reports, "tamper report")),
  );
  const labels = m.buckets.map((b) => {
    const d = new Date(b.start);
    return m.bucket === "hour" ? d.getHours() + ":00" : d.getMonth() + 1 + "/" + d.getDate();
  });
  const charts = $(".dash-charts");
  charts.textContent = "";
  charts.append(
    chart({ title: "Conversations", labels, counts: true, series: [
      { name: "opened", values: m.buckets.map((b) => b.opened), color: "#1f5eff" },
      { name: "closed", values: m.buckets.map((b) => b.closed), color: "#12b76a" },
    ] }),
    chart({ title: "Waiting and first response (mean)", labels, format: secs, series: [
      { name: "time in queue", values: m.buckets.map((b) => (b.queue_waits ? b.queue_wait_mean_seconds : null)), color: "#f79009", kind: "line" },
      { name: "first response", values: m.buckets.map((b) => (b.first_responses ? b.first_response_mean_seconds : null)), color: "#7a5af8", kind: "line" },
    ] }),
    chart({ title: "Bot", labels, counts: true, series: [
      { name: "contained", values: m.buckets.map((b) => b.bot_contained), color: "#12b76a" },
      { name: "handed off", values: m.buckets.map((b) => b.bot_handoffs), color: "#f04438" },
    ] }),
    // Staffing beside demand: how many people were online, on average.
    chart({ title: "Agents online (average)", labels, series: [
      { name: "agents online", values: m.buckets.map((b) => b.agents_online || 0), color: "#12b76a", kind: "line" },
    ] }),
    chart({ title: "CSAT distribution", labels: ["1", "2", "3", "4", "5"], counts: true, series: [
      { name: "ratings", values: t.csat_distribution, color: "#1f5eff" },
    ] }),
  );
  // A group's row: conversations with a label, or with a field's value.
  const groupRow = (first, g) => {
    const tr = document.createElement("tr");
    for (const c of [...first, String(g.conversations), String(g.closed), g.first_response.count ? secs(g.first_response.mean_seconds) : "—",
      g.handle_time.count ? secs(g.handle_time.mean_seconds) : "—", g.csat_count ? g.csat_mean.toFixed(2) : "—"]) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.append(td);
    }
    return tr;
  };
  const lt = $(".dash-labels tbody");
  lt.textContent = "";
  for (const l of m.labels || []) lt.append(groupRow([l.label], l));
  // The brand's list and checkbox fields: contact reasons, wrap-up codes.
  const ft = $(".dash-fields tbody");
  ft.textContent = "";
  for (const f of m.fields || []) {
    const value = f.value === "true" ? "yes" : f.value === "false" ? "no" : f.value;
    ft.append(groupRow([f.label || f.key, value], f));
  }
  $(".dash-fields").hidden = $(".dash-fields-title").hidden = !(m.fields || []).length;
  // Proactive engagements: how often each invitation was shown, taken up
  // and turned into a conversation (LivePerson's engagement report).
  const et = $(".dash-engagements tbody");
  et.textContent = "";
  for (const e of m.engagements || []) {
    const tr = document.createElement("tr");
    for (const c of [e.name || e.id, String(e.shown), String(e.clicked), String(e.dismissed), String(e.conversations),
      e.shown ? pct(e.click_rate) : "—", e.shown ? pct(e.conversion_rate) : "—", e.csat_count ? e.csat_mean.toFixed(2) : "—"]) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.append(td);
    }
    et.append(tr);
  }
  if (!et.children.length) {
    const td = Object.assign(document.createElement("td"), { colSpan: 8, textContent: "No invitation was shown in this range." });
    et.append(document.createElement("tr"));
    et.lastChild.append(td);
  }
  // Agents' own invitations to visitors on the site (the Visitors tab).
  const it = $(".dash-invitations tbody");
  it.textContent = "";
  for (const i of m.invitations || []) {
    const tr = document.createElement("tr");
    for (const c of [i.name || i.agent, String(i.sent), String(i.answered), String(i.declined), String(i.withdrawn), i.sent ? pct(i.answer_rate) : "—"]) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.append(td);
    }
    it.append(tr);
  }
  $(".dash-invitations").hidden = $(".dash-invitations-title").hidden = !it.children.length;
  const tb = $(".dash-agents tbody");
  tb.textContent = "";
  for (const a of m.agents) {
    const tr = document.createElement("tr");
    const st = a.status || { online_seconds: 0, away_seconds: 0, away: {} };
    const away = Object.entries(st.away).sort((x, y) => y[1] - x[1])
      .map(([why, s]) => (why === "auto_away" ? "inactive" : why || "no reason") + " " + secs(s)).join(", ");
    for (const c of [a.name || a.id, a.assigned, a.closed, secs(a.first_response.mean_seconds), secs(a.handle_time.mean_seconds),
      a.csat_count ? a.csat_mean.toFixed(2) : "—", pct(a.utilisation), secs(st.online_seconds),
      st.away_seconds ? secs(st.away_seconds) + " (" + away + ")" : "0 s", a.occupancy != null ? pct(a.occupancy) : "—"]) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.append(td);
    }
    tb.append(tr);
  }
}

export async function fillSkills(api) {
  const f = $(".dash-form");
  if (f.skill.length > 1 || f.agent.length > 1) return;
  const [s, u] = await Promise.all([api("GET", "/skills"), api("GET", "/users")]);
  for (const k of s.skills) f.skill.append(new Option(k.name, k.id));
  for (const x of u.users) f.agent.append(new Option(x.name || x.email, x.id));
}

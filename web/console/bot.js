// Bot editor (admins): settings, knowledge-base articles, intents, flows as
// JSON, import/export, and a test box that shows what the bot would answer
// — on the draft being edited — and with what confidence.
const $ = (s, el = document) => el.querySelector(s);

let api = null;
let doc = null; // { version, config }
let skills = [];
let widgetLanguage = ""; // the widget's fixed language, "" when it follows the browser
let testSession = null;

// richText shows HTML the server rendered from Markdown and sanitised.
// DOMParser never runs scripts; links open outside the console.
export function richText(html) {
  const div = document.createElement("div");
  div.className = "text rich";
  div.append(...new DOMParser().parseFromString(html, "text/html").body.childNodes);
  for (const a of div.querySelectorAll("a")) {
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  }
  return div;
}

export async function showBot(apiFn) {
  api = apiFn;
  const [d, s, w] = await Promise.all([api("GET", "/bot"), api("GET", "/skills"), api("GET", "/widget-settings")]);
  doc = d;
  skills = s.skills;
  widgetLanguage = w.language || "";
  render();
  loadMissed();
}

// The questions the bot got wrong lately (not understood, its guesses
// turned down, or its answer said not to help), most asked first. "Teach" adds one to an intent's training
// phrases or an article's example questions in the draft; saving the bot
// trains it, and taught questions leave the list.
async function loadMissed() {
  const list = $(".bot-missed-list");
  let page;
  try {
    page = await api("GET", "/bot/missed?limit=20");
  } catch (e) {
    $(".bot-missed-status").textContent = "Could not load the missed questions: " + e.message;
    return;
  }
  list.textContent = "";
  $(".bot-missed-status").textContent = page.items.length ? "" : "Nothing missed lately.";
  for (const q of page.items) list.append(missedItem(q));
}

// targets lists what a question can be taught to, from the draft being
// edited: its intents and its articles.
function targets() {
  const out = [];
  for (const d of document.querySelectorAll(".bot-intent")) {
    const name = $("[name=name]", d).value.trim();
    if (name) out.push({ label: "intent:" + name, text: "Intent: " + name, field: $("[name=phrases]", d) });
  }
  for (const d of document.querySelectorAll(".bot-article")) {
    const id = $("[name=id]", d).value.trim();
    if (id) out.push({ label: "article:" + id, text: "Article: " + ($("[name=title]", d).value.trim() || id), field: $("[name=questions]", d) });
  }
  return out;
}

function missedItem(q) {
  const li = document.createElement("li");
  const text = document.createElement("span");
  text.className = "bot-missed-question";
  text.textContent = q.question;
  const count = document.createElement("span");
  count.className = "bot-missed-count";
  const answered = targets().find((x) => x.label === q.answer);
  const why = { not_understood: "not understood", declined: "both guesses turned down",
    unhelpful: `answered with ${answered ? answered.text : q.answer}: did not help` }[q.reason] || q.reason;
  count.textContent = why + " · " + (q.count > 1 ? `asked ${q.count} times · ` : "") + "last " + new Date(q.last_at).toLocaleString();
  const to = document.createElement("select");
  to.setAttribute("aria-label", "Teach the bot to answer “" + q.question + "” with");
  const fill = () => {
    const chosen = to.value || q.best_guess;
    to.length = 0;
    to.append(new Option("Teach it as…", ""));
    for (const x of targets()) to.append(new Option(x.text, x.label, false, x.label === chosen));
  };
  fill();
  to.addEventListener("focus", fill); // intents added to the draft since
  const teach = document.createElement("button");
  teach.type = "button";
  teach.textContent = "Teach";
  teach.addEventListener("click", () => {
    const target = targets().find((x) => x.label === to.value);
    if (!target) {
      $(".bot-missed-status").textContent = "Choose the intent or article that answers it first.";
      to.focus();
      return;
    }
    target.field.value = [...lines(target.field.value), q.question].join("\n");
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    $(".bot-missed-status").textContent = `Added “${q.question}” to ${target.text}. Save the bot to train it.`;
    // Keyboard users go on with the next question, or to Save.
    ((next && $("select", next)) || $(".bot-save")).focus();
  });
  li.append(text, count, to, teach);
  return li;
}

function error(text) { $(".bot-error").textContent = text || ""; }

function lines(text) { return text.split("\n").map((l) => l.trim()).filter(Boolean); }

function field(label, el) {
  const l = document.createElement("label");
  l.append(label + " ", el);
  return l;
}

function input(name, value, attrs = {}) {
  const el = document.createElement(attrs.multiline ? "textarea" : "input");
  el.name = name;
  el.value = value || "";
  if (attrs.multiline) el.rows = attrs.rows || 3;
  if (attrs.placeholder) el.placeholder = attrs.placeholder;
  return el;
}

function removeButton(label, el) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => el.remove());
  return b;
}

function articleEditor(a) {
  const d = document.createElement("details");
  d.className = "bot-article";
  const sum = document.createElement("summary");
  sum.textContent = a.title || "New article";
  d.append(sum,
    field("Id", input("id", a.id, { placeholder: "returns" })),
    field("Title", input("title", a.title)),
    field("Answer (Markdown)", input("body", a.body, { multiline: true, rows: 5 })),
    field("Example questions, one per line", input("questions", (a.questions || []).join("\n"), { multiline: true })),
    removeButton("Delete article", d));
  $("[name=title]", d).addEventListener("input", (e) => (sum.textContent = e.target.value || "New article"));
  return d;
}

function intentEditor(i, flows) {
  const d = document.createElement("details");
  d.className = "bot-intent";
  const sum = document.createElement("summary");
  sum.textContent = i.name || "New intent";
  const flow = document.createElement("select");
  flow.name = "flow";
  flow.append(new Option("— answer with text —", ""));
  for (const f of flows) flow.append(new Option("flow: " + f, f, false, f === i.flow));
  d.append(sum,
    field("Name", input("name", i.name, { placeholder: "order_status" })),
    field("Training phrases, one per line", input("phrases", (i.phrases || []).join("\n"), { multiline: true, rows: 4 })),
    field("Answer (Markdown)", input("answer", i.answer, { multiline: true })),
    field("Or run", flow),
    removeButton("Delete intent", d));
  $("[name=name]", d).addEventListener("input", (e) => (sum.textContent = e.target.value || "New intent"));
  return d;
}

function render() {
  error("");
  const c = doc.config;
  $(".bot-version").textContent = doc.version ? "Version " + doc.version : "No bot yet";
  const f = $(".bot-settings");
  f.enabled.checked = !!c.enabled;
  f.name.value = c.name || "";
  // A bot without a language starts in the widget's (when the bot speaks it).
  const speaks = [...f.language.options].map((o) => o.value);
  f.language.value = c.language || (speaks.includes(widgetLanguage) ? widgetLanguage : "en");
  f.answer_at.value = c.handoff?.answer_at ?? 0.6;
  f.confirm_at.value = c.handoff?.confirm_at ?? 0.3;
  f.max_misses.value = c.handoff?.max_misses ?? 2;
  f.fallback.value = c.fallback || "";
  f.greeting.value = c.greeting || "";
  f.skill.length = 1;
  for (const s of skills) f.skill.append(new Option(s.name, s.name, false, s.name === c.handoff?.skill || s.id === c.handoff?.skill));
  const arts = $(".bot-articles");
  arts.textContent = "";
  for (const a of c.articles || []) arts.append(articleEditor(a));
  const flows = (c.flows || []).map((x) => x.name);
  const ints = $(".bot-intents");
  ints.textContent = "";
  for (const i of c.intents || []) ints.append(intentEditor(i, flows));
  $(".bot-flows").value = JSON.stringify(c.flows || [], null, 2);
}

// collect reads the draft back from the editor.
function collect() {
  const f = $(".bot-settings");
  let flows;
  try {
    flows = JSON.parse($(".bot-flows").value || "[]");
  } catch (e) {
    throw new Error("Flows: " + e.message);
  }
  const c = {
    ...doc.config,
    enabled: f.enabled.checked,
    name: f.name.value.trim(),
    language: f.language.value,
    fallback: f.fallback.value.trim(),
    greeting: f.greeting.value.trim(),
    handoff: { ...(doc.config.handoff || {}), answer_at: +f.answer_at.value, confirm_at: +f.confirm_at.value, max_misses: +f.max_misses.value, skill: f.skill.value },
    flows,
  };
  c.articles = [...document.querySelectorAll(".bot-article")].map((d) => ({
    id: $("[name=id]", d).value.trim(), title: $("[name=title]", d).value.trim(), body: $("[name=body]", d).value,
    questions: lines($("[name=questions]", d).value),
  }));
  c.intents = [...document.querySelectorAll(".bot-intent")].map((d) => {
    const i = { name: $("[name=name]", d).value.trim(), phrases: lines($("[name=phrases]", d).value) };
    const flow = $("[name=flow]", d).value;
    if (flow) i.flow = flow;
    else i.answer = $("[name=answer]", d).value;
    return i;
  });
  return c;
}

async function save() {
  error("");
  try {
    doc = await api("PUT", "/bot", collect(), doc.version ? { "If-Match": String(doc.version) } : {});
    render();
    $(".bot-version").textContent = "Saved · version " + doc.version;
    loadMissed();
  } catch (e) {
    error(e.status === 409 ? "Someone else saved the bot meanwhile. Reload the Bot tab to see their version." : e.message);
  }
}

async function importFile(file) {
  error("");
  const types = { yaml: "application/yaml", yml: "application/yaml", json: "application/json", csv: "text/csv" };
  const ext = file.name.split(".").pop().toLowerCase();
  try {
    doc = await api("POST", "/bot/import?file=" + encodeURIComponent(file.name), new Blob([await file.text()], { type: types[ext] || "text/plain" }));
    render();
    $(".bot-version").textContent = "Imported " + file.name + " · version " + doc.version;
    loadMissed();
  } catch (e) {
    error(e.message);
  }
}

function logLine(who, content) {
  const li = document.createElement("li");
  const b = document.createElement("strong");
  b.textContent = who + " ";
  li.append(b, content);
  $(".bot-test-log").append(li);
}

async function test(text) {
  error("");
  let out;
  try {
    out = await api("POST", "/bot/test", { text, config: collect(), session: testSession || undefined });
  } catch (e) {
    error(e.message);
    return;
  }
  testSession = out.session;
  logLine("Visitor:", document.createTextNode(text));
  const c = out.classification;
  const pct = (p) => Math.round(p * 100) + "%";
  const what = document.createElement("span");
  what.className = "bot-verdict";
  what.textContent = `${out.band}` + (c.label ? ` · ${c.label} · ${pct(c.confidence)}` : "") +
    (c.top && c.top.length ? " · top: " + c.top.map((s) => `${s.label} ${pct(s.probability)}`).join(", ") : "");
  logLine("Understood:", what);
  for (const m of out.messages || []) {
    const body = m.html ? richText(m.html) : document.createTextNode(m.text);
    const span = document.createElement("span");
    span.append(body);
    if (m.choices && m.choices.length) {
      const ch = document.createElement("span");
      ch.className = "bot-choices";
      for (const x of m.choices) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = x.label;
        b.addEventListener("click", () => test(x.value || x.label));
        ch.append(b);
      }
      span.append(ch);
    }
    logLine("Bot:", span);
  }
  if (out.handoff) logLine("→", document.createTextNode("hands off to people (" + out.handoff.reason.replaceAll("_", " ") + ")"));
}

$(".bot-save").addEventListener("click", save);
$(".bot-import").addEventListener("change", (e) => { if (e.target.files[0]) importFile(e.target.files[0]); e.target.value = ""; });
$(".bot-add-article").addEventListener("click", () => { const d = articleEditor({}); d.open = true; $(".bot-articles").append(d); $("[name=id]", d).focus(); });
$(".bot-add-intent").addEventListener("click", () => {
  let flows = [];
  try { flows = JSON.parse($(".bot-flows").value || "[]").map((f) => f.name); } catch { /* shown on save */ }
  const d = intentEditor({}, flows);
  d.open = true;
  $(".bot-intents").append(d);
  $("[name=name]", d).focus();
});
$(".bot-test-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = e.target.text.value.trim();
  e.target.text.value = "";
  if (text) test(text);
});
$(".bot-test-reset").addEventListener("click", () => { testSession = null; $(".bot-test-log").textContent = ""; });

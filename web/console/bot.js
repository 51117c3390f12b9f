// Bot editor (admins): settings, knowledge-base articles, intents, flows
// (step by step), import/export, a test box that shows what the bot would
// answer — on the draft being edited — and with what confidence, and the
// questions the bot missed, to teach it.
const $ = (s, el = document) => el.querySelector(s);

let api = null;
let doc = null; // { version, config }
let skills = [];
let widgetLanguage = ""; // the widget's fixed language, "" when it follows the browser
let testSession = null;
let ignored = []; // the draft's ignored questions (see the missed questions)

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
  loadHelpStats();
}

// How the articles fare in the widget's help center: read how often,
// and found helpful or not (docs/widget.md, Help center).
async function loadHelpStats() {
  const table = $(".bot-help-stats");
  let out;
  try {
    out = await api("GET", "/bot/help-stats");
  } catch (e) {
    $(".bot-help-status").textContent = "Could not load the help center's figures: " + e.message;
    return;
  }
  const tb = $("tbody", table);
  tb.textContent = "";
  for (const a of out.articles) {
    const tr = document.createElement("tr");
    for (const v of [a.title, a.views, a.helpful, a.not_helpful, a.agent_uses + (a.agent_edited ? " (" + a.agent_edited + " changed)" : "")]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.append(td);
    }
    tb.append(tr);
  }
  const read = out.articles.some((a) => a.views > 0 || a.agent_uses > 0);
  table.hidden = !read;
  $(".bot-help-status").textContent = read ? "Lately, most read first; “Sent by agents” counts the replies begun from an article's suggestion." : "No article read in the widget or sent by agents lately (Admin → Widget turns the help center on).";
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
  // One line per phrase: a question written on several lines becomes one.
  const phrase = q.question.replace(/\s+/g, " ").trim();
  const li = document.createElement("li");
  const text = document.createElement("span");
  text.className = "bot-missed-question";
  text.textContent = q.question;
  text.title = q.question; // shown whole on hover when clamped to three lines
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
  const teach = button("Teach", () => {
    const target = targets().find((x) => x.label === to.value);
    if (!target) {
      $(".bot-missed-status").textContent = "Choose the intent or article that answers it first.";
      to.focus();
      return;
    }
    target.field.value = [...lines(target.field.value), phrase].join("\n");
    done(`Added “${phrase}” to ${target.text}. Save the bot to train it.`);
  });
  const ignore = button("Ignore", () => {
    ignored.push(q.question);
    done(`Ignored “${q.question}”. Save the bot to keep it off this list.`);
  }, "Ignore “" + q.question + "”");
  // done takes the question off the list; keyboard users go on with the
  // next question, or to Save.
  const done = (status) => {
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    $(".bot-missed-status").textContent = status;
    ((next && $("select", next)) || $(".bot-save")).focus();
  };
  li.append(text, count, to, teach, ignore);
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

function button(label, onClick, ariaLabel) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (ariaLabel) b.setAttribute("aria-label", ariaLabel);
  b.addEventListener("click", onClick);
  return b;
}

function removeButton(label, el) { return button(label, () => el.remove()); }

// editorBox is a collapsible editor of one article, intent or flow, its
// summary following the field that names it.
function editorBox(className, nameInput, untitled) {
  const d = document.createElement("details");
  d.className = className;
  const sum = document.createElement("summary");
  sum.textContent = nameInput.value || untitled;
  nameInput.addEventListener("input", () => (sum.textContent = nameInput.value || untitled));
  d.append(sum);
  return d;
}

function articleEditor(a) {
  const title = input("title", a.title);
  const d = editorBox("bot-article", title, "New article");
  d.append(
    field("Id", input("id", a.id, { placeholder: "returns" })),
    field("Title", title),
    field("Answer (Markdown)", input("body", a.body, { multiline: true, rows: 5 })),
    field("Example questions, one per line", input("questions", (a.questions || []).join("\n"), { multiline: true })),
    removeButton("Delete article", d));
  return d;
}

function intentEditor(i, flows) {
  const name = input("name", i.name, { placeholder: "order_status" });
  const d = editorBox("bot-intent", name, "New intent");
  const flow = document.createElement("select");
  flow.name = "flow";
  flow.append(new Option("— answer with text —", ""));
  const fill = (names, value) => {
    flow.length = 1;
    for (const f of names) flow.append(new Option("flow: " + f, f, false, f === value));
  };
  fill(flows, i.flow);
  flow.addEventListener("focus", () => fill(flowNames(), flow.value)); // flows added to the draft since
  d.append(
    field("Name", name),
    field("Training phrases, one per line", input("phrases", (i.phrases || []).join("\n"), { multiline: true, rows: 4 })),
    field("Answer (Markdown)", input("answer", i.answer, { multiline: true })),
    field("Or run", flow),
    removeButton("Delete intent", d));
  return d;
}

// Flows are edited as steps: each step shows the fields its kind uses.
const stepKinds = {
  say: "Say", ask: "Ask and store the answer", branch: "Branch on an attribute",
  webhook: "Call a webhook", handoff: "Hand off to people", end: "End",
};
const stepFields = {
  text: ["say", "ask", "handoff", "end"], choices: ["say", "ask"], buttons: ["say", "ask"],
  attribute: ["ask", "branch"], validate: ["ask"], retry: ["ask"], cases: ["branch"],
  url: ["webhook"], on_error: ["webhook"], skill: ["handoff"], close: ["end"], next: ["say", "ask", "branch", "webhook"],
};

function checkbox(name, checked) {
  const el = document.createElement("input");
  el.type = "checkbox";
  el.name = name;
  el.checked = !!checked;
  return el;
}

function select(name, options, value) {
  const el = document.createElement("select");
  el.name = name;
  for (const [v, label] of options) el.append(new Option(label, v, false, v === value));
  if (value && el.value !== value) el.append(new Option(value, value, false, true)); // kept as it was
  return el;
}

function stepEditor(st) {
  const li = document.createElement("li");
  li.className = "bot-step";
  const kind = select("kind", Object.entries(stepKinds), st.kind || "say");
  const cases = (st.cases || []).map((c) => `${c.equals} -> ${c.next}`).join("\n");
  const fields = {
    text: field("Text (Markdown)", input("text", st.text, { multiline: true, rows: 2 })),
    choices: field("Choices, one per line", input("choices", (st.choices || []).join("\n"), { multiline: true, rows: 2 })),
    buttons: field("Show choices as buttons", checkbox("buttons", st.buttons)),
    attribute: field("Attribute", input("attribute", st.attribute, { placeholder: "order_number" })),
    validate: field("Answer must be", select("validate", [["", "default (a choice, if there are any)"], ["text", "text"], ["email", "an email address"], ["number", "a number"], ["choice", "one of the choices"]], st.validate || "")),
    retry: field("When it is not", input("retry", st.retry, { placeholder: "Said when the answer does not validate" })),
    cases: field("Cases, one per line: value -> step", input("cases", cases, { multiline: true, rows: 2 })),
    url: field("HTTPS URL", input("url", st.url, { placeholder: "https://example.com/hook" })),
    on_error: field("If it fails, go to step (empty: hand off)", input("on_error", st.on_error)),
    skill: field("To", select("skill", [["", "the bot's handoff queue"], ...skills.map((x) => [x.name, x.name])], st.skill || "")),
    close: field("Also close the conversation", checkbox("close", st.close)),
    next: field("Then go to step (empty: end the flow)", input("next", st.next)),
  };
  for (const [name, label] of Object.entries(fields)) label.dataset.field = name;
  const show = () => {
    li.dataset.kind = kind.value;
    for (const [name, label] of Object.entries(fields)) label.hidden = !stepFields[name].includes(kind.value);
  };
  kind.addEventListener("change", show);
  const tools = document.createElement("span");
  tools.className = "bot-step-tools";
  // Moving a step keeps the keyboard on the button that moved it.
  const up = button("↑", () => { li.previousElementSibling?.before(li); up.focus(); }, "Move step up");
  const down = button("↓", () => { li.nextElementSibling?.after(li); down.focus(); }, "Move step down");
  tools.append(up, down, removeButton("Delete step", li));
  li.append(field("Step id", input("id", st.id, { placeholder: "ask_email" })), field("Kind", kind), ...Object.values(fields), tools);
  show();
  return li;
}

function flowEditor(f) {
  const name = input("flow_name", f.name, { placeholder: "track_order" });
  const d = editorBox("bot-flow", name, "New flow");
  const steps = document.createElement("ol");
  steps.className = "bot-steps";
  for (const st of f.steps || []) steps.append(stepEditor(st));
  const add = button("Add step", () => {
    const li = stepEditor({ kind: "say" });
    steps.append(li);
    $("[name=id]", li).focus();
  });
  add.className = "bot-add-step";
  d.append(field("Name", name), steps, add, removeButton("Delete flow", d));
  return d;
}

// readStep reads a step back, with only the fields its kind uses.
function readStep(li) {
  const kind = $("[name=kind]", li).value;
  const st = { id: $("[name=id]", li).value.trim(), kind };
  const uses = (name) => stepFields[name].includes(kind);
  const text = (name) => $(`[name=${name}]`, li).value.trim();
  if (uses("text") && text("text")) st.text = $("[name=text]", li).value;
  if (uses("choices") && text("choices")) st.choices = lines($("[name=choices]", li).value);
  if (uses("buttons") && $("[name=buttons]", li).checked) st.buttons = true;
  for (const name of ["attribute", "validate", "retry", "url", "on_error", "skill", "next"]) {
    if (uses(name) && text(name)) st[name] = text(name);
  }
  if (uses("cases")) {
    st.cases = lines($("[name=cases]", li).value).map((l) => {
      const [equals, next = ""] = l.split(/\s*(?:->|→)\s*/);
      return { equals, next };
    });
  }
  if (uses("close") && $("[name=close]", li).checked) st.close = true;
  return st;
}

function render() {
  error("");
  const c = doc.config;
  ignored = [...(c.ignored_questions || [])];
  $(".bot-version").textContent = doc.version ? "Version " + doc.version : "No bot yet";
  const f = $(".bot-settings");
  f.enabled.checked = !!c.enabled;
  f.name.value = c.name || "";
  // A bot without a language starts in the widget's (when the bot speaks it).
  const speaks = [...f.language.options].map((o) => o.value);
  f.language.value = c.language || (speaks.includes(widgetLanguage) ? widgetLanguage : "en");
  f.answer_at.value = c.handoff?.answer_at ?? 0.6;
  f.confirm_at.value = c.handoff?.confirm_at ?? 0.45;
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
  const fl = $(".bot-flow-list");
  fl.textContent = "";
  for (const x of c.flows || []) fl.append(flowEditor(x));
}

// flowNames lists the draft's flows, for the intents' "Or run" choice.
function flowNames() {
  return [...document.querySelectorAll(".bot-flow [name=flow_name]")].map((el) => el.value.trim()).filter(Boolean);
}

// collect reads the draft back from the editor.
function collect() {
  const f = $(".bot-settings");
  const flows = [...document.querySelectorAll(".bot-flow")].map((d) => ({
    name: $("[name=flow_name]", d).value.trim(),
    steps: [...d.querySelectorAll(".bot-step")].map(readStep),
  }));
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
  if (ignored.length) c.ignored_questions = ignored.slice(-5000); // the oldest go past the limit
  else delete c.ignored_questions;
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
    (c.check ? ` · answer check ${pct(c.check)}` : "") +
    (c.top && c.top.length ? " · top: " + c.top.map((s) => `${s.label} ${pct(s.probability)}`).join(", ") : "");
  if (c.held) what.append(document.createElement("br"), Object.assign(document.createElement("span"), { className: "bot-held", textContent: "Not answered outright: " + c.held }));
  logLine("Understood:", what);
  const mood = document.createElement("span");
  mood.className = "bot-sentiment";
  mood.textContent = `${out.sentiment.mood} (${out.sentiment.score.toFixed(2)})`;
  logLine("Sounds:", mood);
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

// check runs the draft's intents against their own phrases and shows the
// weakest first.
async function check() {
  error("");
  const status = $(".bot-check-status");
  const table = $(".bot-check-table");
  let report;
  status.textContent = "Checking…";
  try {
    report = await api("POST", "/bot/check", { config: collect() });
  } catch (e) {
    status.textContent = "";
    error(e.message);
    return;
  }
  const pct = (p) => Math.round(p * 100) + "%";
  const few = report.labels.filter((lc) => lc.phrases < 10).length;
  status.textContent = `${report.phrases} phrases, ${pct(report.accuracy)} recognised as their own intent or article.` +
    (few ? ` ${few} of ${report.labels.length} have fewer than 10 phrases: a bot learns an intent from ten or more, in the words visitors use.` : "");
  const tb = $("tbody", table);
  tb.textContent = "";
  for (const lc of report.labels) {
    const tr = document.createElement("tr");
    if (lc.accuracy < 0.8) tr.className = "weak";
    const taken = lc.confused ? `${lc.confused_with_title} (${lc.confused} of ${lc.phrases})` : "—";
    for (const text of [lc.title, String(lc.phrases), pct(lc.accuracy), taken]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    tb.append(tr);
  }
  table.hidden = report.labels.length === 0;
}

$(".bot-save").addEventListener("click", save);
$(".bot-check-run").addEventListener("click", check);
$(".bot-import").addEventListener("change", (e) => { if (e.target.files[0]) importFile(e.target.files[0]); e.target.value = ""; });
$(".bot-add-article").addEventListener("click", () => { const d = articleEditor({}); d.open = true; $(".bot-articles").append(d); $("[name=id]", d).focus(); });
$(".bot-add-flow").addEventListener("click", () => {
  const d = flowEditor({ steps: [{ id: "start", kind: "say" }] });
  d.open = true;
  $(".bot-flow-list").append(d);
  $("[name=flow_name]", d).focus();
});
$(".bot-add-intent").addEventListener("click", () => {
  const d = intentEditor({}, flowNames());
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

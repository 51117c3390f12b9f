// Parley chat window. It runs in an iframe on Parley's origin: the host
// page can neither read it nor its storage. It talks to the page's loader
// by postMessage (exact origins, schema-checked) and to Parley over the
// realtime protocol (docs/protocol.md).
import { pick } from "./strings.js";
import { newClientId } from "./clientid.js";

const params = new URLSearchParams(location.search);
const account = params.get("account") || "";
const pv = params.get("pv") || "";
// The page that embeds us: the browser's own record when it has one.
const host = (location.ancestorOrigins && location.ancestorOrigins[0]) || params.get("host") || "";
const key = (name) => `parley.${account}.${name}`;
const $ = (sel) => document.querySelector(sel);

let t = pick("", navigator.languages);
let cfg = null;
let ws = null, authed = false, open = false, backoff = 500;
let token = localStorage.getItem(key("token"));
let conversationId = localStorage.getItem(key("conversation"));
let lastSeq = 0, unread = 0, maxChars = 4096, maxFile = 10 << 20, opening = false, typingPreview = false, emailTranscript = false;
const outbox = JSON.parse(localStorage.getItem(key("outbox")) || "[]");
const rendered = new Map(); // client_id or seq → element
let readSeq = 0, agentReadSeq = 0, agentDeliveredSeq = 0, deliveredSeq = 0;

function beacon(kind, detail) {
  const body = JSON.stringify({ account, pv, kind, url: host, detail: detail || "" });
  navigator.sendBeacon("/widget/beacon", body);
}

function toPage(msg) {
  if (host) parent.postMessage({ parley: 1, ...msg }, host);
}

// ---- Messages from the page ------------------------------------------------
const schema = {
  open: () => true,
  engage: (d) => d && typeof d === "object" && typeof d.id === "string" && d.id.length <= 40,
  answerInvitation: (d) => d && typeof d === "object" && typeof d.id === "string" && d.id.length <= 40,
  close: () => true,
  identify: (d) => d && typeof d === "object" && typeof d.token === "string" && d.token.length < 8192,
  setAttributes: (d) => d && typeof d === "object" && !Array.isArray(d) && Object.keys(d).length <= 50 &&
    Object.entries(d).every(([k, v]) => typeof k === "string" && k.length <= 100 && typeof v === "string" && v.length <= 1000),
};
let forged = 0;
window.addEventListener("message", (ev) => {
  if (ev.source !== parent || ev.origin !== host) return; // not our page: ignore silently
  const m = ev.data;
  const valid = m && m.parley === 1 && typeof m.type === "string" && Object.hasOwn(schema, m.type) && schema[m.type](m.data);
  if (!valid) {
    forged++;
    beacon("forged", String(forged));
    return;
  }
  if (m.type === "open") setOpen(true);
  else if (m.type === "engage") engaged(m.data.id);
  else if (m.type === "answerInvitation") invitationAnswered(m.data.id);
  else if (m.type === "close") setOpen(false);
  else if (m.type === "identify") identity = identity.then(() => identify(m.data.token));
  else if (m.type === "setAttributes") {
    if (m.data.page_url) { pageNow = { url: m.data.page_url, title: m.data.page_title || "" }; recordPage(); }
    identity = identity.then(() => setAttributes(m.data));
  }
});

// ---- Pages ---------------------------------------------------------------------
// The page this frame was loaded on goes to the open conversation once, so
// the agent sees where the visitor is and where they have been. A
// conversation that starts later gets it when it opens.
let pageNow = null;
const pagesRecorded = new Set();
function recordPage() {
  const id = conversationId;
  if (!pageNow || !id || !token || pagesRecorded.has(id)) return;
  pagesRecorded.add(id);
  fetch("/api/v1/conversations/" + encodeURIComponent(id) + "/pages", {
    method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token }, body: JSON.stringify(pageNow),
  }).catch(() => pagesRecorded.delete(id));
}

// setAttributes records what the brand's page knows of the visitor (plan,
// cart value, ...) on the consumer, for the agents' visitor panel.
async function setAttributes(attrs) {
  try {
    await tokenNow();
    await fetch("/api/v1/consumers/me", {
      method: "PATCH", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify({ attributes: attrs }),
    });
  } catch (e) { console.warn("Parley: attributes not saved: " + e.message); }
}

// Token changes run one at a time: a new visitor's anonymous token and an
// identity switch must not overwrite each other.
let identity = Promise.resolve();
let switching = false;

// identify turns this browser into the person the brand vouches for: the
// same consumer, and so the same conversations, on every device.
async function identify(identityToken) {
  const res = await fetch("/api/v1/consumer-tokens", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ account_id: account, identity_token: identityToken }),
  });
  if (!res.ok) {
    const e = await res.json().catch(() => ({}));
    console.warn("Parley: the visitor's identity token was refused (" + ((e.error && e.error.message) || "HTTP " + res.status) + "); continuing anonymously.");
    return;
  }
  const out = await res.json();
  if (out.consumer.id === localStorage.getItem(key("consumer"))) return; // already this person
  localStorage.setItem(key("token"), out.token);
  localStorage.setItem(key("consumer"), out.consumer.id);
  localStorage.removeItem(key("conversation"));
  const list = await fetch("/api/v1/conversations?limit=20", { headers: { Authorization: "Bearer " + out.token } }).then((r) => r.json());
  const live = (list.conversations || []).find((c) => c.state !== "closed");
  if (live) localStorage.setItem(key("conversation"), live.id);
  switching = true; // nothing else may write the identity until the reload
  location.reload();
}

// ---- Start -------------------------------------------------------------------
async function start() {
  const res = await fetch("/widget/config?account=" + encodeURIComponent(account));
  if (!res.ok) {
    console.error("Parley: this chat could not start: account " + account + " is unknown.");
    return;
  }
  cfg = await res.json();
  t = pick(cfg.language, navigator.languages);
  document.documentElement.lang = t.lang;
  const allowed = cfg.allowed_origins || [];
  if (!host || (allowed.length && !allowed.includes(host))) {
    console.error(`Parley: this chat refuses to start on ${host || "an unknown page"}: the brand allows it on ${allowed.join(", ")}.`);
    const p = $(".refused");
    p.textContent = t("notAllowed");
    p.hidden = false;
    return;
  }
  if (cfg.color) brandColours(cfg.color);
  if (cfg.max_chars) maxChars = cfg.max_chars;
  typingPreview = !!cfg.typing_preview;
  emailTranscript = !!cfg.email_transcript;
  if (cfg.max_attachment_bytes) maxFile = cfg.max_attachment_bytes;
  $(".title").textContent = cfg.label || t("title");
  showTeam(cfg.team || []);
  document.querySelectorAll("[data-i18n]").forEach((el) => (el.textContent = t(el.dataset.i18n)));
  document.querySelectorAll("[data-i18n-label]").forEach((el) => el.setAttribute("aria-label", t(el.dataset.i18nLabel)));
  $(".chat").hidden = false;
  followLog();
  makeEarlier();
  if (cfg.greeting) addSystem(cfg.greeting);
  if (answering && !conversationId) showAnswering();
  outbox.forEach(renderPending);
  bindComposer();
  bindForm();
  if (cfg.help_center) bindHelp();
  await checkForm();
  toPage({ type: "ready" });
  setInterval(heartbeat, cfg.heartbeat_ms || 10000); // the first goes with tellBusy, below
  if (token) adopted = adoptOpenConversation();
  await adopted;
  tellBusy();
  if (token && conversationId) connect();
}

// adoptOpenConversation shows the visitor's newest open conversation when
// it is not the one this browser knows: one an agent started with them
// from the console, or one their answer by email opened (docs/widget.md).
// A connection waits for it (opening the window connects at once).
let adopted = Promise.resolve();
// recent is the visitor's newest conversations as the page found them,
// read once for both this and the earlier conversations (findEarlier).
let recent = null;
async function adoptOpenConversation() {
  try {
    const res = await fetch("/api/v1/conversations?limit=20", { headers: { Authorization: "Bearer " + token } });
    if (!res.ok) return;
    recent = (await res.json()).conversations || [];
    const live = recent.find((c) => c.state !== "closed");
    if (live && live.id !== conversationId) {
      conversationId = live.id;
      localStorage.setItem(key("conversation"), live.id);
    }
  } catch (e) { /* offline: the one stored */ }
}

function setOpen(v) {
  open = v;
  if (v) {
    if (cfg) checkForm();
    unread = 0;
    toPage({ type: "unread", count: 0 });
    // What arrived while the window was closed is at the log's end.
    requestAnimationFrame(() => { if (atEnd) log().scrollTop = log().scrollHeight; });
    $("#text").focus();
    markRead();
    if (!ws) connect();
    if (earlier === null && token) findEarlier();
  }
}

// ---- Connection --------------------------------------------------------------
async function ensureToken() {
  await identity;
  return tokenNow();
}

// tokenNow is ensureToken for work already in the identity chain (waiting
// for the chain from inside it would never end).
// Callers that need a token while one is being fetched (the connection,
// an upload, a message sent at once) share that request: two would make
// the visitor two people.
let tokenRequest = null;
async function tokenNow() {
  if (switching) throw new Error("switching identity");
  if (token) return token;
  tokenRequest ??= (async () => {
    try {
      const res = await fetch("/api/v1/consumer-tokens", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ account_id: account }),
      });
      if (!res.ok) throw new Error("consumer token: HTTP " + res.status);
      const out = await res.json();
      if (switching) throw new Error("switching identity");
      token = out.token;
      localStorage.setItem(key("token"), token);
      localStorage.setItem(key("consumer"), out.consumer.id);
      return token;
    } finally {
      tokenRequest = null;
    }
  })();
  return tokenRequest;
}

function status(text) { $(".status").textContent = text; }

let connecting = false; // waiting for a token to connect with: one socket at a time
let lost = false; // the connection dropped: the status says offline until it is back
async function connect() {
  if (ws || connecting) return;
  connecting = true;
  if (!lost) status(t("connecting")); // a retry does not flicker "Offline" away
  try {
    await ensureToken();
    await adopted;
  } catch (e) {
    return retry();
  } finally {
    connecting = false;
  }
  if (ws) return;
  const sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws");
  ws = sock;
  sock.onopen = () => sock.send(JSON.stringify({ type: "auth", id: "auth", token }));
  sock.onmessage = (ev) => onFrame(JSON.parse(ev.data));
  sock.onclose = (ev) => {
    ws = null;
    authed = false;
    if (ev.code === 4003) { // the brand blocked this visitor: say so, and do not come back as another
      const p = $(".refused");
      p.textContent = t("blocked");
      p.hidden = false;
      $(".chat").hidden = true;
      status(t("blocked"));
      return;
    }
    if (ev.code === 4001) { // our token is no longer valid: start over as a new visitor
      token = null; conversationId = null;
      localStorage.removeItem(key("token"));
      localStorage.removeItem(key("conversation"));
    }
    lost = true;
    status(t("offline"));
    retry();
  };
}

function retry() {
  ws = null;
  setTimeout(connect, backoff);
  backoff = Math.min(backoff * 2, 15000);
}

function send(frame) {
  if (ws && authed && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
}

// While the server replays what this page has not seen (after a reload or
// a reconnect), receipts wait for the end of it: one for the newest
// message, not one per message of the history.
let replaying = false;
function subscribe(afterSeq) {
  replaying = true;
  send({ type: "subscribe", id: "sub", conversation_id: conversationId, after_seq: afterSeq });
}

let pinger = 0;
function onFrame(f) {
  handleFrame(f);
  showEnd();
}

// The visitor may end the conversation (LivePerson's "End conversation"):
// a first press asks, a second within 5 s ends it; the close arrives as
// any close does, with the rating after it. Not while a message is on its
// way: refused by the closed conversation, it would open a new one.
let endAsked = 0;
function showEnd() {
  const b = $(".end");
  b.hidden = !conversationId || !authed || outbox.length > 0;
  if (!endAsked) b.textContent = t("endChat");
}
async function endChat() {
  const b = $(".end");
  if (!conversationId) return;
  if (!endAsked) {
    b.textContent = t("endChatConfirm");
    endAsked = setTimeout(() => { endAsked = 0; showEnd(); }, 5000);
    return;
  }
  clearTimeout(endAsked);
  endAsked = 0;
  b.hidden = true;
  await fetch("/api/v1/conversations/" + encodeURIComponent(conversationId) + "/close", {
    method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    body: JSON.stringify({ reason: "ended_by_visitor" }),
  }).catch(() => {});
}

function handleFrame(f) {
  switch (f.type) {
    case "authenticated":
      authed = true;
      lost = false;
      backoff = 500;
      maxChars = f.limits.max_chars;
      status(t(replyKey));
      clearInterval(pinger);
      pinger = setInterval(() => send({ type: "ping" }), f.limits.heartbeat_seconds * 1000);
      if (conversationId) subscribe(lastSeq);
      else if (outbox.length) openConversation();
      break;
    case "opened":
      opening = false;
      conversationId = f.conversation.id;
      lastSeq = readSeq = deliveredSeq = agentReadSeq = agentDeliveredSeq = 0; // seqs are per conversation
      localStorage.setItem(key("conversation"), conversationId);
      answered();
      tellBusy();
      subscribe(0);
      followLine(f.conversation.state);
      recordPage();
      openWaiters.splice(0).forEach((resolve) => resolve());
      break;
    case "subscribed":
      replaying = false;
      if (f.conversation_id === conversationId) { followLine(f.state); if (f.state !== "closed") recordPage(); }
      if (f.state === "closed" && f.conversation_id === conversationId) {
        // It closed while this page was away (an agent ended it, or it was
        // auto-closed after the visitor went quiet): what the visitor
        // wrote meanwhile starts a new conversation.
        onClosed(f.conversation_id, f.close_reason);
        if (outbox.length) openConversation();
        break;
      }
      flush();
      markDelivered();
      markRead();
      break;
    case "message":
      if (f.conversation_id === conversationId) onMessage(f.message);
      break;
    case "redacted": // staff removed what a message said
      if (f.conversation_id === conversationId || f.conversation_id === closedShown) showRemoved(f.message.seq);
      break;
    case "conversation":
      if (f.conversation.id === conversationId) followLine(f.conversation.state);
      if (f.event === "conversation.closed" && f.conversation.id === conversationId) onClosed(f.conversation.id, f.conversation.close_reason);
      break;
    case "ack":
      onAck(f);
      break;
    case "typing":
      if (f.typing.side !== "consumer") showTyping(f.typing);
      break;
    case "receipt":
      if (f.receipt.side === "agent") {
        if (f.receipt.kind === "read") agentReadSeq = Math.max(agentReadSeq, f.receipt.seq);
        else agentDeliveredSeq = Math.max(agentDeliveredSeq, f.receipt.seq);
        updateTicks();
      }
      break;
    case "error":
      if (f.id === "sub") replaying = false; // no replay is coming
      if (f.id === "sub" && f.code === "not_found") { // the conversation is gone (another device, or erased)
        conversationId = null;
        localStorage.removeItem(key("conversation"));
        if (outbox.length) openConversation();
      } else if (f.code === "rate_limited" && f.id && f.id.startsWith("send:")) {
        // Too many at once (a long outbox): it stays in the outbox and
        // everything unacknowledged goes again, in order, shortly.
        clearTimeout(resendTimer);
        resendTimer = setTimeout(flush, 1500);
      } else if ((f.code === "conflict" || f.code === "not_found") && f.id && f.id.startsWith("send:")) {
        // Closed, or gone (erased while this window was open): start a new
        // conversation; the outbox goes there.
        conversationId = null;
        localStorage.removeItem(key("conversation"));
        openConversation();
      } else if ((f.code === "unavailable" || f.code === "internal") && f.id && f.id.startsWith("send:")) {
        // The server could not take it just now: everything unacknowledged goes again shortly.
        clearTimeout(resendTimer);
        resendTimer = setTimeout(flush, 3000);
      } else if (f.id && f.id.startsWith("send:")) {
        // Refused for good (invalid, too_large: say a message written under
        // a higher limit, waiting in the outbox): sending it again cannot
        // help, and it must not hold up what follows.
        notSent(f.id.slice("send:".length));
      }
      break;
  }
}

// onClosed ends the conversation on this side and asks how it went. The
// next message the visitor writes starts a new conversation.
// ---- Place in line ------------------------------------------------------------
// While the conversation waits for a person, the window says the visitor's
// place in line ("You're number 3 in line") and, when the server can tell,
// the expected wait, asked again every 10 s as those ahead are served
// (GET …/queue).
let linePoll = 0;
// waitText words the estimated wait, when the server has one (the pace
// at which the queue was served in the last hour).
function waitText(seconds) {
  if (!seconds) return "";
  const minutes = Math.round(seconds / 60);
  return " " + (seconds < 60 ? t("waitUnderMinute") : minutes >= 60 ? t("waitOverHour") : t("waitMinutes", { n: minutes }));
}
function followLine(state) {
  clearInterval(linePoll);
  linePoll = 0;
  if (state !== "queued") { $(".line").textContent = ""; return; }
  const id = conversationId;
  const look = async () => {
    try {
      const res = await fetch("/api/v1/conversations/" + encodeURIComponent(id) + "/queue", { headers: { Authorization: "Bearer " + token } });
      if (!res.ok || id !== conversationId) return;
      const q = await res.json();
      $(".line").textContent = !q.position ? "" : (q.position === 1 ? t("nextInLine") : t("placeInLine", { n: q.position })) + waitText(q.estimated_wait_seconds);
      if (q.state !== "queued") followLine(q.state);
    } catch (e) { /* offline: asked again at the next round */ }
  };
  look();
  linePoll = setInterval(look, cfg?.heartbeat_ms || 10000);
}

// closedShown is a closed conversation still on screen: the window stays
// subscribed to it, so that a message staff remove afterwards goes from it
// too, until the visitor starts another.
let closedShown = null;
function leaveClosed() {
  if (closedShown) send({ type: "unsubscribe", conversation_id: closedShown });
  closedShown = null;
}

function onClosed(id, reason) {
  followLine("closed");
  conversationId = null;
  localStorage.removeItem(key("conversation"));
  leaveClosed();
  tellBusy();
  closedShown = id;
  addSystem(t(reason === "inactive" ? "closedIdle" : "closed"));
  const b = bubble("system");
  addText(b, t("csatAsk"));
  const row = document.createElement("div");
  row.className = "choices csat";
  for (let score = 1; score <= 5; score++) {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.textContent = "★".repeat(score);
    btn.setAttribute("aria-label", score + " / 5");
    btn.addEventListener("click", async () => {
      row.querySelectorAll("button").forEach((x) => (x.disabled = true));
      const res = await rate(id, score, "");
      if (!res.ok) { row.remove(); return; }
      row.replaceWith(csatComment(id, score));
    });
    row.append(btn);
  }
  b.append(row);
  // A copy of the conversation to keep (the visitor's own, without the
  // brand's notes).
  const save = document.createElement("button");
  save.type = "button";
  save.className = "link transcript";
  save.textContent = t("transcript");
  save.addEventListener("click", async () => {
    const res = await fetch("/api/v1/conversations/" + encodeURIComponent(id) + "/transcript", { headers: { Authorization: "Bearer " + token } });
    if (!res.ok) return;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await res.blob());
    a.download = "conversation-" + id + ".txt";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });
  b.append(save);
  if (emailTranscript) b.append(emailMe(id));
  if (askTopic()) checkForm(); // the next conversation's topic
}

// emailMe offers the conversation by email: to the address the visitor
// gave, or to the one they type here (POST …/transcript/email).
function emailMe(id) {
  const box = document.createElement("div");
  const ask = Object.assign(document.createElement("button"), { type: "button", className: "link email-me", textContent: t("emailMe") });
  ask.addEventListener("click", () => {
    const f = document.createElement("form");
    f.className = "email-me-form";
    const input = Object.assign(document.createElement("input"), { type: "email", name: "email", placeholder: t("emailMePlaceholder"), autocomplete: "email" });
    input.setAttribute("aria-label", t("email"));
    const go = Object.assign(document.createElement("button"), { type: "submit", textContent: t("emailMeSend") });
    const said = Object.assign(document.createElement("p"), { className: "email-me-status" });
    said.setAttribute("role", "status");
    f.append(input, go, said);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      go.disabled = true;
      const body = { language: t.lang };
      if (input.value.trim()) body.email = input.value.trim();
      const res = await fetch("/api/v1/conversations/" + encodeURIComponent(id) + "/transcript/email", {
        method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token }, body: JSON.stringify(body),
      }).catch(() => null);
      go.disabled = false;
      if (res && res.ok) { said.textContent = t("emailMeSent"); input.disabled = go.disabled = true; return; }
      said.textContent = !res ? t("emailMeFailed") : res.status === 429 ? t("emailMeAgain") : res.status === 400 ? t("emailRequired") : t("emailMeFailed");
    });
    ask.replaceWith(f);
    input.focus();
  });
  box.append(ask);
  return box;
}

function rate(id, score, comment) {
  return fetch("/api/v1/conversations/" + encodeURIComponent(id) + "/csat", {
    method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    body: JSON.stringify({ score, comment }),
  });
}

// csatComment thanks the visitor for the score (already recorded) and
// offers to say more; the comment joins the score.
function csatComment(id, score) {
  const form = document.createElement("form");
  form.className = "csat-more";
  const label = document.createElement("label");
  label.textContent = t("csatThanks") + " " + t("csatMore");
  const box = document.createElement("textarea");
  box.rows = 2;
  box.maxLength = 1000;
  label.append(box);
  const send = Object.assign(document.createElement("button"), { type: "submit", textContent: t("send") });
  form.append(label, send);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const comment = box.value.trim();
    if (!comment) return;
    send.disabled = true;
    const res = await rate(id, score, comment);
    form.replaceWith(Object.assign(document.createElement("span"), { textContent: res.ok ? t("csatThanks") : "" }));
  });
  return form;
}

function openConversation() {
  if (opening || creating || !authed) return;
  opening = true;
  send({ type: "open", id: "open", ...answeringFields() });
}

// ---- Proactive engagement and agents' invitations ---------------------------
// The visitor clicked the page's teaser: the chat shows the brand's words
// (an engagement's) or an agent's (their invitation), and the conversation
// the visitor starts answers it — the server stores those words as its
// first message (docs/widget.md). Kept for the visit, so a reload before
// the first message keeps it.
let answering = JSON.parse(sessionStorage.getItem(key("answering")) || "null");
function engaged(id) {
  const e = cfg && (cfg.engagements || []).find((x) => x.id === id);
  if (e) answer({ engagement: id, text: e.text });
}
function invitationAnswered(id) {
  invitationShown = null;
  const inv = invitations.get(id);
  if (inv) answer({ invitation: id, text: inv.text, name: inv.agent_name });
}
function answer(a) {
  if (conversationId) return;
  answering = a;
  sessionStorage.setItem(key("answering"), JSON.stringify(a));
  showAnswering();
}
function showAnswering() {
  log().querySelector(".answering:not([data-seq])")?.remove();
  saidBy(answering.text, answering.name).parentElement.classList.add("answering");
}
// saidBy shows words of the brand, or of one of its people, as theirs.
function saidBy(text, name) {
  const who = name || cfg.name || t("agent");
  const b = bubble("theirs", who, initials(who));
  addText(b, text);
  return b;
}
function answeringFields() {
  if (!answering) { const skill = chosenTopic(); return skill ? { skill } : {}; }
  return answering.invitation ? { invitation: answering.invitation } : { engagement: answering.engagement };
}
function answered() {
  answering = null;
  sessionStorage.removeItem(key("answering"));
  localStorage.removeItem(key("topic")); // the next conversation asks again
}

// An agent's invitation comes back with the heartbeat; the page shows it
// beside the launcher, once (docs/widget.md, Live visitors). Once the
// heartbeat no longer brings it (withdrawn by staff, or lapsed), the page
// takes it away.
const invitations = new Map();
let invitationShown = null;
async function heartbeat() {
  const body = JSON.stringify({ account, pv, kind: "heartbeat", url: host, detail: conversationId ? "chat" : "" });
  try {
    // The token says who is on the page, for the agents' visitor list.
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const res = await fetch("/widget/beacon", { method: "POST", body, keepalive: true, headers });
    if (res.status !== 200 && res.status !== 204) return;
    const inv = res.status === 200 ? (await res.json()).invitation : null;
    if (invitationShown && (!inv || inv.id !== invitationShown)) {
      toPage({ type: "invitationGone", id: invitationShown });
      invitationShown = null;
    }
    if (!inv || invitations.has(inv.id) || conversationId) return;
    invitations.set(inv.id, inv);
    invitationShown = inv.id;
    toPage({ type: "invitation", id: inv.id, text: inv.text, name: inv.agent_name });
  } catch (e) { /* offline: the next one */ }
}

// tellBusy lets the page know whether the visitor is in a conversation,
// so that no invitation interrupts one.
// The server hears it at once too (the agents' visitor list says who is
// in a conversation).
function tellBusy() {
  toPage({ type: "busy", value: !!conversationId });
  heartbeat();
}

// ---- Outbox: sent in order, once, across reloads and reconnects ------------
function saveOutbox() { localStorage.setItem(key("outbox"), JSON.stringify(outbox)); }

let resendTimer = 0;
function flush() {
  if (!authed || !conversationId) return;
  for (const m of outbox) {
    send({ type: "send", id: "send:" + m.client_id, conversation_id: conversationId, client_id: m.client_id, message: { type: "text", text: m.text } });
  }
}

// spendChoices disables the quick replies shown so far: once the visitor
// has answered, they are spent (also when the answer comes from history).
function spendChoices() {
  for (const b of log().querySelectorAll(".choices:not(.csat) button")) b.disabled = true;
}

function submit(text) {
  spendChoices();
  const m = { client_id: newClientId(), text };
  outbox.push(m);
  saveOutbox();
  renderPending(m);
  if (!ws) connect();
  else if (!conversationId) openConversation();
  else send({ type: "send", id: "send:" + m.client_id, conversation_id: conversationId, client_id: m.client_id, message: { type: "text", text } });
}

// notSent takes a refused message out of the outbox and says so on it.
function notSent(clientId) {
  const i = outbox.findIndex((m) => m.client_id === clientId);
  if (i >= 0) { outbox.splice(i, 1); saveOutbox(); }
  const el = rendered.get(clientId);
  if (!el) return;
  el.classList.add("failed");
  setMeta(el, t("notSent"));
  el.querySelector(".meta").setAttribute("role", "alert");
}

function onAck(f) {
  const i = outbox.findIndex((m) => m.client_id === f.client_id);
  if (i >= 0) { outbox.splice(i, 1); saveOutbox(); }
  const el = rendered.get(f.client_id);
  if (el) { el.dataset.seq = f.seq; setMeta(el, t("sent")); }
}

// ---- Rendering (textContent only: message content is never HTML) -----------
const log = () => $(".log");

function bubble(cls, who, initials, into = log()) {
  const li = document.createElement("li");
  li.className = "msg " + cls;
  if (initials) {
    const av = document.createElement("span");
    av.className = "avatar";
    av.setAttribute("aria-hidden", "true");
    av.textContent = initials;
    li.append(av);
  }
  const b = document.createElement("div");
  b.className = "bubble";
  if (who) {
    const w = document.createElement("span");
    w.className = "who";
    w.textContent = who;
    b.append(w);
  }
  li.append(b);
  into.append(li);
  return b;
}

// showTeam shows the faces the brand chose for the header (docs/widget.md,
// Photos), named together for screen readers ("Zoe, Sam and Priya").
function showTeam(team) {
  const el = $(".team");
  el.hidden = !team.length;
  if (!team.length) return;
  el.textContent = "";
  // A face, or the first name's initial for someone without a photo
  // (the names are said once, by the group's label).
  for (const m of team) {
    el.append(m.photo ? Object.assign(new Image(), { src: m.photo, alt: "" })
      : Object.assign(document.createElement("span"), { className: "initial", textContent: initials(m.name) }));
  }
  let names = team.map((m) => m.name).join(", ");
  try { names = new Intl.ListFormat(t.lang, { type: "conjunction" }).format(team.map((m) => m.name)); } catch (e) { /* an old browser: commas */ }
  el.setAttribute("aria-label", names);
}

// showPhoto puts the person's photo in place of their initials once it
// has loaded (docs/widget.md, Photos); without one (404), the initials
// stay. The browser keeps each person's for a while, so a chat full of
// their messages asks once.
function showPhoto(b, m) {
  if (m.sender_kind !== "agent" || !m.sender_id) return;
  const av = b.parentElement.querySelector(".avatar");
  if (!av) return;
  const img = new Image();
  img.alt = "";
  img.addEventListener("load", () => { av.textContent = ""; av.append(img); av.classList.add("photo"); });
  img.src = "/widget/photo?account=" + encodeURIComponent(account) + "&user=" + encodeURIComponent(m.sender_id);
}

// The log follows what arrives — a message's text, its quick replies, an
// image that finished loading — while the visitor is at its end; once they
// scroll up to read, it stays where they are until they send.
let atEnd = true;
function followLog() {
  const el = log();
  const toEnd = () => { if (atEnd) el.scrollTop = el.scrollHeight; };
  el.addEventListener("scroll", () => { atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 40; });
  new MutationObserver(toEnd).observe(el, { childList: true, subtree: true, characterData: true });
  el.addEventListener("load", toEnd, true); // images, which do not bubble their load
}

function addText(b, text) {
  const p = document.createElement("span");
  p.className = "text";
  p.textContent = text;
  b.append(p);
}

function setMeta(el, text) {
  let m = el.querySelector(".meta");
  if (!m) { m = document.createElement("span"); m.className = "meta"; el.querySelector(".bubble").append(m); }
  m.textContent = text;
}

// addHTML shows a bot answer the server rendered from Markdown and
// sanitised. DOMParser never runs scripts, and the frame's CSP forbids
// inline ones anyway; links open outside the frame.
function addHTML(b, html) {
  const div = document.createElement("div");
  div.className = "text rich";
  const doc = new DOMParser().parseFromString(html, "text/html");
  div.append(...doc.body.childNodes);
  for (const a of div.querySelectorAll("a")) {
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  }
  b.append(div);
}

function addSystem(text) { addText(bubble("system"), text); }

// A system message's notice in the visitor's language; its English text
// when this widget does not know the notice.
const notices = { agent_joined: "agentJoined", transferred: "transferred", in_line: "inLine", idle_warning: "idleWarning" };
function noticeText(m) {
  const key = m.notice && notices[m.notice.code];
  return key ? t(key, m.notice.args) : m.text;
}

function renderPending(m) {
  atEnd = true; // the visitor's own words bring the log back to its end
  const b = bubble("mine");
  addText(b, m.text);
  rendered.set(m.client_id, b.parentElement);
  setMeta(b.parentElement, t("sending"));
}

function initials(name) {
  return (name || "?").split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
}

// showRemoved empties a message staff removed, keeping its place.
function showRemoved(seq) {
  const li = log().querySelector(`.msg[data-seq="${seq}"]`);
  const b = li && li.querySelector(".bubble");
  if (!b) return;
  for (const el of [...b.children]) if (!el.classList.contains("who")) el.remove();
  const p = document.createElement("span");
  p.className = "text removed";
  p.textContent = t("removed");
  b.append(p);
}

function onMessage(m) {
  if (m.seq <= lastSeq) return;
  lastSeq = m.seq;
  if (m.redacted && m.sender_kind !== "consumer") {
    const name = m.sender_name || t(m.sender_kind === "bot" ? "bot" : "agent");
    const b = bubble("theirs", name, initials(name));
    showPhoto(b, m);
    b.parentElement.dataset.seq = m.seq;
    showRemoved(m.seq);
    return;
  }
  if (m.sender_kind === "consumer") {
    spendChoices();
    const el = m.client_id && rendered.get(m.client_id);
    if (el) {
      el.dataset.seq = m.seq;
      // What was stored may differ from what was typed: card numbers and
      // the brand's patterns are masked before storage. Show what was kept.
      const shown = el.querySelector(".text");
      if (shown && m.text && shown.textContent !== m.text) shown.textContent = m.text;
      if (m.attachment && !el.querySelector(".thumb,.filelink")) el.querySelector(".bubble").append(fileView(m.attachment));
      setMeta(el, t("sent"));
      updateTicks();
      return;
    }
    const b = bubble("mine");
    if (m.text) addText(b, m.text);
    if (m.attachment) b.append(fileView(m.attachment));
    b.parentElement.dataset.seq = m.seq;
    if (m.redacted) showRemoved(m.seq);
    if (m.client_id) rendered.set(m.client_id, b.parentElement);
    setMeta(b.parentElement, t("sent"));
    updateTicks();
    return;
  }
  if (m.sender_kind === "system" && m.notice && (m.notice.code === "engagement" || m.notice.code === "invitation")) {
    // The invitation the visitor answered, as the words of the brand or
    // of its agent: the one shown before the conversation began, or
    // (from history) anew.
    const shown = log().querySelector(".answering:not([data-seq])");
    const name = m.notice.code === "invitation" ? m.notice.args && m.notice.args.name : "";
    (shown || saidBy(m.text, name).parentElement).dataset.seq = m.seq;
    return;
  }
  if (m.sender_kind === "system") { addSystem(noticeText(m)); return; }
  const name = m.sender_name || t(m.sender_kind === "bot" ? "bot" : "agent");
  const b = bubble("theirs", name, initials(name));
  showPhoto(b, m);
  b.parentElement.dataset.seq = m.seq;
  if (m.sender_kind === "bot") {
    // Visitors are told when an automated assistant, not a person, answers.
    const tag = document.createElement("span");
    tag.className = "badge";
    tag.textContent = t("botBadge");
    b.querySelector(".who").append(" ", tag);
  }
  if (m.html && m.sender_kind === "bot") addHTML(b, m.html);
  else if (m.text) addText(b, m.text);
  if (m.attachment) b.append(fileView(m.attachment));
  if (m.choices && m.choices.length) b.append(choices(m.choices));
  if (m.card) b.append(card(m.card));
  hideTyping();
  if (!replaying) markDelivered();
  if (open && document.visibilityState === "visible") {
    if (!replaying) markRead();
  } else {
    unread++;
    toPage({ type: "unread", count: unread, text: `(${unread}) ${t("newMessage")}` });
    chime();
  }
}

// ---- Earlier conversations ------------------------------------------------------
// A visitor who comes back finds what they talked about before, as
// LivePerson's and Chatwoot's messaging keep it in view: the conversations
// of theirs that are over, newest first, above the current one and
// read-only. When the window first opens, the newest is shown at once if
// nothing is going on now; "Earlier conversations" brings each older one.
// They sit in a list of their own inside the log's first item, which is
// not a live region: loading them is not announced as new messages.
let earlier = null; // the visitor's closed conversations not shown yet, newest first; null: not asked yet
function makeEarlier() {
  const li = document.createElement("li");
  li.className = "earlier";
  const more = document.createElement("button");
  more.type = "button";
  more.className = "earlier-more";
  more.textContent = t("earlier");
  more.hidden = true;
  more.addEventListener("click", () => showEarlier());
  const past = document.createElement("div");
  past.className = "past";
  past.setAttribute("role", "group");
  past.setAttribute("aria-live", "off");
  past.setAttribute("aria-label", t("earlier"));
  li.append(more, past);
  log().append(li);
}

async function findEarlier() {
  earlier = [];
  try {
    await adopted;
    let list = recent;
    if (!list) {
      const res = await fetch("/api/v1/conversations?limit=20", { headers: { Authorization: "Bearer " + token } });
      if (!res.ok) return;
      list = (await res.json()).conversations || [];
    }
    earlier = list
      .filter((c) => c.state === "closed" && c.id !== conversationId && c.id !== closedShown && c.last_seq > 0)
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  } catch (e) { return; }
  if (!conversationId && earlier.length) await showEarlier();
  $(".earlier-more").hidden = !earlier.length;
}

async function showEarlier() {
  const c = earlier.shift();
  const more = $(".earlier-more");
  more.hidden = !earlier.length;
  if (!c) return;
  let msgs = [];
  try {
    const res = await fetch(`/api/v1/conversations/${encodeURIComponent(c.id)}/messages?after_seq=${Math.max(0, c.last_seq - 100)}&limit=100`, { headers: { Authorization: "Bearer " + token } });
    if (res.ok) msgs = (await res.json()).messages || [];
  } catch (e) { /* offline: nothing to show */ }
  const el = log(), before = el.scrollHeight;
  const list = document.createElement("ol");
  list.className = "past-conversation";
  const when = new Date(c.created_at);
  const date = when.toLocaleDateString(t.lang, { day: "numeric", month: "long", year: when.getFullYear() === new Date().getFullYear() ? undefined : "numeric" });
  addText(bubble("system divider", "", "", list), t("earlierOn", { date }));
  for (const m of msgs) pastMessage(list, m);
  $(".past").prepend(list);
  // Older words come in above: what the visitor was reading stays where it was.
  if (!atEnd) el.scrollTop += el.scrollHeight - before;
}

// pastMessage shows a message of an earlier conversation as it was, with
// nothing left to answer: no quick replies, no receipts.
function pastMessage(list, m) {
  if (m.sender_kind === "system") {
    if (m.text) addText(bubble("system", "", "", list), noticeText(m));
    return;
  }
  const mine = m.sender_kind === "consumer";
  const name = mine ? "" : m.sender_name || t(m.sender_kind === "bot" ? "bot" : "agent");
  const b = bubble(mine ? "mine" : "theirs", name, mine ? "" : initials(name), list);
  showPhoto(b, m);
  if (m.redacted) { addText(b, t("removed")); b.lastChild.classList.add("removed"); return; }
  if (m.html && m.sender_kind === "bot") addHTML(b, m.html);
  else if (m.text) addText(b, m.text);
  if (m.attachment) b.append(fileView(m.attachment));
  if (m.card && m.card.title) addText(b, m.card.title);
}

// Attachments are fetched with the visitor's token (they are private), then
// shown from a blob: URL — images inline, PDFs as a download.
async function fetchFile(a) {
  const res = await fetch("/api/v1/attachments/" + encodeURIComponent(a.id), { headers: { Authorization: "Bearer " + token } });
  if (!res.ok) throw new Error("HTTP " + res.status);
  return URL.createObjectURL(await res.blob());
}

function fileView(a) {
  if (a.content_type.startsWith("image/")) {
    const img = document.createElement("img");
    img.className = "thumb";
    img.alt = a.name;
    fetchFile(a).then((url) => (img.src = url)).catch(() => {});
    return img;
  }
  const b = document.createElement("button");
  b.type = "button";
  b.className = "filelink";
  b.textContent = "📄 " + a.name;
  b.addEventListener("click", async () => {
    const link = document.createElement("a");
    link.href = await fetchFile(a);
    link.download = a.name;
    link.click();
  });
  return b;
}

// One conversation at a time is being made: by the socket for a first
// message (outbox, "open"), or here for a first file (REST). A file sent
// while a message opens it waits for that one (10 s at most); a message
// written while a file makes it waits for this one (openConversation).
let openWaiters = [], creating = false;
function conversationOpened(ms) {
  return new Promise((resolve) => {
    openWaiters.push(resolve);
    setTimeout(resolve, ms);
  });
}

async function ensureConversation() {
  if (!conversationId && (opening || outbox.length)) await conversationOpened(10000);
  if (conversationId) return conversationId;
  creating = true;
  try {
    await ensureToken();
    const res = await fetch("/api/v1/conversations", {
      method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify(answeringFields()),
    });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const conv = await res.json();
    conversationId = conv.id;
    answered();
    tellBusy();
  } catch (e) {
    creating = false;
    if (outbox.length) openConversation(); // a message waits for a conversation
    throw e;
  }
  creating = false;
  localStorage.setItem(key("conversation"), conversationId);
  leaveClosed();
  if (authed) subscribe(0);
  else connect();
  return conversationId;
}

async function upload(file) {
  const limit = $(".limit");
  limit.textContent = "";
  if (!/^(image\/(png|jpeg|gif|webp)|application\/pdf)$/.test(file.type)) { limit.textContent = t("fileType"); return; }
  if (file.size > maxFile) {
    limit.textContent = t("fileTooBig", { size: (file.size / 1048576).toFixed(1), max: Math.floor(maxFile / 1048576) });
    return;
  }
  const clientId = newClientId();
  const b = bubble("mine");
  addText(b, "📎 " + file.name);
  rendered.set(clientId, b.parentElement);
  setMeta(b.parentElement, t("sending"));
  try {
    const conv = await ensureConversation();
    const res = await fetch(`/api/v1/conversations/${encodeURIComponent(conv)}/attachments?name=${encodeURIComponent(file.name)}&client_id=${clientId}`, {
      method: "POST", headers: { Authorization: "Bearer " + token, "Content-Type": file.type }, body: file,
    });
    if (!res.ok) {
      const e = await res.json().catch(() => ({}));
      throw new Error((e.error && e.error.message) || "HTTP " + res.status);
    }
    const out = await res.json();
    // The message frame also arrives over the socket, in seq order; here we
    // only show the file without waiting for it.
    const el = b.parentElement;
    if (!el.querySelector(".thumb,.filelink")) b.append(fileView(out.message.attachment));
    setMeta(el, t("sent"));
  } catch (e) {
    b.parentElement.remove();
    limit.textContent = e.message;
  }
}

function choices(list) {
  const div = document.createElement("div");
  div.className = "choices";
  for (const c of list) {
    let el;
    if (c.url && /^https?:\/\//.test(c.url)) {
      el = document.createElement("a");
      el.href = c.url;
      el.target = "_blank";
      el.rel = "noopener noreferrer";
    } else {
      el = document.createElement("button");
      el.type = "button";
      el.addEventListener("click", () => submit(c.value || c.label));
    }
    el.textContent = c.label;
    div.append(el);
  }
  return div;
}

function card(c) {
  const div = document.createElement("div");
  div.className = "card";
  if (c.image_url && /^https:\/\//.test(c.image_url)) {
    const img = document.createElement("img");
    img.src = c.image_url;
    img.alt = "";
    div.append(img);
  }
  const s = document.createElement("strong");
  s.textContent = c.title;
  div.append(s);
  if (c.subtitle) addText(div, c.subtitle);
  if (c.buttons && c.buttons.length) div.append(choices(c.buttons));
  return div;
}

function markRead() {
  if (lastSeq > readSeq && authed && conversationId && open) {
    readSeq = lastSeq;
    send({ type: "receipt", conversation_id: conversationId, kind: "read", seq: lastSeq });
  }
}

function updateTicks() {
  for (const el of log().querySelectorAll(".msg.mine[data-seq]")) {
    if (+el.dataset.seq <= agentReadSeq) setMeta(el, t("read"));
    else if (+el.dataset.seq <= agentDeliveredSeq) setMeta(el, t("delivered"));
  }
}

// Tell the other side what reached this browser.
function markDelivered() {
  if (lastSeq > deliveredSeq && authed && conversationId) {
    deliveredSeq = lastSeq;
    send({ type: "receipt", conversation_id: conversationId, kind: "delivered", seq: lastSeq });
  }
}

let typingTimer = 0;
function showTyping(ty) {
  const p = $(".typing");
  if (!ty.typing) return hideTyping();
  p.textContent = t("typing", { name: ty.name || t("someone") });
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, 8000);
}
function hideTyping() { $(".typing").textContent = ""; }

// A short, quiet chime for new messages while minimised (after the visitor
// has interacted, as browsers require).
let audio = null;
function chime() {
  try {
    audio = audio || new AudioContext();
    if (audio.state !== "running") return;
    const o = audio.createOscillator(), g = audio.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.05, audio.currentTime);
    g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.3);
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.3);
  } catch (e) { /* no sound available */ }
}

// ---- Pre-chat and offline forms ------------------------------------------
// The pre-chat form (if the brand asks for it) comes before the first
// message; the offline form asks for an email when nobody can answer now.
let formMode = null;

async function checkForm() {
  const chosen = chosenTopic();
  const a = await availability(chosen || "");
  if (conversationId) return showForm(null);
  let mode = null;
  if (!localStorage.getItem(key("profile"))) {
    if (cfg.prechat && cfg.prechat.enabled) mode = "prechat";
    if (cfg.offline_form && a && !a.agents_online && !a.bot) mode = "offline";
  }
  if (!mode && askTopic()) mode = "topic";
  showForm(mode);
}

// Topics (docs/widget.md, Topics): the brand may ask what each new
// conversation is about; a topic's skill takes it to that skill's people.
// The choice is kept until the conversation opens, then asked again for
// the next one.
function topics() { return (cfg.prechat && cfg.prechat.topics) || []; }
// chosenTopic is the chosen topic's skill ("" for the usual way), or null
// when none is chosen.
function chosenTopic() { return localStorage.getItem(key("topic")); }
function askTopic() { return topics().length > 0 && chosenTopic() === null && !answering; }

// availability asks whether someone can answer now, and how soon the brand
// typically does (the median first response of its last week), which the
// header then says. Not known, or unreachable: "in a few minutes", and
// someone is assumed to be there.
let replyKey = "online";
async function availability(skill) {
  try {
    const a = await (await fetch("/widget/availability?account=" + encodeURIComponent(account) + (skill ? "&skill=" + encodeURIComponent(skill) : ""))).json();
    const s = a.reply_seconds || 0;
    replyKey = s <= 10 * 60 ? "online" : s <= 3600 ? "replyHour" : s <= 4 * 3600 ? "replyHours" : "replyDay";
    if (authed && formMode !== "offline") status(t(replyKey));
    return a;
  } catch (e) {
    return null;
  }
}

function showForm(mode) {
  formMode = mode;
  const form = $(".prechat");
  form.hidden = !mode;
  $(".composer").hidden = !!mode;
  if (!mode) return;
  const p = cfg.prechat || {};
  const intro = form.querySelector(".intro");
  intro.textContent = mode === "offline" ? t("away") : mode === "prechat" ? t("prechatIntro") : "";
  intro.hidden = mode === "topic";
  form.querySelector(".f-name").hidden = mode === "topic" || (mode === "prechat" && !p.ask_name);
  form.querySelector(".f-email").hidden = mode === "topic" || (mode === "prechat" && !p.ask_email);
  const topic = form.querySelector(".f-topic");
  topic.hidden = !askTopic();
  if (!topic.hidden) {
    const sel = form.elements.topic;
    sel.textContent = "";
    sel.append(new Option(t("topicChoose"), ""));
    topics().forEach((x, i) => sel.append(new Option(x.label, String(i))));
  }
  if (mode === "offline") status(t("away"));
}

function bindForm() {
  const form = $(".prechat");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = form.querySelector(".form-error");
    const name = form.elements.name.value.trim(), email = form.elements.email.value.trim();
    const asked = formMode !== "topic"; // name and email
    const needEmail = formMode === "offline" || (formMode === "prechat" && cfg.prechat && cfg.prechat.email_required);
    const pickTopic = !form.querySelector(".f-topic").hidden, sel = form.elements.topic;
    if (pickTopic && sel.value === "") { err.textContent = t("topicRequired"); sel.focus(); return; }
    if (asked && (needEmail || email) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) { err.textContent = t("emailRequired"); return; }
    err.textContent = "";
    if (pickTopic) localStorage.setItem(key("topic"), topics()[+sel.value]?.skill || "");
    if (!asked) return topicChosen(false);
    try {
      await ensureToken();
      const body = {};
      if (name) body.name = name;
      if (email) body.email = email;
      const res = await fetch("/api/v1/consumers/me", {
        method: "PATCH", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token }, body: JSON.stringify(body),
      });
      if (!res.ok) {
        const e2 = await res.json().catch(() => ({}));
        err.textContent = (e2.error && e2.error.message) || "HTTP " + res.status;
        return;
      }
    } catch (e3) { err.textContent = e3.message; return; }
    localStorage.setItem(key("profile"), "1");
    topicChosen(!!email);
  });
}

// topicChosen goes on to the chat, unless the chosen topic's people are
// away now and the visitor has not left an email: then the offline form
// asks for one, as it would for the brand.
async function topicChosen(haveEmail) {
  const skill = chosenTopic();
  if (skill && !haveEmail && formMode !== "offline" && cfg.offline_form) {
    const a = await availability(skill);
    if (a && !a.agents_online) return showForm("offline");
  }
  showForm(null);
  $("#text").focus();
}

// minimise closes the chat here at once (so a message arriving meanwhile
// counts as unread) and asks the page to hide the window.
function minimise() {
  setOpen(false);
  toPage({ type: "close" });
}

// ---- Composer ----------------------------------------------------------------
function bindComposer() {
  const form = $(".composer"), text = $("#text"), limit = $(".limit");
  let typingSent = false, typingIdle = 0;
  const count = (s) => [...s].length;
  // With the brand's typing preview on, the draft goes with the typing
  // frames, at most every half second; it is never stored.
  let draftSent = "", draftTimer = 0;
  const sendDraft = () => {
    draftTimer = 0;
    const d = [...text.value.trim()].slice(0, maxChars).join("");
    if (!conversationId || !d || d === draftSent) return;
    send({ type: "typing", conversation_id: conversationId, typing: true, text: d });
    draftSent = d;
    typingSent = true;
  };
  text.addEventListener("input", () => {
    const n = count(text.value);
    limit.textContent = n > maxChars ? t("tooLong", { n, max: maxChars }) : "";
    if (typingPreview) {
      if (!draftTimer) draftTimer = setTimeout(sendDraft, 500);
    } else if (!typingSent && conversationId) { send({ type: "typing", conversation_id: conversationId, typing: true }); typingSent = true; }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(() => {
      if (typingSent && conversationId) send({ type: "typing", conversation_id: conversationId, typing: false });
      typingSent = false;
      draftSent = "";
    }, 3000);
  });
  form.addEventListener("submit", () => { clearTimeout(draftTimer); draftTimer = 0; draftSent = ""; typingSent = false; });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    if (e.key === "Escape") minimise();
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = text.value.trim(); // leading and trailing blank lines are never meant
    if (!v) return;
    const n = count(v);
    if (n > maxChars) { limit.textContent = t("tooLong", { n, max: maxChars }); return; } // refused, never cut
    limit.textContent = "";
    text.value = "";
    submit(v);
  });
  $(".min").addEventListener("click", minimise);
  $(".end").addEventListener("click", endChat);
  const fileInput = $(".file");
  $(".attach").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    for (const f of fileInput.files) upload(f);
    fileInput.value = "";
  });
  // A pasted screenshot, or files dropped on the window, go as Attach
  // sends them; pasted text stays text.
  text.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (!files.length) return;
    e.preventDefault();
    files.forEach(upload);
  });
  document.addEventListener("dragover", (e) => { if ([...e.dataTransfer.types].includes("Files")) e.preventDefault(); });
  document.addEventListener("drop", (e) => {
    const files = [...(e.dataTransfer?.files || [])];
    if (!files.length) return;
    e.preventDefault();
    files.forEach(upload);
  });
  document.addEventListener("visibilitychange", markRead);
  window.addEventListener("online", () => { if (!ws) connect(); });
}

// ---- Help center ---------------------------------------------------------------
// The brand's articles (its bot's knowledge base), searched and read in
// the window before writing, as Intercom's messenger offers. "Help" in the
// header opens them in place of the conversation; "Chat with us", Escape
// or Help again go back to it.
let helpQuery = null, helpTimer = 0;

function bindHelp() {
  const toggle = $(".help-toggle");
  toggle.hidden = false;
  toggle.addEventListener("click", () => showHelp(toggle.getAttribute("aria-expanded") !== "true"));
  $(".help").setAttribute("aria-label", t("helpArticles"));
  const q = $("#help-q");
  q.placeholder = t("helpPlaceholder");
  q.addEventListener("input", () => {
    clearTimeout(helpTimer);
    helpTimer = setTimeout(() => searchHelp(q.value.trim()), 250);
  });
  $(".help-search").addEventListener("submit", (e) => { e.preventDefault(); clearTimeout(helpTimer); searchHelp(q.value.trim()); });
  $(".help-back").addEventListener("click", () => {
    $(".help-article").hidden = true;
    $(".help-results").hidden = $(".help-search").hidden = false;
    q.focus();
  });
  $(".help-chat").addEventListener("click", () => { showHelp(false); $("#text").focus(); });
  $(".help").addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); showHelp(false); toggle.focus(); } });
  // Whether the article helped: the brand learns which articles do not.
  const feedback = (helpful) => {
    const id = $(".help-article").dataset.id;
    if (!id) return;
    beacon("article_feedback", id + ":" + (helpful ? "yes" : "no"));
    $(".help-feedback").hidden = true;
    $(".help-thanks").hidden = false;
  };
  $(".help-yes").addEventListener("click", () => feedback(true));
  $(".help-no").addEventListener("click", () => feedback(false));
}

function showHelp(on) {
  $(".help-toggle").setAttribute("aria-expanded", String(on));
  $(".help").hidden = !on;
  $(".chat").classList.toggle("helping", on);
  if (!on) return;
  $(".help-article").hidden = true;
  $(".help-results").hidden = $(".help-search").hidden = false;
  const q = $("#help-q");
  if (helpQuery === null) searchHelp(q.value.trim());
  q.focus();
}

async function searchHelp(query) {
  if (query === helpQuery) return;
  helpQuery = query;
  const list = $(".help-results");
  try {
    const res = await fetch(`/widget/help?account=${encodeURIComponent(account)}&q=${encodeURIComponent(query)}`);
    if (!res.ok) throw new Error(res.status);
    const { articles } = await res.json();
    if (query !== helpQuery) return; // a later search is on its way
    list.textContent = "";
    for (const a of articles) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "help-result";
      const title = document.createElement("strong");
      title.textContent = a.title;
      const snip = document.createElement("span");
      snip.textContent = a.snippet || "";
      b.append(title, snip);
      b.addEventListener("click", () => readArticle(a.id));
      li.append(b);
      list.append(li);
    }
    $(".help-status").textContent = !articles.length ? t("helpNone") : !query ? t("helpArticles") : articles.length === 1 ? t("helpOne") : t("helpCount", { n: articles.length });
  } catch (e) {
    helpQuery = null;
    $(".help-status").textContent = t("helpFailed");
  }
}

async function readArticle(id) {
  try {
    const res = await fetch(`/widget/help/article?account=${encodeURIComponent(account)}&id=${encodeURIComponent(id)}`);
    if (!res.ok) throw new Error(res.status);
    const a = await res.json();
    const view = $(".help-article");
    const h = view.querySelector("h2");
    h.textContent = a.title;
    const body = view.querySelector(".help-body");
    body.textContent = "";
    const doc = new DOMParser().parseFromString(a.html, "text/html"); // sanitised by the server; DOMParser runs nothing
    body.append(...doc.body.childNodes);
    for (const link of body.querySelectorAll("a")) { link.target = "_blank"; link.rel = "noopener noreferrer"; }
    $(".help-results").hidden = $(".help-search").hidden = true;
    view.dataset.id = a.id;
    $(".help-feedback").hidden = false;
    $(".help-thanks").hidden = true;
    view.hidden = false;
    $(".help-status").textContent = "";
    h.focus();
    beacon("article_viewed", a.id);
  } catch (e) {
    $(".help-status").textContent = t("helpFailed");
  }
}

start();

// brandColours sets the brand's colour and the two it decides: text on
// it (white, or the ink when the brand's colour is light) and the brand's
// colour as text on white (the ink when it is too light to read), so any
// colour a brand picks keeps WCAG's 4.5:1 contrast where it can.
function brandColours(color) {
  const lum = (hex) => {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  const ink = "#1b1f24", style = document.documentElement.style;
  style.setProperty("--brand", color);
  style.setProperty("--on-brand", contrast(color, "#ffffff") >= contrast(color, ink) ? "#fff" : ink);
  style.setProperty("--brand-ink", contrast(color, "#ffffff") >= 4.5 ? color : ink);
}

// Parley agent console: log in, set presence, work the inbox, talk to
// visitors live, accept, transfer and close. Plain ES module; it speaks
// the REST API and the realtime protocol (docs/protocol.md).
import { showBot, richText } from "./bot.js";
import { showDashboard, fillSkills } from "./dashboard.js";
import { newClientId } from "/widget/clientid.js";
import { pageLink, localTime, languageName, browserName } from "./visitor.js";
const $ = (s, el = document) => el.querySelector(s);
const $$ = (s, el = document) => [...el.querySelectorAll(s)];

let canned = [];
let unseenMentions = 0; // mention frames since the Mentions tab was last shown
let visitorRead = 0; // the visitor's read position in the open conversation
let readWanted = 0, readSent = 0, readTimer = 0; // the agent's read receipts (markRead)
let me = null, csrf = sessionStorage.getItem("parley.csrf") || "";
let ws = null, backoff = 500, tab = "queued", current = null, lastSeq = 0, heartbeat = 0;
const viewers = new Map(); // colleagues with the open conversation open too: user ID → { name, until }
let viewingID = ""; // the conversation this console has said it has open
// Messages removed while this console was open ("conversation/seq"), for
// inbox previews drawn from a list fetched before the removal.
const removedMessages = new Set();
// IDs of the agent's own conversations, followed besides the open one so
// that their new messages show in the inbox at once (as LivePerson's and
// Intercom's do).
const following = new Set();
const names = new Map(); // user id → name
const visitorNames = new Map(); // consumer ID → name, once a list or the visitor panel told it

// api calls the REST API. A Blob body is sent as it is, with its type.
async function api(method, path, body, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  const raw = body instanceof Blob;
  if (body !== undefined) headers["Content-Type"] = raw ? body.type : "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  const res = await fetch("/api/v1" + path, { method, headers, body: body === undefined ? undefined : raw ? body : JSON.stringify(body), credentials: "same-origin" });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error((data && data.error && data.error.message) || "HTTP " + res.status);
    err.status = res.status;
    err.code = data && data.error && data.error.code;
    err.rememberDays = data && data.error && data.error.remember_days;
    throw err;
  }
  return data;
}

function toast(text) {
  const t = $(".toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 4000);
}

// ---- Login -------------------------------------------------------------------
// Why a single sign-on came back without a session (docs/security.md).
const ssoErrors = {
  not_configured: "Single sign-on is not set up for this address. Log in with your password.",
  expired: "The sign-in took too long, or began in another browser. Try again.",
  provider: "Your identity provider’s answer could not be checked. Try again, or ask your admin.",
  cancelled: "The sign-in was cancelled.",
  no_email: "Your identity provider gave no verified email address. Ask your admin.",
  unknown_person: "Your identity provider signed you in, but this brand has no one with your email. Ask your admin to add you.",
  deactivated: "Your account is deactivated. Ask your admin.",
  network: "You are outside the networks your brand allows for the console.",
  other_account: "Your identity provider signed you in with another account than the one this person uses. Ask your admin.",
};

async function start() {
  const failed = /^#sso_error=(\w+)$/.exec(location.hash);
  if (failed) history.replaceState(null, "", location.pathname);
  // A link opened before a single sign-on (#conversation=…) is opened after it.
  const back = sessionStorage.getItem("parley.after-sso");
  sessionStorage.removeItem("parley.after-sso");
  if (back && !failed && !location.hash) history.replaceState(null, "", back);
  try {
    me = await api("GET", "/me");
    if (me.kind !== "user") throw new Error("not a user");
    if (me.csrf_token) { csrf = me.csrf_token; sessionStorage.setItem("parley.csrf", csrf); }
    enter();
  } catch (e) {
    $(".login").hidden = false;
    if (failed) $(".login-error").textContent = ssoErrors[failed[1]] || ssoErrors.provider;
  }
}

$(".sso-login").addEventListener("click", async () => {
  const f = $(".login-form");
  if (!f.email.reportValidity()) return;
  try {
    const out = await api("POST", "/auth/sso/start", { email: f.email.value });
    if (location.hash) sessionStorage.setItem("parley.after-sso", location.hash);
    location.assign(out.redirect_url);
  } catch (err) {
    $(".login-error").textContent = err.message;
  }
});

// ---- Passkeys (docs/security.md): WebAuthn's options and answers in JSON --
const b64url = {
  decode: (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)),
  encode: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
};
function creationOptions(o) {
  return { ...o, challenge: b64url.decode(o.challenge), user: { ...o.user, id: b64url.decode(o.user.id) },
    excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: b64url.decode(c.id) })) };
}
function requestOptions(o) {
  return { ...o, challenge: b64url.decode(o.challenge), allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: b64url.decode(c.id) })) };
}
function credentialJSON(c) {
  const r = c.response, out = { id: c.id, rawId: b64url.encode(c.rawId), type: c.type,
    authenticatorAttachment: c.authenticatorAttachment || undefined, clientExtensionResults: c.getClientExtensionResults(), response: {} };
  for (const k of ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]) {
    if (r[k]) out.response[k] = b64url.encode(r[k]);
  }
  if (r.getTransports) out.response.transports = r.getTransports();
  return out;
}
// passkeyAnswer runs a sign-in ceremony: the server's options, the
// browser's (and the person's) answer.
async function passkeyAnswer() {
  const { options } = await api("POST", "/auth/passkey/start");
  const cred = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
  return credentialJSON(cred);
}
// What the browser says when the person stops or nothing matches.
function passkeyFailure(err) {
  if (err.name === "NotAllowedError") return "No passkey was used. Try again, or log in with your password.";
  if (err.name === "SecurityError") return "Passkeys need the console at a domain name, not an IP address.";
  return err.message;
}
if (!window.PublicKeyCredential) $(".passkey-login").hidden = true;

// passwordChecked: the password was right and a second factor is asked
// for; the passkey button then completes that login.
let passwordChecked = false;
async function loggedIn(out) {
  csrf = out.csrf_token;
  sessionStorage.setItem("parley.csrf", csrf);
  me = await api("GET", "/me");
  $(".login").hidden = true;
  enter();
}
$(".passkey-login").addEventListener("click", async () => {
  const f = $(".login-form");
  $(".login-error").textContent = "";
  try {
    const credential = await passkeyAnswer();
    await loggedIn(passwordChecked
      ? await api("POST", "/auth/login", { email: f.email.value, password: f.password.value, passkey: credential, remember_browser: f.remember.checked || undefined })
      : await api("POST", "/auth/passkey/finish", { credential }));
  } catch (err) {
    $(".login-error").textContent = err.status ? err.message : passkeyFailure(err);
  }
});

$(".login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const codeField = $(".login-code");
  try {
    const creds = { email: f.email.value, password: f.password.value };
    if (!codeField.hidden) creds.code = f.code.value.trim();
    if (f.remember.checked) creds.remember_browser = true;
    await loggedIn(await api("POST", "/auth/login", creds));
  } catch (err) {
    // The password was right and the user has a second factor: ask for
    // the code (or a passkey), then log in again with all three — and
    // offer to trust this browser, when the brand allows it.
    if (err.code === "two_factor_required" || err.code === "passkey_required") {
      passwordChecked = true;
      $(".passkey-login").textContent = err.code === "passkey_required" ? "Use your passkey" : "Use a passkey instead";
      $(".login-remember").hidden = !(err.rememberDays > 0);
      $(".login-remember-text").textContent = `Trust this browser: no second factor here for ${err.rememberDays} day${err.rememberDays === 1 ? "" : "s"}`;
    }
    if (err.code === "two_factor_required") {
      codeField.hidden = false;
      f.code.required = true;
      f.code.focus();
    }
    if (err.code === "passkey_required") $(".passkey-login").focus();
    if (!codeField.hidden) f.code.value = "";
    $(".login-error").textContent = err.message;
    if (err.code === "sso_required") $(".sso-login").focus();
  }
});

let loggingOut = false; // the socket's close at logout is not a session ended elsewhere
$(".logout").addEventListener("click", async () => {
  loggingOut = true;
  let out = null;
  try { out = await api("POST", "/auth/logout"); } catch (e) { /* gone already */ }
  sessionStorage.removeItem("parley.csrf");
  // After a single sign-on, a brand that signs people out at its provider
  // too sends the browser there; the provider sends it back here.
  if (out && /^https?:\/\//.test(out.sign_out_url || "")) location.assign(out.sign_out_url);
  else location.reload();
});

// ---- Profile: one's own password and second factor ---------------------------
const profile = $("dialog.profile");
$(".open-profile").addEventListener("click", async () => {
  await showProfile();
  profile.showModal();
});
// A brand that requires a second factor keeps a user who has none in this
// dialog until they set it up (the server answers nothing else).
let setupForced = false;
profile.addEventListener("cancel", (e) => { if (setupForced) e.preventDefault(); });
async function requireSetup() {
  setupForced = true;
  $(".profile-required").hidden = false;
  $(".profile-close-form").hidden = true;
  $(".profile-forced").hidden = false;
  await showProfile();
  profile.showModal();
  $(".tf-password-form").password.focus();
}
$(".profile-continue").addEventListener("click", () => location.reload());
$(".profile-logout").addEventListener("click", () => $(".logout").click());

// Recovery codes are shown once: closing the dialog forgets them.
profile.addEventListener("close", () => {
  $(".tf-code-list").textContent = "";
  $(".tf-codes").hidden = true;
  $$("form", profile).forEach((f) => f.reset && f.reset());
});

// showMyDay fills the Profile's "Your day": the person's own figures since
// local midnight (GET /me/metrics), as LivePerson's agents see theirs.
async function showMyDay() {
  const dl = $(".my-day-figures");
  dl.textContent = "";
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const from = new Date(Math.floor(midnight.getTime() / 3600e3) * 3600e3), to = new Date(Math.ceil(Date.now() / 3600e3) * 3600e3);
  const iso = (d) => d.toISOString().replace(/\.\d+Z$/, "Z");
  let a;
  try { a = (await api("GET", "/me/metrics?from=" + iso(from) + "&to=" + iso(to))).agent; } catch (e) { $(".my-day").hidden = true; return; }
  $(".my-day").hidden = false;
  const dur = (s) => (s >= 3600 ? (s / 3600).toFixed(1) + " h" : s >= 60 ? Math.round(s / 60) + " min" : Math.round(s) + " s");
  const st = a.status || { online_seconds: 0, away_seconds: 0 };
  for (const [term, value] of [["Conversations", a.assigned + " assigned · " + a.closed + " closed"],
    ["First response", a.first_response.count ? dur(a.first_response.mean_seconds) + " on average" : "—"],
    ["Handle time", a.handle_time.count ? dur(a.handle_time.mean_seconds) + " on average" : "—"],
    ["Ratings", a.csat_count ? a.csat_mean.toFixed(2) + " / 5 (" + a.csat_count + ")" : "—"],
    ["Online · away", dur(st.online_seconds) + " · " + dur(st.away_seconds)],
    ["Occupancy", a.occupancy != null ? Math.round(a.occupancy * 100) + "%" : "—"]]) {
    dl.append(Object.assign(document.createElement("dt"), { textContent: term }), Object.assign(document.createElement("dd"), { textContent: value }));
  }
}

// showFace shows a person's photo in el (a round .face), or their
// initials without one (docs/widget.md, Photos).
function showFace(el, u) {
  el.textContent = "";
  el.classList.toggle("has-photo", !!u.photo);
  if (!u.photo) {
    el.textContent = (u.name || "?").split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
    return;
  }
  const img = new Image();
  img.alt = "";
  img.src = "/widget/photo?account=" + encodeURIComponent(u.account_id) + "&user=" + encodeURIComponent(u.id) + "&v=" + encodeURIComponent(u.photo);
  el.append(img);
}

// fromFace puts a colleague's photo before their name on their messages,
// once it has loaded (none: just the name). The browser keeps it a while.
function fromFace(from, userID) {
  const img = new Image();
  img.alt = "";
  img.className = "from-face";
  img.addEventListener("load", () => from.prepend(img));
  img.src = "/widget/photo?account=" + encodeURIComponent(me.account_id) + "&user=" + encodeURIComponent(userID);
}

// The person's own photo, from Profile: sent as it is; the server makes
// the square PNG everyone sees.
$(".photo-file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  $(".profile-error").textContent = "";
  try {
    const u = await api("PUT", "/me/photo", file);
    me.photo = u.photo;
    showFace($(".me-face"), me);
    await showProfile();
    toast("Your photo is saved.");
  } catch (err) {
    $(".profile-error").textContent = err.message;
  }
  e.target.value = "";
});
$(".photo-remove").addEventListener("click", async () => {
  try {
    await api("DELETE", "/me/photo");
    me.photo = "";
    showFace($(".me-face"), me);
    await showProfile();
    toast("Your photo is removed: visitors see your initials.");
  } catch (err) {
    $(".profile-error").textContent = err.message;
  }
});

async function showProfile() {
  showMyDay();
  const m = await api("GET", "/me");
  $(".profile-who").textContent = m.name + " · " + m.email;
  showFace($(".photo-preview"), m);
  $(".photo-remove").hidden = !m.photo;
  $(".profile-error").textContent = "";
  $(".mention-emails").checked = m.mention_emails !== false;
  $(".follow-emails").checked = m.follow_emails !== false;
  $(".report-emails").checked = m.report_emails !== false;
  $(".report-emails-row").hidden = m.role !== "supervisor" && m.role !== "admin";
  const on = !!m.two_factor;
  $(".tf-status").textContent = on ? "On: each login asks for a code from your authenticator app."
    : m.passkeys ? "No authenticator app: your passkeys confirm each password login." : "Off: your password alone logs you in.";
  await showPasskeys(m);
  $(".trusted-browsers").hidden = !on && !m.passkeys;
  $(".tf-start").hidden = on;
  $(".tf-renew").hidden = !on;
  $(".tf-disable").hidden = !on;
  $(".tf-password-form").hidden = false;
  $(".tf-confirm-form").hidden = true;
  $(".tf-codes").hidden = true;
}

// showPasskeys lists the person's passkeys with a Remove button each.
async function showPasskeys(m) {
  const ul = $(".pk-list");
  ul.textContent = "";
  if (!window.PublicKeyCredential) {
    $(".pk-status").textContent = "This browser cannot use passkeys.";
    $(".pk-add-form").hidden = true;
    return;
  }
  const { passkeys } = await api("GET", "/me/passkeys");
  const day = (t) => new Date(t).toLocaleDateString([], { dateStyle: "medium" });
  for (const pk of passkeys) {
    const li = document.createElement("li");
    const name = Object.assign(document.createElement("strong"), { textContent: pk.name });
    const when = Object.assign(document.createElement("small"), {
      textContent: "added " + day(pk.created_at) + (pk.last_used_at ? " · last used " + day(pk.last_used_at) : " · not used yet") });
    const remove = Object.assign(document.createElement("button"), { type: "button", className: "pk-remove", textContent: "Remove" });
    remove.setAttribute("aria-label", "Remove " + pk.name);
    remove.addEventListener("click", () => profileDo(async () => {
      await api("DELETE", "/me/passkeys/" + encodeURIComponent(pk.id));
      await showProfile();
      toast("Passkey “" + pk.name + "” removed.");
    }));
    // Rename in place: the name becomes a field with Save.
    const rename = Object.assign(document.createElement("button"), { type: "button", className: "pk-rename", textContent: "Rename" });
    rename.setAttribute("aria-label", "Rename " + pk.name);
    rename.addEventListener("click", () => {
      const form = Object.assign(document.createElement("form"), { className: "pk-rename-form" });
      const input = Object.assign(document.createElement("input"), { name: "name", value: pk.name, maxLength: 64, required: true });
      input.setAttribute("aria-label", "New name for " + pk.name);
      form.append(input, " ", Object.assign(document.createElement("button"), { type: "submit", textContent: "Save" }));
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        profileDo(async () => {
          const out = await api("PATCH", "/me/passkeys/" + encodeURIComponent(pk.id), { name: input.value });
          await showProfile();
          toast("Passkey renamed “" + out.name + "”.");
        });
      });
      name.replaceWith(form);
      rename.hidden = true;
      input.select();
    });
    li.append(name, " ", when, " ", rename, " ", remove);
    ul.append(li);
  }
  $(".pk-status").textContent = passkeys.length
    ? "Sign in with one instead of your password, or confirm a password login with one." +
      (passkeys.length === 1 && !m.two_factor ? " Add another on a second device (your phone, another computer) in case you lose this one." : "")
    : "None yet. A passkey (your phone, your computer, a password manager) or a security key signs you in without a password.";
  $(".pk-add-form").hidden = passkeys.length >= 10;
}

$(".pk-add-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  profileDo(async () => {
    const { options } = await api("POST", "/me/passkeys/start", { password: f.password.value });
    let cred;
    try {
      cred = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
    } catch (err) {
      throw new Error(err.name === "InvalidStateError" ? "That passkey is already added." : passkeyFailure(err));
    }
    const pk = await api("POST", "/me/passkeys", { name: f.name.value, credential: credentialJSON(cred) });
    f.reset();
    await showProfile();
    toast("Passkey “" + pk.name + "” added.");
    if (setupForced) $(".profile-continue").hidden = false;
  });
});

$(".mention-emails").addEventListener("change", (e) => profileDo(async () => {
  const out = await api("PATCH", "/me", { mention_emails: e.target.checked });
  toast(out.mention_emails ? "Mentions will be emailed to you while you are away." : "Mentions will not be emailed to you.");
}));
$(".follow-emails").addEventListener("change", (e) => profileDo(async () => {
  const out = await api("PATCH", "/me", { follow_emails: e.target.checked });
  toast(out.follow_emails ? "What is new in the conversations you follow will be emailed to you while you are away." : "The conversations you follow will not be emailed to you.");
}));
$(".report-emails").addEventListener("change", (e) => profileDo(async () => {
  const out = await api("PATCH", "/me", { report_emails: e.target.checked });
  toast(out.report_emails ? "You will get the brand's reports." : "You will not get the brand's reports.");
}));

async function profileDo(fn) {
  $(".profile-error").textContent = "";
  try { await fn(); } catch (e) { $(".profile-error").textContent = e.message; }
}

function showRecoveryCodes(codes) {
  const ul = $(".tf-code-list");
  ul.textContent = "";
  for (const c of codes) {
    const li = document.createElement("li");
    li.textContent = c;
    ul.append(li);
  }
  $(".tf-codes").hidden = false;
  $(".tf-copy").focus();
}

$(".tf-copy").addEventListener("click", () => {
  const codes = $$(".tf-code-list li").map((li) => li.textContent).join("\n");
  navigator.clipboard.writeText(codes).then(() => toast("Recovery codes copied."), () => toast("Select the codes and copy them."));
});

$(".end-others").addEventListener("click", () => profileDo(async () => {
  const out = await api("POST", "/me/sessions/end-others");
  toast(out.sessions_ended ? `Logged out of ${out.sessions_ended} other session${out.sessions_ended === 1 ? "" : "s"}.` : "No other session was open.");
}));

$(".forget-browsers").addEventListener("click", () => profileDo(async () => {
  await api("DELETE", "/me/two-factor/trusted-browsers");
  toast("Trusted browsers forgotten: each asks for your second factor again.");
}));

$(".password-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  if (f.next.value !== f.again.value) {
    $(".profile-error").textContent = "The new passwords differ.";
    return;
  }
  profileDo(async () => {
    const out = await api("PUT", "/me/password", { current_password: f.current.value, new_password: f.next.value });
    f.reset();
    toast(out.sessions_ended ? `Password changed; ${out.sessions_ended} other session${out.sessions_ended === 1 ? "" : "s"} logged out.` : "Password changed.");
  });
});

$(".tf-password-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target, which = e.submitter || $(".tf-start");
  const password = f.password.value;
  profileDo(async () => {
    if (which.classList.contains("tf-start")) {
      const setup = await api("POST", "/me/two-factor", { password });
      $(".tf-qr").src = setup.qr_code_url + "?at=" + Date.now();
      $(".tf-secret").textContent = setup.secret.replace(/(.{4})/g, "$1 ").trim();
      f.hidden = true;
      $(".tf-confirm-form").hidden = false;
      $(".tf-confirm-form").code.focus();
    } else if (which.classList.contains("tf-renew")) {
      const out = await api("POST", "/me/two-factor/recovery-codes", { password });
      showRecoveryCodes(out.recovery_codes);
    } else {
      await api("POST", "/me/two-factor/disable", { password });
      await showProfile();
      toast("Two-factor authentication is off.");
    }
    f.reset();
  });
});

$(".tf-confirm-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  profileDo(async () => {
    const out = await api("POST", "/me/two-factor/confirm", { code: f.code.value.trim() });
    f.reset();
    await showProfile();
    showRecoveryCodes(out.recovery_codes);
    toast("Two-factor authentication is on.");
    if (setupForced) $(".profile-continue").hidden = false;
  });
});

// mentionsSeen tells the server the agent has looked at their mentions:
// the count a console shows at start is those since.
function mentionsSeen() { api("POST", "/me/mentions/seen").catch(() => {}); }

async function enter() {
  if (me.two_factor_setup_required) return requireSetup();
  // Mentions made while the agent was away are new to them (the server
  // keeps what they have seen).
  unseenMentions = me.unread_mentions || 0;
  if (unseenMentions) $("[data-tab=mentions] .count").textContent = "(" + unseenMentions + " new)";
  $(".who").textContent = me.name + " · " + me.role;
  showFace($(".me-face"), me);
  // The app shows once what its menus and filters offer is known, read
  // side by side: a filter picked at once finds its options.
  await Promise.all([fillTransferTargets(),
    api("GET", "/canned-responses").then((r) => { canned = r.canned_responses; }, () => { canned = []; }),
    loadSettings().then(loadViews)]);
  $(".app").hidden = false;
  connect();
  refresh();
  openLinked();
  // The supervisor's and admin's tabs appear once the first view is drawn:
  // a tab chosen before would be drawn twice, the second time over what
  // the user had begun to type.
  if (me.role !== "agent") $$(".sup-only").forEach((el) => (el.hidden = false));
  if (me.role === "admin") $$(".admin-only").forEach((el) => (el.hidden = false));
}

// fillTransferTargets lists skills and colleagues (with their presence) to
// transfer to; it runs again when the list is opened, as presence changes.
async function fillTransferTargets() {
  const sel = $(".transfer-to");
  const keep = sel.value;
  const [skills, team] = await Promise.all([
    api("GET", "/skills").catch(() => ({ skills: [] })),
    api("GET", "/team").catch(() => ({ team: [] })),
  ]);
  sel.textContent = "";
  for (const s of skills.skills) sel.append(new Option("Skill: " + s.name, "skill:" + s.id));
  for (const u of team.team) {
    names.set(u.id, u.name);
    if (u.id !== me.id) sel.append(new Option(`Agent: ${u.name} (${u.presence})`, "agent:" + u.id));
  }
  if (keep) sel.value = keep;
}
$(".transfer-to").addEventListener("focus", fillTransferTargets);

// ---- Realtime ------------------------------------------------------------------
function connect() {
  const sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws");
  ws = sock;
  sock.onopen = () => sock.send(JSON.stringify({ type: "auth", id: "auth" }));
  sock.onmessage = (ev) => onFrame(JSON.parse(ev.data));
  sock.onclose = (ev) => {
    ws = null;
    live(false);
    if (ev.code === 4001) { if (!loggingOut) location.reload(); return; }
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 15000);
  };
}

function send(frame) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(frame)); }

// live says whether the console hears the account's changes as they
// happen (the inbox is subscribed), or is reconnecting.
function live(on) {
  const el = $(".conn");
  el.textContent = on ? "Live" : "Reconnecting…";
  el.classList.toggle("off", !on);
}

function onFrame(f) {
  switch (f.type) {
    case "authenticated":
      backoff = 500;
      send(presenceFrame($(".presence").value, !$(".auto-away").hidden));
      send({ type: "subscribe_inbox", id: "inbox" });
      clearInterval(heartbeat);
      heartbeat = setInterval(() => send({ type: "ping" }), f.limits.heartbeat_seconds * 1000);
      if (current) send({ type: "subscribe", id: "sub", conversation_id: current.id, after_seq: lastSeq });
      following.clear(); // a new connection follows nothing yet
      followMine();
      break;
    case "inbox_subscribed":
      live(true);
      break;
    case "conversation":
      if (current && f.conversation.id === current.id) showHeader(f.conversation);
      if (f.event === "conversation.assigned" && f.conversation.assignee_id === me.id) notify("New conversation assigned to you");
      if (f.conversation.assignee_id === me.id || following.has(f.conversation.id)) followMine();
      // A colleague called this person in (a mention, or the API): they
      // follow it from now on. The mention says so itself; no second chime.
      if (f.event === "conversation.followed" && f.conversation.user_id === me.id && f.conversation.following) followMine();
      // Only the inbox lists follow conversation events. The admin and bot
      // tabs hold forms being edited (a refresh would put back the saved
      // values over what the admin typed); the overview and the dashboard
      // have their own pace.
      if (filters[tab] !== undefined) refreshSoon();
      break;
    case "message": {
      const open = current && f.conversation_id === current.id;
      if (open) addMessage(f.message);
      if (open && f.message.sender_kind === "consumer") $(".typing").textContent = ""; // what they typed has arrived
      if (open && f.message.sender_kind === "consumer") suggestSoon();
      for (const li of $$(`.items li[data-id="${CSS.escape(f.conversation_id)}"]`)) {
        li.querySelector(".preview").textContent = previewText(f.message);
        li.querySelector(".preview").dataset.seq = f.message.seq;
        // How the new message sounds is known at the list's next drawing.
        if (f.message.sender_kind === "consumer") li.querySelector(".mood-upset")?.remove();
        if (!open && f.message.sender_kind === "consumer") markUnread(li);
      }
      if (!open && f.message.sender_kind === "consumer" && following.has(f.conversation_id)) notify("New message from " + (visitorNames.get(f.message.sender_id) || "a visitor"));
      // A message wakes a snoozed conversation: one of the agent's own that
      // Mine or All open does not list comes into view, and leaves Snoozed.
      const listed = !!$(`.items li[data-id="${CSS.escape(f.conversation_id)}"]`);
      if (following.has(f.conversation_id) && (((tab === "mine" || tab === "open") && !listed) || (tab === "snoozed" && listed))) refreshSoon();
      break;
    }
    case "note":
      if (current && f.note.conversation_id === current.id) addNote(f.note);
      break;
    case "redacted":
      if (f.note) { // a note: the console's alone
        if (current && f.conversation_id === current.id) showRemovedNote(f.note);
        break;
      }
      if (current && f.conversation_id === current.id) showRemoved(f.message);
      // A list fetched before the removal and drawn after it must not
      // quote the message again.
      removedMessages.add(f.conversation_id + "/" + f.message.seq);
      for (const li of $$(`.items li[data-id="${CSS.escape(f.conversation_id)}"]`)) {
        const p = li.querySelector(".preview");
        if (p && p.dataset.seq === String(f.message.seq)) p.textContent = "Message removed";
      }
      break;
    case "csat": // the visitor rated a conversation (or added words to the rating)
      if (current && f.csat.conversation_id === current.id) {
        api("GET", "/conversations/" + current.id).then((c) => { if (current && c.id === current.id) showHeader(c); }).catch(() => {});
      }
      if (tab === "closed") refreshSoon();
      break;
    case "status": {
      // This person's status changed elsewhere — in another tab, or by a
      // supervisor: the menu follows, so it says what the router goes by.
      const st = f.status, sel = $(".presence");
      const value = st.status + (st.reason ? ":" + st.reason : "");
      sel.value = [...sel.options].some((o) => o.value === value) ? value : st.status;
      $(".auto-away").hidden = st.cause !== "auto_away";
      if (st.cause === "supervisor") notify((names.get(st.by) || "A supervisor") + " set your status to " + sel.options[sel.selectedIndex].text);
      armAutoAway();
      break;
    }
    case "page":
      if (current && f.conversation_id === current.id) addPage(f.page, f.at);
      break;
    case "mention": {
      // A colleague called on this agent in a note: say who and where,
      // and count it on the Mentions tab until it is looked at.
      notify(f.note.author_name + " mentioned you: " + f.note.text.slice(0, 80));
      if (tab !== "mentions") $("[data-tab=mentions] .count").textContent = "(" + (++unseenMentions) + " new)";
      if (tab === "mentions") { refreshSoon(); mentionsSeen(); }
      break;
    }
    case "receipt":
      if (current && f.receipt.conversation_id === current.id && f.receipt.side === "consumer" && f.receipt.kind === "read") {
        visitorRead = Math.max(visitorRead, f.receipt.seq);
        showRead();
      }
      break;
    case "viewing": {
      // A colleague has this conversation open too, or has left it.
      const v = f.viewing;
      if (v.conversation_id !== viewingID || v.user_id === me.id) break;
      if (v.viewing) {
        const first = !viewers.has(v.user_id);
        viewers.set(v.user_id, { name: v.name || "A colleague", until: Date.now() + 45000 });
        // The newcomer learns at once that this console has it open too.
        if (first) send({ type: "viewing", conversation_id: viewingID, viewing: true });
      } else {
        viewers.delete(v.user_id);
      }
      showViewers();
      break;
    }
    case "typing":
      // With the brand's typing preview, the visitor's draft shows as they
      // write it (masked by the server like a message).
      if (current && f.typing.conversation_id === current.id) {
        // A colleague typing in the same conversation (a supervisor taking
        // over) is named: two people should not answer at once.
        const who = f.typing.side === "agent" ? (f.typing.name || "A colleague") : "Visitor";
        $(".typing").textContent = !f.typing.typing ? "" : f.typing.text ? who + " is typing: “" + f.typing.text + "”" : who + " is typing…";
      }
      break;
    case "error":
      if (f.id && f.id.startsWith("send:")) $(".reply-error").textContent = f.message;
      else if (f.id === "presence") toast(f.message);
      break;
  }
}

// The supervisor's overview also ages: waits grow and presence changes
// without a conversation event.
// Not while the supervisor is choosing someone's status: the redraw would take the menu away.
setInterval(() => { if (tab === "supervise" && !$(".app").hidden && !$(".agents").contains(document.activeElement)) showOverview().catch(() => {}); }, 5000);
// Inbox lists age too (waits) and their previews move with messages in
// conversations this console does not follow (the agent's own and the
// open one update live).
// Not while the agent moves through the list by keyboard: a rebuilt list would drop the focus.
setInterval(() => {
  if (filters[tab] !== undefined && !$(".app").hidden && !document.hidden && !$(".items").contains(document.activeElement)) refreshSoon();
}, 15000);

// presenceFrame says the status menu's value — online, away, offline, or
// away:<reason> with one of the brand's away reasons — in a presence
// frame; auto marks Away set by the console itself (auto-away).
function presenceFrame(value, auto) {
  const at = value.indexOf(":");
  const f = { type: "presence", id: "presence", state: at < 0 ? value : value.slice(0, at) };
  if (at >= 0) f.reason = value.slice(at + 1);
  if (auto) f.auto = true;
  return f;
}

// fillAwayReasons offers "Away — Lunch" for each of the brand's away
// reasons, keeping the chosen status (a reason the admin removed becomes
// plain Away).
let awayReasons = [];
function fillAwayReasons(reasons) {
  awayReasons = reasons;
  const sel = $(".presence"), keep = sel.value;
  sel.textContent = "";
  sel.append(new Option("Online", "online"), new Option("Away", "away"));
  for (const r of reasons) sel.append(new Option("Away — " + r, "away:" + r));
  sel.append(new Option("Offline", "offline"));
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : keep.startsWith("away") ? "away" : keep;
}

$(".presence").addEventListener("change", (e) => {
  send(presenceFrame(e.target.value, false));
  $(".auto-away").hidden = true; // a choice of their own
  armAutoAway();
});

// ---- Auto-away -----------------------------------------------------------------
// An agent who walks away from an Online console is set Away after the
// brand's auto_away_seconds without a key or the pointer in the console
// (LivePerson's and Chatwoot's auto-away): the router stops sending them
// visitors. They come back with one click; a stray mouse move does not.
let autoAwaySeconds = 0, autoAwayTimer = 0;
function armAutoAway() {
  clearTimeout(autoAwayTimer);
  if (!autoAwaySeconds || $(".presence").value !== "online") return;
  autoAwayTimer = setTimeout(() => {
    if ($(".presence").value !== "online") return;
    $(".presence").value = "away";
    send(presenceFrame("away", true));
    const m = Math.round(autoAwaySeconds / 60);
    $(".auto-away-minutes").textContent = m >= 1 ? m + (m === 1 ? " minute" : " minutes") : autoAwaySeconds + " seconds";
    $(".auto-away").hidden = false;
  }, autoAwaySeconds * 1000);
}
let lastArmed = 0;
// Activity in any of the agent's console tabs counts for all of them: an
// idle tab in the background must not set away someone working in another.
const activity = "BroadcastChannel" in window ? new BroadcastChannel("parley-console-activity") : null;
if (activity) activity.onmessage = () => { if ($(".auto-away").hidden) armAutoAway(); };
for (const ev of ["keydown", "pointerdown", "pointermove", "wheel", "focus"]) {
  window.addEventListener(ev, () => {
    if (!$(".auto-away").hidden || Date.now() - lastArmed < 1000) return; // a moving pointer re-arms once a second
    lastArmed = Date.now();
    armAutoAway();
    activity?.postMessage("active");
  }, { passive: true, capture: true });
}
$(".back-online").addEventListener("click", () => {
  $(".presence").value = "online";
  send({ type: "presence", id: "presence", state: "online" });
  $(".auto-away").hidden = true;
  armAutoAway();
});

// A new assignment is announced in the title, with a sound, and as a
// desktop notification when the agent allowed them.
function notify(text) {
  toast(text);
  const old = document.title;
  document.title = "● " + text;
  setTimeout(() => (document.title = old), 5000);
  try {
    const a = new AudioContext(), o = a.createOscillator(), g = a.createGain();
    o.frequency.value = 660; g.gain.value = 0.05; o.connect(g).connect(a.destination); o.start(); o.stop(a.currentTime + 0.2);
  } catch (e) { /* no sound */ }
  if ("Notification" in window && Notification.permission === "granted") new Notification("Parley", { body: text });
}

// ---- Inbox ---------------------------------------------------------------------
const filters = {
  queued: "state=queued&order=queue", // the longest waiting first, however many wait
  mine: () => "state=assigned&snoozed=hide&assignee_id=" + encodeURIComponent(me.id),
  open: "state=assigned&snoozed=hide",
  // An agent's own snoozed conversations; supervisors and admins see all.
  snoozed: () => "state=assigned&snoozed=only" + (me.role === "agent" ? "&assignee_id=" + encodeURIComponent(me.id) : ""),
  bot: "state=bot",
  closed: "state=closed",
  mentions: "mentioned=me",
  followed: "followed_by=me",
};

let refreshTimer = 0;
// markUnread marks an inbox item "New" (once).
function markUnread(li) {
  if (li.classList.contains("unread")) return;
  li.classList.add("unread");
  const mark = document.createElement("span");
  mark.className = "new";
  mark.textContent = "New";
  li.querySelector(".title").append(" ", mark);
}

// followMine follows the conversations assigned to this agent (and stops
// following those no longer theirs), without backfill: their new messages
// move the inbox; opening one loads its history.
async function followMine() {
  const [page, followed] = await Promise.all([
    api("GET", "/conversations?limit=100&state=assigned&assignee_id=" + encodeURIComponent(me.id)).catch(() => null),
    // And those the person follows (docs/routing.md, Following), while open.
    api("GET", "/conversations?limit=100&followed_by=me").catch(() => null)]);
  if (!page) return;
  const open = (followed ? followed.conversations : []).filter((c) => c.state !== "closed");
  const all = [...page.conversations, ...open.filter((c) => !page.conversations.some((x) => x.id === c.id))];
  const mine = new Set(all.map((c) => c.id));
  for (const c of all) {
    if (following.has(c.id)) continue;
    following.add(c.id);
    if (c.id !== current?.id) send({ type: "subscribe", id: "mine", conversation_id: c.id, after_seq: c.last_seq });
  }
  for (const id of following) {
    if (mine.has(id)) continue;
    following.delete(id);
    if (id !== current?.id) send({ type: "unsubscribe", conversation_id: id });
  }
}

// replyWait is how long (s) an agent's conversation has waited on the
// brand's reply — its last message is the visitor's — or null.
function replyWait(c) {
  const m = c.last_message;
  if (c.state !== "assigned" || !m || m.sender_kind !== "consumer") return null;
  return Math.max(0, (Date.now() - Date.parse(m.created_at)) / 1000);
}

// previewText is how an inbox item shows a conversation's last message.
function previewText(m) {
  const who = { agent: "Agent: ", bot: "Bot: " }[m.sender_kind] ?? "";
  return who + (m.text || "[" + m.type + "]");
}

let pagesWanted = 1; // pages of the current list shown; "Load more" adds one
$(".more").addEventListener("click", () => { pagesWanted++; refresh(); });

function refreshSoon() { clearTimeout(refreshTimer); refreshTimer = setTimeout(refresh, 150); }

async function refresh() {
  const special = tab === "supervise" || tab === "admin" || tab === "botedit" || tab === "dash" || tab === "contacts" || tab === "visitors";
  $(".contacts").hidden = tab !== "contacts";
  $(".visitors").hidden = tab !== "visitors";
  $(".overview").hidden = tab !== "supervise";
  $(".dashboard").hidden = tab !== "dash";
  $(".admin").hidden = tab !== "admin";
  $(".bot-editor").hidden = tab !== "botedit";
  $(".list").hidden = special;
  $(".visitor").hidden = special;
  if (special) {
    $(".placeholder").hidden = $(".conversation").hidden = true;
    viewing("");
    if (tab === "botedit") return showBot(api);
    if (tab === "dash") { await fillSkills(api); return showDashboard(api); }
    if (tab === "contacts") return showContacts();
    if (tab === "visitors") return showVisitors();
    return tab === "admin" ? showAdmin() : showOverview();
  }
  $(".placeholder").hidden = !!current;
  $(".conversation").hidden = !current;
  if ((current ? current.id : "") !== viewingID) viewing(current ? current.id : "");
  const q = typeof filters[tab] === "function" ? filters[tab]() : filters[tab];
  const search = $(".search").value.trim();
  const label = $(".label-filter").value;
  const base = "/conversations?limit=100&" + q + (search ? "&q=" + encodeURIComponent(search) : "") +
    (label ? "&label=" + encodeURIComponent(label) : "") +
    Object.entries(detailFilter() || {}).map(([k, v]) => "&field[" + encodeURIComponent(k) + "]=" + encodeURIComponent(v)).join("");
  // As many pages as the agent asked for with "Load more".
  const view = tab;
  const list = [];
  let cursor = "";
  for (let i = 0; i < pagesWanted; i++) {
    const page = await api("GET", base + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    list.push(...page.conversations);
    cursor = page.next_cursor || "";
    if (!cursor) break;
  }
  // Another tab chosen meanwhile shows its own list; this one is stale.
  if (tab !== view) return;
  $(".more").hidden = !cursor;
  const ul = $(".items");
  ul.textContent = "";
  ul.dataset.tab = view;
  // Mine: those waiting on the agent's reply first, the longest waiting
  // first (as LivePerson's "time to respond"); then the rest, newest first.
  if (tab === "mine") {
    const waitingSince = (c) => (replyWait(c) ? Date.parse(c.last_message.created_at) : Infinity);
    list.sort((a, b) => waitingSince(a) - waitingSince(b));
  }
  for (const c of list) {
    // An item is a box to pick it and a button that opens it (a click
    // anywhere on the item opens it too); the open one is aria-current.
    const li = document.createElement("li");
    li.dataset.id = c.id;
    if (current && current.id === c.id) li.setAttribute("aria-current", "true");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open-conv";
    const title = document.createElement("span");
    title.className = "title";
    // A box to pick it for a bulk action; clicking it does not open it.
    const pick = document.createElement("input");
    pick.type = "checkbox";
    pick.className = "pick";
    pick.checked = selected.has(c.id);
    pick.setAttribute("aria-label", "Select " + (c.consumer_name || "visitor " + c.consumer_id.slice(-6)));
    pick.addEventListener("click", (e) => e.stopPropagation());
    pick.addEventListener("keydown", (e) => e.stopPropagation());
    pick.addEventListener("change", () => { if (pick.checked) selected.set(c.id, c); else selected.delete(c.id); showBulk(); });
    if (selected.has(c.id)) selected.set(c.id, c); // the fresher copy
    li.append(pick, open);
    if (c.consumer_name) visitorNames.set(c.consumer_id, c.consumer_name);
    title.append(c.consumer_name || "Visitor " + c.consumer_id.slice(-6));
    open.append(title);
    // Unread: the visitor wrote last and no agent has read it yet.
    const m = c.last_message;
    if (m && m.sender_kind === "consumer" && m.seq > c.agent_read_seq && c.id !== current?.id) markUnread(li);
    const meta = document.createElement("span");
    meta.className = "meta";
    const waited = (c.queued_at && c.state === "queued" ? " · waiting " + ago(c.queued_at) : "") + (c.csat_score ? " · rated " + c.csat_score + "/5" : "");
    meta.textContent = c.state + (c.assignee_id ? " · " + (names.get(c.assignee_id) || "agent") : "") + waited;
    const preview = document.createElement("span");
    preview.className = "preview";
    if (c.last_message) {
      const removed = c.last_message.redacted || removedMessages.has(c.id + "/" + c.last_message.seq);
      preview.textContent = removed ? "Message removed" : previewText(c.last_message);
      preview.dataset.seq = c.last_message.seq;
    }
    // The visitor's last message sounds upset (docs/bot.md, Sentiment).
    if (c.last_message?.mood === "negative") {
      const mood = Object.assign(document.createElement("span"), { className: "mood-upset", textContent: "Upset" });
      mood.title = "The visitor’s last message sounds upset";
      title.append(" ", mood);
    }
    open.append(preview);
    for (const name of c.labels || []) meta.prepend(chip(name));
    if (c.priority > 0 && c.state !== "closed") {
      const p = document.createElement("span");
      p.className = "prio" + (c.priority >= 10 ? " urgent" : "");
      p.textContent = c.priority >= 10 ? "urgent" : c.priority >= 5 ? "high" : "priority " + c.priority;
      meta.prepend(p, " ");
    }
    const wait = replyWait(c);
    if (wait !== null) {
      const due = document.createElement("span");
      const target = targetFor(c);
      const over = target && wait > target;
      due.className = "due" + (over ? " overdue" : target && wait > 0.8 * target ? " soon" : "");
      due.textContent = (over ? "overdue · " : "") + "visitor waiting " + ago(c.last_message.created_at);
      meta.append(" · ", due);
    }
    open.append(meta);
    li.addEventListener("click", () => openConversation(c.id));
    ul.append(li);
  }
  $(".empty").hidden = list.length > 0;
  showBulk();
  $(`[data-tab=${tab}] .count`).textContent = list.length ? "(" + list.length + ")" : "";
}

// ---- Bulk actions ----------------------------------------------------------------
// selected: the inbox items picked for a bulk action (ID → conversation as
// listed). Each action is the one-conversation call, made for each; what
// fails is counted and said, the rest goes through.
const selected = new Map();
function showBulk() {
  const bar = $(".bulk");
  bar.hidden = selected.size === 0;
  if (bar.hidden) return;
  $(".bulk-count").textContent = selected.size + " selected:";
  const sel = $(".bulk-label");
  sel.textContent = "";
  sel.append(new Option("Add label…", ""));
  for (const l of labelDefs) sel.append(new Option(l.name, l.name));
  sel.disabled = labelDefs.length === 0;
  // Transfer to a skill's queue or a colleague: the conversation header's
  // targets (fillTransferTargets keeps them current).
  const tr = $(".bulk-transfer");
  tr.textContent = "";
  tr.append(new Option("Transfer to…", ""));
  for (const o of $(".transfer-to").options) tr.append(new Option(o.text, o.value));
  fillDetails($(".bulk-field"), "Set detail…");
}

async function bulk(what, fn) {
  const items = [...selected.values()];
  const failed = [];
  for (const c of items) {
    try { await fn(c); } catch (e) { failed.push(e.message); }
  }
  selected.clear();
  toast(failed.length ? `${what}: ${items.length - failed.length} of ${items.length} done; ${failed.length} refused (${failed[0]})` : `${what}: ${items.length} done`);
  refreshSoon();
}
$(".bulk-close").addEventListener("click", () => bulk("Closed", (c) => api("POST", `/conversations/${c.id}/close`, { reason: "resolved" })));
$(".bulk-label").addEventListener("change", (e) => {
  const name = e.target.value;
  if (name) bulk("Labelled " + name, (c) => api("PUT", `/conversations/${c.id}/labels`, { labels: [...new Set([...(c.labels || []), name])] }));
});
$(".bulk-priority").addEventListener("change", (e) => {
  const p = e.target.value;
  e.target.value = "";
  if (p !== "") bulk("Priority set", (c) => api("PUT", `/conversations/${c.id}/priority`, { priority: +p }));
});
$(".bulk-transfer").addEventListener("change", (e) => {
  const target = e.target.value, text = e.target.selectedOptions[0]?.text || "";
  e.target.value = "";
  if (!target) return;
  const [kind, id] = target.split(":");
  bulk("Transferred to " + text.replace(/^(Skill|Agent): /, ""), (c) => api("POST", `/conversations/${c.id}/transfer`, kind === "skill" ? { skill_id: id } : { agent_id: id }));
});
// A detail for all of them at once: "Reason: Delivery" after an outage.
$(".bulk-field").addEventListener("change", (e) => {
  const opt = e.target.selectedOptions[0];
  if (!e.target.value) return;
  const [key, value] = JSON.parse(e.target.value), text = opt.text;
  e.target.value = "";
  bulk(text + " set", (c) => api("PATCH", `/conversations/${c.id}/fields`, { [key]: value }));
});
$(".bulk-clear").addEventListener("click", () => { selected.clear(); $$(".items .pick").forEach((b) => (b.checked = false)); showBulk(); });

// showOverview is the supervisor's live picture; conversation frames from
// the inbox refresh it.
async function showOverview() {
  const o = await api("GET", "/supervisor/overview");
  const fill = (sel, rows) => {
    const tb = $(sel + " tbody");
    tb.textContent = "";
    for (const cells of rows) {
      const tr = document.createElement("tr");
      for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
      tb.append(tr);
    }
  };
  const expected = (s) => !s ? "—" : s < 60 ? "under a minute" : s >= 3600 ? "over an hour" : "about " + Math.round(s / 60) + " min";
  const waited = (s) => s < 60 ? s + " s" : s < 3600 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  fill(".queues", o.queues.map((q) => [q.skill_name || "General", String(q.depth), waited(q.longest_wait_seconds), expected(q.expected_wait_seconds)]));
  if (!o.queues.length) { // say so, rather than leave a table of headings
    const tr = document.createElement("tr");
    tr.append(Object.assign(document.createElement("td"), { colSpan: 4, className: "empty", textContent: "No one is waiting." }));
    $(".queues tbody").append(tr);
  }
  const status = (a) => a.presence + (a.reason ? " · " + a.reason : a.cause === "auto_away" ? " (inactive)" : "") +
    (a.status_since ? " · " + ago(a.status_since) : "");
  fill(".agents", o.agents.map((a) => [a.name, status(a), a.load + " / " + a.max_concurrent + (a.overdue ? " · " + a.overdue + " overdue" : "")]));
  // Each row's last cell sets that person's status (PUT /users/{id}/status):
  // an agent who left Online at the end of their shift is set Offline and
  // their conversations go back to the queue.
  const rows = $(".agents tbody").rows;
  o.agents.forEach((a, i) => {
    const sel = document.createElement("select");
    sel.setAttribute("aria-label", "Set the status of " + a.name);
    sel.append(new Option("Set status…", ""), new Option("Online", "online"), new Option("Away", "away"));
    for (const r of awayReasons) sel.append(new Option("Away — " + r, "away:" + r));
    sel.append(new Option("Offline", "offline"));
    sel.addEventListener("change", async () => {
      const at = sel.value.indexOf(":");
      const body = at < 0 ? { status: sel.value } : { status: sel.value.slice(0, at), reason: sel.value.slice(at + 1) };
      try { await api("PUT", "/users/" + a.id + "/status", body); toast(a.name + ": " + sel.options[sel.selectedIndex].text); } catch (e) { toast(e.message); }
      showOverview().catch(() => {});
    });
    const td = document.createElement("td");
    td.append(sel);
    rows[i].append(td);
  });
}

// ---- Labels --------------------------------------------------------------------
// The account's settings the inbox needs (GET /account-settings): the reply
// target, and the labels. Agents put labels on
// conversations from the header, filter the inbox on them, and see them
// on each inbox item.
let labelDefs = [], labelsRequired = false, responseTargets = { normal: 0, high: 0, urgent: 0 };
// targetFor is the reply target of a conversation's priority, in seconds
// (0: none): urgent from 10, high from 5, each falling back to the level
// below, as the server judges overdue (parley.AccountSettings.ResponseTarget).
function targetFor(c) {
  let t = responseTargets.normal;
  if (c.priority >= 5 && responseTargets.high) t = responseTargets.high;
  if (c.priority >= 10 && responseTargets.urgent) t = responseTargets.urgent;
  return t;
}
async function loadSettings() {
  const s = await api("GET", "/account-settings").catch(() => null);
  if (!s) return;
  labelDefs = s.labels || [];
  labelsRequired = !!s.labels_required;
  fieldDefs = s.conversation_fields || [];
  teamViews = s.inbox_views || [];
  fillViews();
  responseTargets = { normal: s.response_target_seconds || 0, high: s.response_target_high_seconds || 0, urgent: s.response_target_urgent_seconds || 0 };
  autoAwaySeconds = s.auto_away_seconds || 0;
  fillAwayReasons(s.away_reasons || []);
  armAutoAway();
  fillMacros(s.macros || []);
  const sel = $(".label-filter"), keep = sel.value;
  sel.textContent = "";
  sel.append(new Option("All labels", ""));
  for (const l of labelDefs) sel.append(new Option(l.name, l.name));
  sel.value = labelDefs.some((l) => l.name === keep) ? keep : "";
  fillFieldFilter();
  if (current) { showLabels(current); showFields(current, true); }
}

// ---- Conversation fields ---------------------------------------------------------
// The brand's details of a conversation (docs/routing.md, Conversation
// fields), each saved as soon as it changes.
let fieldDefs = [], fieldsShownFor = "";

// fillFieldFilter offers the values of the brand's list and checkbox
// fields as an inbox filter ("Reason: Damaged", "Refund issued: yes"),
// one group per field. A checkbox offers "yes" alone: one never ticked
// holds no value, so "no" would miss most of them. Text, numbers and
// dates are found by the search.
function fillFieldFilter() {
  const sel = $(".field-filter"), keep = sel.value;
  fillDetails(sel, "Any details");
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "";
}

// detailFilter is what the details filter asks of the list, as field key →
// value (null: nothing). An option of the list is one [key, value] pair; a
// saved view may ask for several, or for a text field's value, which no
// option offers: it gets an option of its own, {key: value, ...}.
function detailFilter() {
  const v = $(".field-filter").value;
  if (!v) return null;
  const parsed = JSON.parse(v);
  return Array.isArray(parsed) ? { [parsed[0]]: parsed[1] } : parsed;
}
function showDetailFilter(fields) {
  const sel = $(".field-filter");
  sel.querySelector("option.from-view")?.remove();
  // A field or option the brand has removed since is left out.
  const pairs = Object.entries(fields || {}).filter(([k, v]) => {
    const f = fieldDefs.find((d) => d.key === k);
    return f && (f.type !== "list" || f.options.includes(v));
  });
  fields = Object.fromEntries(pairs);
  const one = pairs.length === 1 ? JSON.stringify(pairs[0]) : "";
  if (!pairs.length || (one && [...sel.options].some((o) => o.value === one))) {
    sel.value = one;
    return;
  }
  const words = pairs.map(([k, v]) => {
    const f = fieldDefs.find((d) => d.key === k);
    return f.label + ": " + (f.type === "checkbox" ? (v === "true" ? "yes" : "no") : v);
  });
  const o = new Option(words.join(" + "), JSON.stringify(fields));
  o.className = "from-view";
  sel.options[0].after(o);
  sel.hidden = false;
  sel.value = o.value;
}

// fillDetails fills sel with the options of the brand's list and checkbox
// fields, one group per field, each option's value [key, value] as JSON,
// after a first option saying none; sel is hidden when there are none.
function fillDetails(sel, none) {
  sel.textContent = "";
  sel.append(new Option(none, ""));
  for (const f of fieldDefs) {
    const values = f.type === "list" ? f.options.map((o) => [o, o]) : f.type === "checkbox" ? [["yes", "true"]] : [];
    if (!values.length) continue;
    const group = document.createElement("optgroup");
    group.label = f.label;
    for (const [text, value] of values) group.append(new Option(f.label + ": " + text, JSON.stringify([f.key, value])));
    sel.append(group);
  }
  sel.hidden = sel.options.length === 1;
}
function showFields(c, force = false) {
  const box = $(".conv-fields");
  $(".conv-details").hidden = fieldDefs.length === 0;
  // Not while the agent is typing in one, unless another conversation opened.
  if (!force && fieldsShownFor === c.id && box.contains(document.activeElement)) return;
  fieldsShownFor = c.id;
  box.textContent = "";
  const values = c.fields || {};
  for (const f of fieldDefs) {
    const label = document.createElement("label");
    label.textContent = f.label + (f.required ? " (required to close)" : "");
    if (f.description) label.title = f.description;
    let input;
    if (f.type === "list") {
      input = document.createElement("select");
      input.append(new Option("—", ""));
      for (const o of f.options || []) input.append(new Option(o, o));
    } else {
      input = document.createElement("input");
      input.type = { number: "number", checkbox: "checkbox", date: "date" }[f.type] || "text";
      if (f.type === "number") input.step = "any";
      if (f.type === "text") input.maxLength = 500;
    }
    input.name = f.key;
    if (f.type === "checkbox") input.checked = values[f.key] === "true";
    else input.value = values[f.key] || "";
    input.addEventListener("change", () => saveField(c.id, f, input));
    label.prepend(...(f.type === "checkbox" ? [input, " "] : []));
    if (f.type !== "checkbox") label.append(input);
    box.append(label);
  }
}
async function saveField(id, f, input) {
  const status = $(".conv-fields-status");
  try {
    const c = await api("PATCH", `/conversations/${id}/fields`, { [f.key]: f.type === "checkbox" ? input.checked : input.value });
    status.textContent = f.label + " saved.";
    if (current && current.id === id) current = { ...current, fields: c.fields };
  } catch (e) {
    status.textContent = e.message;
  }
}

function chip(name) {
  const s = document.createElement("span");
  s.className = "chip";
  const def = labelDefs.find((l) => l.name === name);
  if (def && def.color) s.style.setProperty("--chip", def.color);
  if (def && def.description) s.title = def.description;
  s.textContent = name;
  return s;
}

// showLabels draws the open conversation's labels, each removable, and
// the choice of those it has not got yet.
function showLabels(c) {
  const ul = $(".label-chips");
  ul.textContent = "";
  const have = c.labels || [];
  for (const name of have) {
    const li = document.createElement("li");
    const ch = chip(name);
    const x = document.createElement("button");
    x.type = "button";
    x.className = "unlabel";
    x.textContent = "×";
    x.setAttribute("aria-label", "Remove label " + name);
    x.addEventListener("click", () => setLabels(have.filter((l) => l !== name)));
    ch.append(x);
    li.append(ch);
    ul.append(li);
  }
  const sel = $(".add-label");
  sel.textContent = "";
  sel.append(new Option(labelDefs.length ? "+ Label" : "No labels yet (Admin)", ""));
  for (const l of labelDefs) if (!have.includes(l.name)) sel.append(new Option(l.name, l.name));
  sel.disabled = sel.length === 1;
}

function setLabels(labels) {
  return act(async () => showHeader(await api("PUT", `/conversations/${current.id}/labels`, { labels })));
}
// snoozeUntil turns a choice of the Snooze menu into a time (null: now).
function snoozeUntil(choice) {
  const d = new Date();
  if (choice === "1h") return new Date(d.getTime() + 3600e3);
  if (choice === "wake") return null;
  d.setHours(9, 0, 0, 0);
  if (choice === "tomorrow") d.setDate(d.getDate() + 1);
  if (choice === "week") d.setDate(d.getDate() + ((8 - d.getDay()) % 7 || 7));
  return d;
}
$(".snooze").addEventListener("change", (e) => act(async () => {
  const choice = e.target.value;
  if (!choice || !current) return;
  const until = snoozeUntil(choice);
  showHeader(await api("PUT", `/conversations/${current.id}/snooze`, { until: until && until.toISOString() }));
  toast(until ? "Snoozed until " + until.toLocaleString() : "Back in the inbox");
}));
$(".priority").addEventListener("change", (e) => act(async () => {
  showHeader(await api("PUT", `/conversations/${current.id}/priority`, { priority: +e.target.value }));
}));
$(".add-label").addEventListener("change", (e) => {
  if (e.target.value && current) setLabels([...(current.labels || []), e.target.value]);
});

// ---- Admin ---------------------------------------------------------------------
// row is a table row of text cells, and a last cell for the action when
// the table has an actions column (action given, even if empty).
function row(cells, action) {
  const tr = document.createElement("tr");
  for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
  if (action !== undefined) {
    const td = document.createElement("td");
    if (action) td.append(action);
    tr.append(td);
  }
  return tr;
}

function button(label, fn) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => adminDo(fn));
  return b;
}

async function adminDo(fn) {
  $(".admin-error").textContent = "";
  try { await fn(); await showAdmin(); } catch (e) { $(".admin-error").textContent = e.message; }
}

async function showAdmin() {
  const [users, skills, canned, widget, keys] = await Promise.all([
    api("GET", "/users"), api("GET", "/skills"), api("GET", "/canned-responses"), api("GET", "/widget-settings"), api("GET", "/api-keys"),
  ]);
  const skillName = new Map(skills.skills.map((s) => [s.id, s.name]));
  const tb = $(".users tbody");
  tb.textContent = "";
  for (const u of users.users) {
    // Each row edits role, skills and capacity in place; Save sends them.
    const tr = document.createElement("tr");
    tr.dataset.user = u.id;
    const cell = (el) => { const td = document.createElement("td"); td.append(el); tr.append(td); return el; };
    const who = cell(document.createElement("span"));
    who.className = "user-name";
    const face = document.createElement("span");
    face.className = "face small";
    face.setAttribute("aria-hidden", "true");
    showFace(face, { ...u, account_id: me.account_id });
    who.append(face, u.name);
    cell(document.createTextNode(u.email));
    const role = cell(document.createElement("select"));
    role.className = "edit-role";
    role.setAttribute("aria-label", "Role of " + u.name);
    for (const r of ["agent", "supervisor", "admin"]) role.append(new Option(r, r, false, r === u.role));
    const sk = cell(document.createElement("select"));
    sk.className = "edit-skills";
    sk.multiple = true;
    sk.setAttribute("aria-label", "Skills of " + u.name);
    for (const s of skills.skills) sk.append(new Option(s.name, s.id, false, u.skills.includes(s.id)));
    const max = cell(document.createElement("input"));
    max.className = "edit-max";
    max.setAttribute("aria-label", "Most conversations at once for " + u.name);
    max.type = "number";
    max.min = 0;
    max.max = 100;
    max.value = u.max_concurrent;
    cell(document.createTextNode(u.active ? "yes" : u.deprovisioned ? "no (deleted by your identity provider)" : "no"));
    // An admin cannot see anyone's second factor, only whether it is on;
    // for someone who lost their phone and codes, they can turn it off.
    const tf = cell(document.createElement("span"));
    tf.className = "two-factor-state";
    const factors = [u.two_factor && "app", u.passkeys && u.passkeys + (u.passkeys === 1 ? " passkey" : " passkeys")].filter(Boolean);
    tf.textContent = factors.length ? factors.join(" + ") + " " : "off";
    if (factors.length && u.id !== me.id) tf.append(button("Reset", () => api("DELETE", "/users/" + u.id + "/two-factor")));
    const actions = cell(document.createElement("span"));
    actions.append(button("Save", () => api("PATCH", "/users/" + u.id, {
      role: role.value, skills: [...sk.selectedOptions].map((o) => o.value), max_concurrent: +max.value,
    })));
    if (u.id !== me.id) actions.append(button(u.active ? "Deactivate" : "Activate", () => api("PATCH", "/users/" + u.id, { active: !u.active })));
    // A colleague's photo (people provisioned by the identity provider
    // have none to upload yet): a file picked here goes as it is.
    const pick = Object.assign(document.createElement("input"), { type: "file", accept: "image/png,image/jpeg,image/gif", hidden: true, className: "user-photo-file" });
    pick.addEventListener("change", () => { const f = pick.files[0]; if (f) adminDo(() => api("PUT", "/users/" + u.id + "/photo", f)); });
    const photo = Object.assign(document.createElement("button"), { type: "button", className: "user-photo", textContent: u.photo ? "New photo" : "Add photo" });
    photo.setAttribute("aria-label", (u.photo ? "New photo" : "Add photo") + " of " + u.name); // the visible words first (WCAG 2.5.3)
    photo.addEventListener("click", () => pick.click());
    actions.append(" ", photo, pick);
    if (u.photo) {
      const rm = button("Remove photo", () => api("DELETE", "/users/" + u.id + "/photo"));
      rm.setAttribute("aria-label", "Remove photo of " + u.name);
      actions.append(" ", rm);
    }
    // Single sign-on holds a person to the provider account they first
    // used; one whose provider account was made again needs unlinking.
    if (u.sso_linked) {
      const unlink = button("Unlink SSO", () => api("DELETE", "/users/" + u.id + "/sso-link"));
      unlink.title = "Their next single sign-on links the identity provider's account it comes from";
      actions.append(unlink);
    }
    tb.append(tr);
  }
  const settings = await api("GET", "/account-settings");
  showMasking(settings);
  showLabelDefs(settings);
  showFieldDefs(settings);
  showAutomation(settings, skills.skills, users.users);
  showMacros(settings);
  const af = $(".account-settings");
  if (!dirtyForms.has(af)) fillAccountSettings(af, settings);
  const sf = $(".security-settings");
  if (!dirtyForms.has(sf)) {
    sf.require.checked = !!settings.require_two_factor;
    sf.rememberDays.value = settings.two_factor_remember_days ?? 30;
    sf.networks.value = (settings.console_networks || []).join("\n");
  }
  const ef = $(".email-settings");
  if (!dirtyForms.has(ef)) fillEmailSettings(ef, settings);
  [af, sf, ef].forEach((f) => filledForms.add(f));
  await showSSO();
  await showWebhooks();
  await showAudit();
  const list = (sel, items, text, del) => {
    const ul = $(sel);
    ul.textContent = "";
    for (const it of items) {
      const li = document.createElement("li");
      li.textContent = text(it) + " ";
      if (del) li.append(button("Delete", () => del(it)));
      ul.append(li);
    }
  };
  showSkills(skills.skills);
  showCanned(canned.canned_responses);
  showEngagements(widget, skills.skills);
  fillPrechat(widget, skills.skills);
  list(".keys-list", keys.api_keys, (k) => k.name + " (" + k.role + ", " + k.id + ")", (k) => api("DELETE", "/api-keys/" + k.id));
  const wf = $(".widget-settings");
  wf.dataset.current = JSON.stringify(widget);
  if (dirtyForms.has(wf)) return;
  filledForms.add(wf);
  wf.color.value = widget.color || "#1f5eff";
  wf.label.value = widget.label || "";
  wf.greeting.value = widget.greeting || "";
  wf.position.value = widget.position || "right";
  wf.language.value = widget.language || "";
  wf.origins.value = (widget.allowed_origins || []).join(", ");
  wf.help.checked = !!widget.help_center;
  wf.preview.checked = !!widget.typing_preview;
  wf.team.checked = !!widget.show_team;
}

// fillAccountSettings puts the saved routing and hours settings in their form.
function fillAccountSettings(af, settings) {
  af.auto.checked = settings.auto_assign;
  af.retention.value = settings.retention_days ?? 0;
  af.botIdle.value = settings.auto_close?.bot_minutes ?? 30;
  af.agentIdle.value = settings.auto_close?.agent_minutes ?? 0;
  af.warnIdle.value = settings.auto_close?.warn_minutes ?? 0;
  af.target.value = settings.response_target_seconds ?? 0;
  af.targetHigh.value = settings.response_target_high_seconds ?? 0;
  af.targetUrgent.value = settings.response_target_urgent_seconds ?? 0;
  af.autoAway.value = Math.round((settings.auto_away_seconds || 0) / 60);
  af.awayReasons.value = (settings.away_reasons || []).join("\n");
  af.notice.value = settings.queue_notice_seconds ?? 60;
  const bh = settings.business_hours;
  const allDay = (w) => w && w.length === 1 && w[0][0] === "00:00" && w[0][1] === "24:00";
  af.always.checked = !bh || ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].every((d) => allDay(bh.days?.[d])); // always, but for holidays
  af.holidays.value = (bh?.holidays || []).map((h) => [h.date, ...(h.hours || []).map((w) => w[0] + "-" + w[1]), h.name || ""].join(" ").trim()).join("\n");
  af.tz.value = bh ? bh.time_zone : Intl.DateTimeFormat().resolvedOptions().timeZone;
  const win = (d) => (bh && bh.days && bh.days[d] && bh.days[d][0]) || ["", ""];
  [af.wdFrom.value, af.wdTo.value] = bh ? win("mon") : ["09:00", "17:00"];
  [af.weFrom.value, af.weTo.value] = bh ? win("sat") : ["", ""];
}

// fillEmailSettings puts the email replies settings in their form; without
// a mail server the form says so and cannot turn them on.
function fillEmailSettings(ef, settings) {
  const er = settings.email_replies || {};
  $(".no-mail-server", ef).hidden = !!settings.mail_server;
  $(".reply-to", ef).hidden = !!settings.mail_inbound; // answers come back to the conversation
  $(".inbound-mail", ef).hidden = !settings.mail_inbound;
  ef.enabled.disabled = !settings.mail_server && !er.enabled;
  ef.enabled.checked = !!er.enabled;
  ef.delay.value = er.delay_minutes ?? 5;
  ef.fromName.value = er.from_name || "";
  ef.replyTo.value = er.reply_to || "";
  ef.siteURL.value = er.site_url || "";
  ef.survey.checked = !!er.survey;
  ef.weekly.checked = !!settings.weekly_report;
  ef.weekly.disabled = !settings.mail_server && !settings.weekly_report;
  ef.daily.checked = !!settings.daily_report;
  ef.daily.disabled = !settings.mail_server && !settings.daily_report;
  ef.weeklyDay.value = settings.weekly_report_day || "monday";
  ef.reportHour.value = String(settings.report_hour ?? 8);
}

// dirtyForms are the admin forms changed and not saved yet: the admin tab
// redraws itself after any admin action (adding a skill, say), and a form
// being edited keeps what was typed. Saving it clears it.
// A form counts as changed only once it has shown the brand's values: a
// box ticked in the instant before they arrive must not keep them out (the
// form would then save its blanks over them — the console networks, say).
const dirtyForms = new Set(), filledForms = new WeakSet();
for (const sel of [".account-settings", ".widget-settings", ".prechat-settings", ".security-settings", ".sso-settings", ".email-settings"]) {
  $(sel).addEventListener("input", (e) => { if (filledForms.has(e.currentTarget)) dirtyForms.add(e.currentTarget); });
}

// showCanned lists the canned responses, each editable in place.
// showSkills lists the skills, each with its overflow — where its waiting
// visitors go after how long (docs/routing.md, Overflow) — and an Edit
// button that turns the line into a small form.
function showSkills(skills) {
  const ul = $(".skills-list");
  ul.textContent = "";
  const name = new Map(skills.map((s) => [s.id, s.name]));
  for (const s of skills) {
    const li = document.createElement("li");
    li.dataset.id = s.id;
    li.textContent = s.name + (s.overflow_after_seconds
      ? " — after " + s.overflow_after_seconds + " s waiting" + (s.overflow_unstaffed ? " (at once while no one with it is online, or outside its hours)" : "") +
        ", to " + (s.overflow_to ? name.get(s.overflow_to) || s.overflow_to : "the general queue")
      : "") + (s.hours ? " — its own hours: " + describeHours(s.hours) : "") + " ";
    const edit = Object.assign(document.createElement("button"), { type: "button", textContent: "Overflow…" });
    edit.setAttribute("aria-label", "Overflow of " + s.name);
    edit.addEventListener("click", () => editOverflow(li, s, skills));
    const hours = Object.assign(document.createElement("button"), { type: "button", textContent: "Hours…" });
    hours.setAttribute("aria-label", "Hours of " + s.name);
    hours.addEventListener("click", () => editSkillHours(li, s));
    li.append(edit, " ", hours);
    ul.append(li);
  }
}

// editOverflow: a skill's overflow target and time, saved with PATCH.
function editOverflow(li, s, skills) {
  const form = document.createElement("form");
  form.className = "edit-overflow inline";
  const to = document.createElement("select");
  to.name = "to";
  to.setAttribute("aria-label", "Visitors waiting for " + s.name + " move to");
  to.append(new Option("No overflow", "none"), new Option("General queue", ""));
  for (const o of skills) if (o.id !== s.id) to.append(new Option(o.name, o.id));
  to.value = s.overflow_after_seconds ? s.overflow_to : "none";
  const after = Object.assign(document.createElement("input"), { name: "after", type: "number", min: 10, max: 86400, value: s.overflow_after_seconds || 120, className: "w6" });
  after.setAttribute("aria-label", "After how many seconds of waiting");
  const unstaffed = Object.assign(document.createElement("input"), { type: "checkbox", name: "unstaffed", checked: !!s.overflow_unstaffed });
  const unstaffedLabel = document.createElement("label");
  unstaffedLabel.append(unstaffed, " or at once while no one with it is online, or outside its hours");
  const save = Object.assign(document.createElement("button"), { type: "submit", textContent: "Save" });
  const cancel = Object.assign(document.createElement("button"), { type: "button", textContent: "Cancel" });
  cancel.addEventListener("click", () => showAdmin());
  form.append(s.name + ": move visitors waiting to ", to, " after ", after, " s ", unstaffedLabel, " ", save, cancel);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = to.value === "none" ? { overflow_after_seconds: 0, overflow_unstaffed: false }
      : { overflow_to: to.value, overflow_after_seconds: +after.value, overflow_unstaffed: unstaffed.checked };
    adminDo(() => api("PATCH", "/skills/" + s.id, body));
  });
  li.textContent = "";
  li.append(form);
  to.focus();
}

// describeHours says business hours in a line: "weekdays 09:00–18:00,
// Saturday and Sunday closed (Europe/Madrid)".
function describeHours(h) {
  const days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const names = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };
  const day = (d) => (h.days?.[d] || []).map((w) => w[0] + "–" + w[1]).join(", ") || "closed";
  const groups = [];
  for (const d of days) {
    const last = groups[groups.length - 1];
    if (last && last.text === day(d)) last.days.push(d);
    else groups.push({ days: [d], text: day(d) });
  }
  const said = groups.map((g) => {
    const ds = g.days;
    const who = ds.join() === "mon,tue,wed,thu,fri" ? "weekdays" : ds.length > 2 ? names[ds[0]] + " to " + names[ds[ds.length - 1]]
      : ds.map((d) => names[d]).join(" and ");
    return who + " " + g.text;
  });
  return said.join(", ") + " (" + h.time_zone + ")";
}

// weekHours makes business hours from a form's time zone, weekday and
// weekend windows ("" or none: closed; an end of 00:00 is midnight).
function weekHours(tz, wdFrom, wdTo, weFrom, weTo, holidays) {
  const days = {};
  const end = (t) => (t === "00:00" ? "24:00" : t);
  if (wdFrom && wdTo) for (const d of ["mon", "tue", "wed", "thu", "fri"]) days[d] = [[wdFrom, end(wdTo)]];
  if (weFrom && weTo) for (const d of ["sat", "sun"]) days[d] = [[weFrom, end(weTo)]];
  return { time_zone: tz, days, holidays: holidays || [] };
}

// editSkillHours: a skill's own hours (a team in another time zone, a
// night shift), or the brand's, saved with PATCH (docs/routing.md).
function editSkillHours(li, s) {
  const form = document.createElement("form");
  form.className = "edit-hours inline";
  const own = document.createElement("select");
  own.name = "own";
  own.setAttribute("aria-label", "Hours of " + s.name);
  own.append(new Option("the brand’s business hours", ""), new Option("its own hours", "own"));
  own.value = s.hours ? "own" : "";
  const h = s.hours || {};
  const win = (d) => h.days?.[d]?.[0] || ["", ""];
  const input = (name, label, value, extra) => {
    const el = Object.assign(document.createElement("input"), { name, value, ...extra });
    el.setAttribute("aria-label", label);
    return el;
  };
  const tz = input("tz", "Time zone", h.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone, { className: "w10" });
  const [wf, wt] = s.hours ? win("mon") : ["09:00", "17:00"];
  const [ef, et] = s.hours ? win("sat") : ["", ""];
  const wdFrom = input("wdFrom", "Weekdays from", wf, { type: "time" }), wdTo = input("wdTo", "Weekdays to", wt, { type: "time" });
  const weFrom = input("weFrom", "Weekends from", ef, { type: "time" }), weTo = input("weTo", "Weekends to", et, { type: "time" });
  const fields = document.createElement("span");
  fields.append(" in ", tz, ": weekdays ", wdFrom, "–", wdTo, ", weekends ", weFrom, "–", weTo, " (empty: closed)");
  const show = () => { fields.hidden = own.value !== "own"; };
  own.addEventListener("change", show);
  show();
  const save = Object.assign(document.createElement("button"), { type: "submit", textContent: "Save" });
  const cancel = Object.assign(document.createElement("button"), { type: "button", textContent: "Cancel" });
  cancel.addEventListener("click", () => showAdmin());
  form.append(s.name + " answers in ", own, fields, " ", save, cancel);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const hours = own.value === "own" ? weekHours(tz.value.trim(), wdFrom.value, wdTo.value, weFrom.value, weTo.value, s.hours?.holidays) : null;
    adminDo(() => api("PATCH", "/skills/" + s.id, { hours }));
  });
  li.textContent = "";
  li.append(form);
  own.focus();
}

// fillPrechat puts the pre-chat form's settings in their form: who the
// visitor is, the offline form, and the topics, each a line with its
// label and where it goes.
let prechatSkills = [];
function fillPrechat(widget, skills) {
  const f = $(".prechat-settings");
  prechatSkills = skills;
  if (dirtyForms.has(f)) return;
  filledForms.add(f);
  const p = widget.prechat || {};
  f.enabled.checked = !!p.enabled;
  f.askName.checked = !!p.ask_name;
  f.askEmail.checked = !!p.ask_email;
  f.emailRequired.checked = !!p.email_required;
  f.offline.checked = widget.offline_form !== false;
  $(".topic-list", f).textContent = "";
  for (const t of p.topics || []) addTopic(t);
}

function addTopic(t) {
  const ol = $(".prechat-settings .topic-list");
  const li = document.createElement("li");
  const n = ol.children.length + 1;
  const label = Object.assign(document.createElement("input"), { name: "topicLabel", value: t?.label || "", maxLength: 60, placeholder: "Orders and delivery" });
  label.setAttribute("aria-label", "Topic " + n);
  const skill = document.createElement("select");
  skill.name = "topicSkill";
  skill.setAttribute("aria-label", "Topic " + n + " goes to");
  skill.append(new Option("the usual way (the bot, then the queue)", ""));
  for (const k of prechatSkills) skill.append(new Option(k.name, k.id));
  skill.value = t?.skill || "";
  const remove = Object.assign(document.createElement("button"), { type: "button", textContent: "Remove" });
  remove.setAttribute("aria-label", "Remove topic " + n);
  remove.addEventListener("click", () => {
    li.remove();
    dirtyForms.add($(".prechat-settings"));
  });
  li.append(label, " goes to ", skill, " ", remove);
  ol.append(li);
  return label;
}

$(".prechat-settings .add-topic").addEventListener("click", () => {
  dirtyForms.add($(".prechat-settings"));
  addTopic(null).focus();
});
$(".prechat-settings").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  const topics = [...f.querySelectorAll(".topic-list li")].map((li) => ({ label: li.querySelector("[name=topicLabel]").value.trim(), skill: li.querySelector("[name=topicSkill]").value }))
    .filter((t) => t.label || t.skill);
  const prechat = { enabled: f.enabled.checked, ask_name: f.askName.checked, ask_email: f.askEmail.checked, email_required: f.emailRequired.checked, topics };
  adminDo(async () => {
    await api("PUT", "/widget-settings", { ...widgetNow, prechat, offline_form: f.offline.checked });
    dirtyForms.delete(f);
    toast("Saved what the chat asks before the first message.");
  });
});

function showCanned(items) {
  const ul = $(".canned-list");
  ul.textContent = "";
  for (const c of items) {
    const li = document.createElement("li");
    li.dataset.id = c.id;
    li.textContent = "/" + c.shortcut + " — " + c.text + " ";
    // Not button(): that redraws the Admin tab after its action, which
    // would take the form away again.
    const edit = Object.assign(document.createElement("button"), { type: "button", textContent: "Edit" });
    edit.addEventListener("click", () => editCanned(li, c));
    li.append(edit, " ", button("Delete", () => api("DELETE", "/canned-responses/" + c.id)));
    ul.append(li);
  }
}

// editCanned turns a canned response's line into a small form.
function editCanned(li, c) {
  const form = document.createElement("form");
  form.className = "edit-canned inline";
  const shortcut = Object.assign(document.createElement("input"), { name: "shortcut", value: c.shortcut, required: true });
  shortcut.setAttribute("aria-label", "Shortcut");
  const text = Object.assign(document.createElement("input"), { name: "text", value: c.text, required: true });
  text.setAttribute("aria-label", "Text");
  const save = Object.assign(document.createElement("button"), { type: "submit", textContent: "Save" });
  const cancel = Object.assign(document.createElement("button"), { type: "button", textContent: "Cancel" });
  cancel.addEventListener("click", () => showAdmin());
  form.append(shortcut, text, save, cancel);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    adminDo(async () => {
      await api("PUT", "/canned-responses/" + c.id, { shortcut: shortcut.value, text: text.value });
      canned = (await api("GET", "/canned-responses")).canned_responses;
    });
  });
  li.textContent = "";
  li.append(form);
  text.focus();
}

$(".new-user").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  adminDo(async () => {
    await api("POST", "/users", { name: f.name.value, email: f.email.value, password: f.password.value, role: f.role.value, max_concurrent: +f.max.value });
    f.reset();
  });
});
$(".new-skill").addEventListener("submit", (e) => {
  e.preventDefault();
  adminDo(async () => { await api("POST", "/skills", { name: e.target.name.value }); e.target.reset(); await fillTransferTargets(); });
});
$(".new-canned").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  adminDo(async () => {
    await api("POST", "/canned-responses", { shortcut: f.shortcut.value, text: f.text.value });
    f.reset();
    canned = (await api("GET", "/canned-responses")).canned_responses;
  });
});
$(".widget-settings").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  const cur = JSON.parse(f.dataset.current || "{}");
  const origins = f.origins.value.split(",").map((s) => s.trim()).filter(Boolean);
  adminDo(async () => {
    await api("PUT", "/widget-settings", { ...cur, color: f.color.value, label: f.label.value, greeting: f.greeting.value, position: f.position.value, language: f.language.value, allowed_origins: origins, help_center: f.help.checked, typing_preview: f.preview.checked, show_team: f.team.checked });
    dirtyForms.delete(f); // saved: show what the server kept
  });
});
$(".account-settings").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  const body = {
    auto_assign: f.auto.checked, queue_notice_seconds: +f.notice.value, retention_days: +f.retention.value,
    auto_close: { bot_minutes: +f.botIdle.value, agent_minutes: +f.agentIdle.value, warn_minutes: +f.warnIdle.value },
    response_target_seconds: +f.target.value, response_target_high_seconds: +f.targetHigh.value, response_target_urgent_seconds: +f.targetUrgent.value,
    auto_away_seconds: 60 * +f.autoAway.value,
    away_reasons: f.awayReasons.value.split("\n").map((r) => r.trim()).filter(Boolean),
  };
  // Holidays, one a line: "2026-12-25 Christmas" (closed), or
  // "2026-12-24 09:00-13:00 Christmas Eve" (those hours only). A line that
  // does not read as one goes as it is, and the server names it.
  const holidays = f.holidays.value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
    const m = l.match(/^(\d{4}-\d{2}-\d{2})((?:\s+\d{2}:\d{2}\s*[-–]\s*\d{2}:\d{2})*)\s*(.*)$/);
    if (!m) return { date: l };
    const hours = [...m[2].matchAll(/(\d{2}:\d{2})\s*[-–]\s*(\d{2}:\d{2})/g)].map((w) => [w[1], w[2]]);
    return { date: m[1], name: m[3], hours };
  });
  if (!f.always.checked) {
    body.business_hours = weekHours(f.tz.value, f.wdFrom.value, f.wdTo.value, f.weFrom.value, f.weTo.value, holidays);
  } else if (holidays.length) {
    // Always open, but for the holidays.
    const days = {};
    for (const d of ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) days[d] = [["00:00", "24:00"]];
    body.business_hours = { time_zone: f.tz.value, days, holidays };
  }
  adminDo(async () => {
    await api("PUT", "/account-settings", body);
    dirtyForms.delete(f);
    await loadSettings();
  });
});
$(".security-settings").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  adminDo(async () => {
    await api("PATCH", "/account-settings", { require_two_factor: f.require.checked, two_factor_remember_days: Number(f.rememberDays.value),
      console_networks: f.networks.value.split("\n").map((l) => l.trim()).filter(Boolean) });
    dirtyForms.delete(f);
    toast(f.require.checked ? "Two-factor authentication is required of everyone." : "Two-factor authentication is up to each person.");
  });
});
// showSSO fills the single sign-on form; the secret never comes back, so
// its field says whether one is saved.
async function showSSO() {
  const f = $(".sso-settings");
  const sso = await api("GET", "/sso");
  $(".sso-redirect").textContent = sso.redirect_uri;
  $(".sso-post-logout").textContent = sso.post_logout_redirect_uri;
  $(".sso-link code").textContent = sso.sign_in_url;
  $(".scim-url").textContent = sso.scim_url;
  $(".sso-link").hidden = !sso.configured;
  $(".sso-off").hidden = !sso.configured;
  f.clientSecret.required = !sso.client_secret_set;
  f.clientSecret.placeholder = sso.client_secret_set ? "saved; type a new one to replace it" : "";
  if (dirtyForms.has(f)) return;
  filledForms.add(f);
  f.issuer.value = sso.issuer;
  f.clientId.value = sso.client_id;
  f.clientSecret.value = "";
  f.required.checked = sso.required;
  f.signOut.checked = sso.sign_out;
  f.role.value = sso.provision_role || "";
  f.domains.value = sso.domains.join("\n");
}
$(".sso-settings").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  adminDo(async () => {
    const sso = await api("PUT", "/sso", { issuer: f.issuer.value.trim(), client_id: f.clientId.value.trim(), client_secret: f.clientSecret.value,
      required: f.required.checked, sign_out: f.signOut.checked, provision_role: f.role.value, domains: f.domains.value.split("\n").map((l) => l.trim()).filter(Boolean) });
    dirtyForms.delete(f);
    toast(sso.required ? "Single sign-on is saved, and required of agents and supervisors." : "Single sign-on is saved.");
  });
});
$(".sso-off").addEventListener("click", () => {
  const f = $(".sso-settings");
  adminDo(async () => {
    await api("DELETE", "/sso");
    dirtyForms.delete(f);
    f.reset();
    toast("Single sign-on is off.");
  });
});
$(".email-settings").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  adminDo(async () => {
    await api("PATCH", "/account-settings", { email_replies: {
      enabled: f.enabled.checked, delay_minutes: +f.delay.value, from_name: f.fromName.value.trim(),
      reply_to: f.replyTo.value.trim(), site_url: f.siteURL.value.trim(), survey: f.survey.checked,
    }, weekly_report: f.weekly.checked, daily_report: f.daily.checked,
    weekly_report_day: f.weeklyDay.value, report_hour: +f.reportHour.value });
    dirtyForms.delete(f);
    toast(f.enabled.checked ? "Unread replies will be emailed." : "Replies are not emailed.");
  });
});
$(".new-key").addEventListener("submit", (e) => {
  e.preventDefault();
  adminDo(async () => {
    const k = await api("POST", "/api-keys", { name: e.target.name.value });
    e.target.reset();
    // Shown once: the server keeps only a hash.
    $(".key-secret").textContent = "New key (copy it now, it is not shown again): " + k.secret;
  });
});

// ---- Webhooks and the audit log ----------------------------------------------
// ---- Sensitive data: card masking and the brand's own rules ----------------
// maskingDirty: the admin changed the form and has not saved it. The admin
// tab redraws itself (after any admin action, or a second load racing the
// first); a dirty form keeps what was typed.
let maskingDirty = false;
function showMasking(settings) {
  if (maskingDirty) return;
  const f = $(".masking");
  f.cards.checked = settings.masking.cards;
  $(".mask-rules tbody").textContent = "";
  for (const r of settings.masking.rules) addMaskRule(r);
}

function addMaskRule(r = { name: "", pattern: "", replacement: "" }) {
  const tr = document.createElement("tr");
  const input = (field, label, value) => {
    const el = document.createElement("input");
    el.name = field;
    el.value = value || "";
    el.setAttribute("aria-label", label);
    const td = document.createElement("td");
    td.append(el);
    tr.append(td);
  };
  input("name", "Rule name", r.name);
  input("pattern", "Pattern", r.pattern);
  input("replacement", "Replace with (default ***)", r.replacement);
  const td = document.createElement("td");
  const del = document.createElement("button");
  del.type = "button";
  del.textContent = "Remove";
  del.addEventListener("click", () => { maskingDirty = true; tr.remove(); });
  td.append(del);
  tr.append(td);
  $(".mask-rules tbody").append(tr);
  return tr;
}

$(".add-rule").addEventListener("click", () => { maskingDirty = true; addMaskRule().querySelector("input").focus(); });
$(".masking").addEventListener("input", () => { maskingDirty = true; });
$(".masking").addEventListener("submit", (e) => {
  e.preventDefault();
  const rules = [...$$(".mask-rules tbody tr")].map((tr) => ({
    name: tr.querySelector("[name=name]").value, pattern: tr.querySelector("[name=pattern]").value,
    replacement: tr.querySelector("[name=replacement]").value,
  }));
  adminDo(async () => {
    // PATCH: only the masking; the other settings stay as they are.
    await api("PATCH", "/account-settings", { masking: { cards: e.target.cards.checked, rules } });
    maskingDirty = false; // saved: show what the server kept
  });
});

// ---- Labels the account defines ---------------------------------------------
// As the masking form: a form being edited keeps what was typed across
// the admin tab's redraws.
let labelsDirty = false;
// The admin's list of conversation fields: a row each. A field's key is
// made from its first label and kept when it is renamed, because the
// conversations' values are stored by it.
let fieldsDirty = false;
function showFieldDefs(settings) {
  if (fieldsDirty) return;
  $(".field-defs tbody").textContent = "";
  for (const f of settings.conversation_fields || []) addFieldDef(f);
}
function addFieldDef(f = { key: "", label: "", type: "text", options: [], required: false }) {
  const tr = document.createElement("tr");
  tr.dataset.key = f.key;
  const cell = (el) => { const td = document.createElement("td"); td.append(el); tr.append(td); return el; };
  const label = cell(control("input", "label", "Field name"));
  label.value = f.label;
  label.maxLength = 60;
  label.placeholder = "Order number";
  const type = cell(control("select", "type", "Field type", [["text", "text"], ["number", "number"], ["list", "list"], ["checkbox", "checkbox"], ["date", "date"]]));
  type.value = f.type;
  const options = cell(control("input", "options", "Options of a list, comma-separated"));
  options.value = (f.options || []).join(", ");
  options.placeholder = "Sizing, Delivery, Returns";
  const required = cell(control("input", "required", "Required to close"));
  required.type = "checkbox";
  required.checked = !!f.required;
  const del = cell(document.createElement("button"));
  del.type = "button";
  del.textContent = "Remove";
  del.addEventListener("click", () => { fieldsDirty = true; tr.remove(); });
  $(".field-defs tbody").append(tr);
  return tr;
}
$(".add-field-def").addEventListener("click", () => { fieldsDirty = true; addFieldDef().querySelector("input").focus(); });
$(".fields-form").addEventListener("input", () => { fieldsDirty = true; });
$(".fields-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const taken = new Set([...$$(".field-defs tbody tr")].map((tr) => tr.dataset.key).filter(Boolean));
  const fields = [...$$(".field-defs tbody tr")].map((tr) => {
    const label = tr.querySelector("[name=label]").value.trim();
    let key = tr.dataset.key;
    if (!key) { // a key starts with a letter
      key = uniqueSlug(/^[a-z]/i.test(label) ? label : "f " + label, "_", 36, "field", taken);
      taken.add(key);
    }
    const type = tr.querySelector("[name=type]").value;
    return { key, label, type, required: tr.querySelector("[name=required]").checked,
      options: type === "list" ? tr.querySelector("[name=options]").value.split(",").map((o) => o.trim()).filter(Boolean) : undefined };
  });
  adminDo(async () => {
    await api("PATCH", "/account-settings", { conversation_fields: fields });
    fieldsDirty = false;
    toast("Conversation fields saved.");
    await loadSettings();
  });
});

function showLabelDefs(settings) {
  if (labelsDirty) return;
  $(".labels-form").required.checked = !!settings.labels_required;
  $(".label-defs tbody").textContent = "";
  for (const l of settings.labels || []) addLabelDef(l);
}

function addLabelDef(l = { name: "", color: "", description: "" }) {
  const tr = document.createElement("tr");
  const cell = (el) => { const td = document.createElement("td"); td.append(el); tr.append(td); return el; };
  const name = cell(document.createElement("input"));
  name.name = "name";
  name.value = l.name;
  name.maxLength = 32;
  name.placeholder = "billing";
  name.setAttribute("aria-label", "Label name (lower case, digits, - and _)");
  const color = cell(document.createElement("input"));
  color.name = "color";
  color.type = "color";
  color.value = l.color || "#6b7280";
  color.setAttribute("aria-label", "Label colour");
  const desc = cell(document.createElement("input"));
  desc.name = "description";
  desc.value = l.description || "";
  desc.maxLength = 200;
  desc.setAttribute("aria-label", "Label description");
  const del = cell(document.createElement("button"));
  del.type = "button";
  del.textContent = "Remove";
  del.addEventListener("click", () => { labelsDirty = true; tr.remove(); });
  $(".label-defs tbody").append(tr);
  return tr;
}

$(".add-label-def").addEventListener("click", () => { labelsDirty = true; addLabelDef().querySelector("input").focus(); });
$(".labels-form").addEventListener("input", () => { labelsDirty = true; });
$(".labels-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const labels = [...$$(".label-defs tbody tr")].map((tr) => ({
    name: tr.querySelector("[name=name]").value.trim(), color: tr.querySelector("[name=color]").value,
    description: tr.querySelector("[name=description]").value.trim(),
  }));
  adminDo(async () => {
    await api("PATCH", "/account-settings", { labels, labels_required: e.target.required.checked });
    labelsDirty = false;
    await loadSettings();
  });
});

// ---- Automation rules ------------------------------------------------------------
// The brand's triage rules (docs/routing.md, Automation rules): listed with
// what they do, each turned off or on and removed in place; the form below
// adds one. The whole list is saved each time (PATCH automation_rules).
let autoRules = [], autoSkills = [], autoLabels = [], autoUsers = [];
const ruleFields = [["message", "the message"], ["sentiment", "how the message sounds"], ["visitor.name", "the visitor's name"], ["visitor.email", "the visitor's email"],
  ["visitor.external_id", "your ID of the visitor"], ["channel", "the channel"], ["business_hours", "the business hours (open or closed)"], ["attribute", "a visitor attribute…"],
  ["rating", "the rating (1 to 5)"], ["rating.comment", "the rating's comment"], ["close_reason", "why it closed"], ["agent", "the person it is assigned to"], ["priority", "the priority (0 to 10: 5 High, 10 Urgent)"]];
const ruleOperators = [["contains", "contains"], ["not_contains", "does not contain"], ["equals", "is"], ["not_equals", "is not"],
  ["matches", "matches the pattern"], ["is_set", "is set"], ["is_not_set", "is not set"], ["at_most", "is at most"], ["at_least", "is at least"]];
const ruleActions = [["add_label", "add the label"], ["set_priority", "set the priority"], ["set_skill", "route to the skill"], ["send_message", "reply"],
  ["assign_agent", "assign to"], ["notify", "notify"], ["close", "close, as"]];
const priorityNames = { 0: "Normal", 5: "High", 10: "Urgent" };

function describeRule(r) {
  const when = { visitor_message: "When the visitor writes", fields_changed: "When someone records the details", conversation_rated: "When the visitor rates it", conversation_closed: "When a conversation closes", conversation_assigned: "When a person takes it", reply_overdue: "When the visitor waits past the reply target" }[r.event] || "When a conversation opens";
  const said = (c) => {
    const field = c.field.startsWith("visitor.attributes.") ? "attribute " + c.field.slice(19)
      : (conditionFields().find((f) => f[0] === c.field) || [c.field, c.field])[1];
    const op = (ruleOperators.find((o) => o[0] === c.operator) || [c.operator, c.operator])[1];
    const value = c.field === "agent" ? (autoUsers.find((u) => u.id === c.value)?.name || c.value) : c.value;
    return `${field} ${op}${c.operator.startsWith("is_") ? "" : " “" + value + "”"}`;
  };
  const conds = (r.conditions || []).map(said);
  const anyConds = (r.any_conditions || []).map(said);
  const acts = r.actions.map((a) => {
    const what = (ruleActions.find((x) => x[0] === a.type) || [a.type, a.type])[1];
    const value = a.type === "set_skill" ? (autoSkills.find((s) => s.id === a.value)?.name || a.value)
      : a.type === "assign_agent" || a.type === "notify" ? (autoUsers.find((u) => u.id === a.value)?.name || a.value)
      : a.type === "close" ? "“" + (a.value || "resolved") + "”"
      : a.type === "set_priority" ? (priorityNames[a.value] || a.value) : a.type === "send_message" ? "“" + a.value + "”" : a.value;
    return what + " " + value;
  });
  let joined = r.match === "any" && conds.length > 1 ? "either " + conds.join(" or ") : conds.join(" and ");
  if (anyConds.length) {
    const either = anyConds.length > 1 ? "either " + anyConds.join(" or ") : anyConds[0];
    joined = joined ? joined + ", and " + either : either;
  }
  return endSentence(`${when}${joined ? " and " + joined : ""}: ${acts.join(", then ")}`);
}

function showAutomation(settings, skills, users) {
  autoRules = settings.automation_rules || [];
  fieldDefs = settings.conversation_fields || [];
  autoSkills = skills;
  autoUsers = users.filter((u) => u.active);
  autoLabels = (settings.labels || []).map((l) => l.name);
  const ol = $(".auto-rules");
  ol.textContent = "";
  autoRules.forEach((r, i) => {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.className = r.disabled ? "off" : "";
    const name = document.createElement("strong");
    name.textContent = r.name;
    text.append(name, " — " + describeRule(r));
    if (r.event === "reply_overdue" && !settings.response_target_seconds) {
      // Without a target nothing is ever overdue: the rule would wait for ever.
      const warn = document.createElement("small");
      warn.className = "rule-warning";
      warn.textContent = " It never runs until a reply target is set (Routing and hours).";
      text.append(warn);
    }
    const toggle = button(r.disabled ? "Turn on" : "Turn off", () => saveRules(autoRules.map((x, j) => (j === i ? { ...x, disabled: !x.disabled } : x))));
    const del = button("Remove", () => saveRules(autoRules.filter((_, j) => j !== i)));
    li.append(text, " ", toggle, " ", del);
    ol.append(li);
  });
  if (!$(".auto-actions .auto-row")) addRuleAction();
}

async function saveRules(rules) {
  await api("PATCH", "/account-settings", { automation_rules: rules });
}

// control makes a named form control with an accessible label (and, for
// a select, its options).
function control(tag, name, label, options = []) {
  const c = document.createElement(tag);
  c.name = name;
  c.setAttribute("aria-label", label);
  for (const [v, t] of options) c.append(new Option(t, v));
  return c;
}

// removeButton takes its row away.
function removeButton(row) {
  const del = document.createElement("button");
  del.type = "button";
  del.textContent = "Remove";
  del.addEventListener("click", () => row.remove());
  return del;
}

// conditionFields are what a condition may look at: the fixed facts and
// the brand's conversation fields (their details).
function conditionFields() {
  return [...ruleFields, ...fieldDefs.map((f) => ["fields." + f.key, "the detail “" + f.label + "”"])];
}

function addRuleCondition(list = $(".auto-conditions")) {
  const row = document.createElement("div");
  row.className = "auto-row auto-condition";
  const field = control("select", "field", "What the condition looks at", conditionFields());
  const attr = control("input", "attr", "Attribute name");
  attr.placeholder = "plan";
  attr.hidden = true;
  const op = control("select", "operator", "How it compares", ruleOperators);
  const value = control("input", "value", "Value");
  // The agent condition names a person: chosen from the team.
  const who = control("select", "who", "Which person", autoUsers.map((u) => [u.id, u.name]));
  who.hidden = true;
  const del = removeButton(row);
  field.addEventListener("change", () => {
    attr.hidden = field.value !== "attribute";
    who.hidden = field.value !== "agent" || op.value.startsWith("is_");
    if (field.value === "agent") { op.value = "equals"; who.hidden = false; }
    value.hidden = field.value === "agent" || op.value.startsWith("is_");
    if (field.value === "business_hours") { op.value = "equals"; value.value = "closed"; value.hidden = false; }
    if (field.value === "sentiment") { op.value = "equals"; value.value = "negative"; value.hidden = false; value.placeholder = "negative, neutral or positive"; }
    if (field.value === "rating") { op.value = "at_most"; value.value = "2"; value.hidden = false; }
    if (field.value === "priority") { op.value = "at_least"; value.value = "5"; value.hidden = false; }
  });
  op.addEventListener("change", () => {
    value.hidden = field.value === "agent" || op.value.startsWith("is_");
    who.hidden = field.value !== "agent" || op.value.startsWith("is_");
  });
  row.append(field, attr, op, value, who, del);
  list.append(row);
  return row;
}

function addRuleAction() { return stepRow($(".auto-actions"), "auto-action", ruleActions); }

// stepRow adds a row choosing one of kinds (a rule's action, a macro's
// step) with the control its value needs.
function stepRow(container, cls, kinds) {
  const row = document.createElement("div");
  row.className = "auto-row " + cls;
  const type = control("select", "type", "Action", kinds);
  const slot = document.createElement("span");
  const del = removeButton(row);
  // The value's control follows the action: a list where there is one.
  const fill = () => {
    slot.textContent = "";
    let el;
    if (type.value === "send_message" || type.value === "add_note" || type.value === "close") {
      el = control("input", "value", "Value of the action");
      el.maxLength = type.value === "close" ? 200 : 1000;
      el.placeholder = { send_message: "Our billing team will answer you shortly.", add_note: "Refund issued.", close: "resolved" }[type.value];
    } else {
      el = control("select", "value", "Value of the action", type.value === "add_label" ? autoLabels.map((l) => [l, l])
        : type.value === "set_skill" ? autoSkills.map((s) => [s.id, s.name])
        : type.value === "assign_agent" || type.value === "notify" ? autoUsers.map((u) => [u.id, u.name || u.email]) : [["5", "High"], ["10", "Urgent"], ["0", "Normal"]]);
    }
    slot.append(el);
  };
  type.addEventListener("change", fill);
  fill();
  row.append(type, slot, del);
  container.append(row);
  return row;
}

// ---- Engagements -------------------------------------------------------------------
// Proactive invitations (docs/widget.md, Proactive engagement): kept in the
// widget settings, each edited in the form below the list.
let widgetNow = {}, engagementSkills = [], editingEngagement = null;
const audiences = { new: "first-time visitors", returning: "returning visitors" };
const repeats = { visit: "once a visit", visitor: "once per visitor" };

function describeEngagement(e) {
  const parts = [`on ${e.url_pattern === "*" ? "every page" : e.url_pattern} after ${e.delay_seconds} s`];
  if (e.min_pages > 1) parts.push(`from page ${e.min_pages} of the visit`);
  parts.push(audiences[e.audience] ? "to " + audiences[e.audience] : "to every visitor");
  parts.push(repeats[e.repeat] || "on each page until dismissed");
  if (e.when_available) parts.push("only while someone can answer");
  if (e.skill) parts.push("conversations to " + (engagementSkills.find((k) => k.id === e.skill)?.name || e.skill));
  return parts.join(", ") + ": “" + e.text + "”";
}

function showEngagements(widget, skills) {
  widgetNow = widget;
  engagementSkills = skills;
  const list = widget.engagements || [];
  const ol = $(".engagement-list");
  ol.textContent = "";
  list.forEach((e, i) => {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.className = e.paused ? "off" : "";
    const name = document.createElement("strong");
    name.textContent = (e.name || e.id) + (e.paused ? " (paused)" : "");
    text.append(name, " — " + describeEngagement(e));
    li.append(text, " ",
      button("Edit", () => editEngagement(e)), " ",
      button(e.paused ? "Resume" : "Pause", () => saveEngagements(list.map((x, j) => (j === i ? { ...x, paused: !x.paused } : x)))), " ",
      button("Remove", () => saveEngagements(list.filter((_, j) => j !== i))));
    ol.append(li);
  });
  const sel = $(".engagement-form").skill;
  const keep = sel.value;
  sel.length = 1;
  for (const k of skills) sel.append(new Option(k.name, k.id));
  sel.value = keep;
}

function saveEngagements(engagements) {
  return api("PUT", "/widget-settings", { ...widgetNow, engagements });
}

// An engagement's ID comes from its first name and stays when it is renamed:
// reports count by it.
function engagementID(name, taken) { return uniqueSlug(name, "-", 34, "engagement", taken); }

// uniqueSlug makes an ID from a name (lower-case letters and digits joined
// by sep, at most max long) that is not in taken.
function uniqueSlug(name, sep, max, fallback, taken) {
  const base = name.toLowerCase().normalize("NFD").split(/[^a-z0-9]+/).filter(Boolean).join(sep).slice(0, max) || fallback;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = base + sep + n;
  return id;
}

function editEngagement(e) {
  const f = $(".engagement-form");
  editingEngagement = e ? e.id : null;
  f.ename.value = e ? e.name || e.id : "";
  f.text.value = e ? e.text : "";
  f.pattern.value = e ? e.url_pattern : "*";
  f.delay.value = e ? e.delay_seconds : 10;
  f.minPages.value = e ? e.min_pages || 1 : 1;
  f.audience.value = e ? e.audience || "" : "";
  f.repeat.value = e ? e.repeat || "page" : "page";
  f.available.checked = !!(e && e.when_available);
  f.skill.value = e ? e.skill || "" : "";
  f.querySelector("h3").textContent = e ? "Edit “" + (e.name || e.id) + "”" : "New engagement";
  f.querySelector("[type=submit]").textContent = e ? "Save the engagement" : "Add the engagement";
  $(".engagement-cancel").hidden = !e;
  if (e) f.ename.focus();
}

$(".engagement-cancel").addEventListener("click", () => editEngagement(null));
$(".engagement-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const list = widgetNow.engagements || [];
  const old = list.find((x) => x.id === editingEngagement);
  const e = {
    ...(old || {}),
    id: old ? old.id : engagementID(f.ename.value, new Set(list.map((x) => x.id))),
    name: f.ename.value.trim(), text: f.text.value.trim(), url_pattern: f.pattern.value.trim(),
    delay_seconds: +f.delay.value, min_pages: +f.minPages.value > 1 ? +f.minPages.value : 0,
    audience: f.audience.value, repeat: f.repeat.value === "page" ? "" : f.repeat.value,
    when_available: f.available.checked, skill: f.skill.value,
  };
  adminDo(async () => {
    await saveEngagements(old ? list.map((x) => (x.id === old.id ? e : x)) : [...list, e]);
    toast("Engagement “" + e.name + "” " + (old ? "saved." : "added."));
    editEngagement(null);
  });
});

// ---- Macros ----------------------------------------------------------------------
let macroDefs = [];
const macroSteps = [["add_label", "add the label"], ["set_priority", "set the priority"], ["send_message", "say to the visitor"],
  ["add_note", "add a private note"], ["close", "close, with the reason"]];

// endSentence ends a description with a full stop, unless a quotation
// that ends it has one.
function endSentence(s) { return /[.!?]”$/.test(s) ? s : s + "."; }

function describeMacro(m) {
  return endSentence(m.steps.map((s) => {
    const what = (macroSteps.find((x) => x[0] === s.type) || [s.type, s.type])[1];
    const value = s.type === "set_priority" ? (priorityNames[s.value] || s.value) : s.type === "add_label" ? s.value : s.value ? "“" + s.value + "”" : "";
    return (what + " " + value).trim();
  }).join(", then "));
}

function showMacros(settings) {
  macroDefs = settings.macros || [];
  const ol = $(".macro-list");
  ol.textContent = "";
  macroDefs.forEach((m, i) => {
    const li = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = m.name;
    li.append(name, " — " + describeMacro(m) + " ", button("Remove", () => api("PATCH", "/account-settings", { macros: macroDefs.filter((_, j) => j !== i) })));
    ol.append(li);
  });
  if (!$(".macro-steps .auto-row")) stepRow($(".macro-steps"), "macro-step", macroSteps);
  fillMacros(macroDefs);
}

// fillMacros lists the macros in the conversation header's menu.
function fillMacros(macros) {
  const sel = $(".macro");
  sel.textContent = "";
  sel.append(new Option("Macro…", ""));
  for (const m of macros) sel.append(new Option(m.name, m.name));
  sel.hidden = macros.length === 0;
}

$(".macro-add-step").addEventListener("click", () => stepRow($(".macro-steps"), "macro-step", macroSteps).querySelector("select").focus());
$(".macro-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  const macro = {
    name: f.macroname.value.trim(),
    steps: $$(".macro-step", f).map((row) => ({ type: row.querySelector("[name=type]").value, value: row.querySelector("[name=value]").value })),
  };
  adminDo(async () => {
    await api("PATCH", "/account-settings", { macros: [...macroDefs, macro] });
    f.reset();
    $$(".auto-row", f).forEach((row) => row.remove());
    toast("Macro “" + macro.name + "” added.");
  });
});
$(".macro").addEventListener("change", (e) => {
  const name = e.target.value;
  e.target.value = "";
  if (!name || !current) return;
  act(async () => {
    const out = await api("POST", `/conversations/${current.id}/macro`, { name, client_id: newClientId() });
    showHeader(out.conversation);
    toast("Macro “" + name + "” applied.");
  });
});

$(".auto-add-condition").addEventListener("click", () => addRuleCondition().querySelector("select").focus());
$(".auto-add-any-condition").addEventListener("click", () => addRuleCondition($(".auto-any-conditions")).querySelector("select").focus());
$(".auto-add-action").addEventListener("click", () => addRuleAction().querySelector("select").focus());
$(".auto-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  const conditionsIn = (list) => $$(".auto-condition", list).map((row) => {
    const field = row.querySelector("[name=field]").value;
    const operator = row.querySelector("[name=operator]").value;
    return {
      field: field === "attribute" ? "visitor.attributes." + row.querySelector("[name=attr]").value.trim() : field,
      operator, value: field === "agent" && !operator.startsWith("is_") ? row.querySelector("[name=who]").value : row.querySelector("[name=value]").value,
    };
  });
  const anyConditions = conditionsIn($(".auto-any-conditions", f));
  const rule = {
    name: f.rulename.value.trim(), event: f.event.value, match: f.match.value === "any" ? "any" : undefined,
    conditions: conditionsIn($(".auto-conditions", f)),
    any_conditions: anyConditions.length ? anyConditions : undefined,
    actions: $$(".auto-action", f).map((row) => ({ type: row.querySelector("[name=type]").value, value: row.querySelector("[name=value]").value })),
  };
  adminDo(async () => {
    await saveRules([...autoRules, rule]);
    f.reset();
    $$(".auto-row", f).forEach((row) => row.remove());
    toast("Rule “" + rule.name + "” added.");
  });
});

async function showWebhooks() {
  const hooks = (await api("GET", "/webhooks")).webhooks;
  const tb = $(".webhooks tbody");
  tb.textContent = "";
  for (const h of hooks) {
    const state = h.active ? "active" : "off" + (h.disabled_reason ? ": " + h.disabled_reason : "");
    const actions = document.createElement("span");
    actions.append(
      button("Deliveries", () => { deliveriesOf = h; }),
      button(h.active ? "Turn off" : "Turn on", () => api("PATCH", "/webhooks/" + h.id, { active: !h.active })),
      button("Delete", () => api("DELETE", "/webhooks/" + h.id)),
    );
    tb.append(row([h.url, h.types.length ? h.types.join(", ") : "all", state], actions));
  }
  const again = deliveriesOf && hooks.find((h) => h.id === deliveriesOf.id);
  if (again) await showDeliveries(again);
  else $(".deliveries").hidden = true;
}

let deliveriesOf = null;
async function showDeliveries(h) {
  deliveriesOf = h;
  const list = (await api("GET", "/webhooks/" + h.id + "/deliveries")).deliveries;
  $(".deliveries").hidden = false;
  $(".deliveries-of").textContent = "— " + h.url;
  const tb = $(".deliveries tbody");
  tb.textContent = "";
  for (const d of list) {
    const last = d.state === "delivered" ? "HTTP " + d.last_status : (d.last_error || "not tried yet");
    tb.append(row(["#" + d.event_seq, d.event_type, d.state, String(d.attempts), last],
      button("Redeliver", async () => { await api("POST", "/webhook-deliveries/" + d.id + "/redeliver"); })));
  }
}

async function showAudit() {
  const entries = (await api("GET", "/audit-log")).entries;
  const tb = $(".audit tbody");
  tb.textContent = "";
  for (const e of entries.slice(0, 50)) {
    tb.append(row([new Date(e.at).toLocaleString(), e.actor_name || e.actor_id, e.action, e.target, e.ip, String(e.status)]));
  }
}

$(".new-webhook").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  const types = f.types.value.split(",").map((s) => s.trim()).filter(Boolean);
  adminDo(async () => {
    const h = await api("POST", "/webhooks", { url: f.url.value, types });
    f.reset();
    $(".webhook-secret").textContent = "Signing secret for " + h.url + ": " + h.secret;
  });
});

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60 ? s + " s" : s < 5400 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";
}

$(".search").addEventListener("input", () => { pagesWanted = 1; viewChanged(); refreshSoon(); });
$(".label-filter").addEventListener("change", () => { pagesWanted = 1; viewChanged(); refreshSoon(); });
$(".field-filter").addEventListener("change", (e) => {
  if (!e.target.selectedOptions[0]?.classList.contains("from-view")) e.target.querySelector("option.from-view")?.remove();
  pagesWanted = 1;
  viewChanged();
  refreshSoon();
});

// ---- Saved views ---------------------------------------------------------------
// Named filters of the inbox (docs/routing.md, Saved views): a list with
// the label, details and search that narrow it — a person's own, and the
// team's, which admins share. Choosing one sets them; changing any filter
// leaves the view. An option's value is "me:" or "team:" and the name.
let views = [], teamViews = [];
async function loadViews() {
  views = (await api("GET", "/me/views").catch(() => ({ views: [] }))).views;
  fillViews();
}
function chosenView() {
  const [whose, ...name] = $(".view-select").value.split(":");
  const list = whose === "team" ? teamViews : whose === "me" ? views : [];
  return { team: whose === "team", view: list.find((v) => v.name === name.join(":")) };
}
function fillViews(keep = $(".view-select").value) {
  const sel = $(".view-select");
  sel.textContent = "";
  sel.append(new Option("Saved views…", ""));
  for (const [label, whose, list] of [["My views", "me", views], ["Team views", "team", teamViews]]) {
    if (!list.length) continue;
    const group = document.createElement("optgroup");
    group.label = label;
    list.forEach((v) => group.append(new Option(v.name, whose + ":" + v.name)));
    sel.append(group);
  }
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "";
  const { team, view } = chosenView();
  $(".remove-view").hidden = !view || (team && me.role !== "admin");
}
function viewChanged() {
  if (applyingView) return;
  $(".view-select").value = "";
  $(".remove-view").hidden = true;
}
let applyingView = false;
$(".view-select").addEventListener("change", () => {
  const { team, view: v } = chosenView();
  $(".remove-view").hidden = !v || (team && me.role !== "admin");
  if (!v) return;
  applyingView = true;
  $(".search").value = v.q || "";
  const label = $(".label-filter");
  label.value = [...label.options].some((o) => o.value === v.label) ? v.label : "";
  showDetailFilter(v.fields);
  applyingView = false;
  $(`.tabs button[data-tab="${v.tab}"]`).click();
});
$(".save-view").addEventListener("click", () => {
  const f = $(".view-form");
  f.hidden = false;
  f.viewname.focus();
});
$(".view-cancel").addEventListener("click", () => { $(".view-form").hidden = true; $(".save-view").focus(); });
$(".view-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  const view = { name: f.viewname.value.trim(), tab: filters[tab] !== undefined ? tab : "mine", label: $(".label-filter").value || undefined,
    fields: detailFilter() || undefined, q: $(".search").value.trim() || undefined };
  const team = f.team.checked;
  const others = (list) => list.filter((v) => v.name.toLowerCase() !== view.name.toLowerCase());
  act(async () => {
    if (team) teamViews = (await api("PATCH", "/account-settings", { inbox_views: [...others(teamViews), view] })).inbox_views;
    else views = (await api("PUT", "/me/views", { views: [...others(views), view] })).views;
    fillViews((team ? "team:" : "me:") + view.name);
    f.reset();
    f.hidden = true;
    toast("View “" + view.name + "” saved" + (team ? " for the team." : "."));
  });
});
$(".remove-view").addEventListener("click", () => {
  const { team, view } = chosenView();
  if (!view) return;
  act(async () => {
    if (team) teamViews = (await api("PATCH", "/account-settings", { inbox_views: teamViews.filter((v) => v !== view) })).inbox_views;
    else views = (await api("PUT", "/me/views", { views: views.filter((v) => v !== view) })).views;
    fillViews("");
    toast("View “" + view.name + "” removed.");
  });
});
$$(".tabs button").forEach((b) => b.addEventListener("click", () => {
  tab = b.dataset.tab;
  if (tab === "mentions") { unseenMentions = 0; mentionsSeen(); }
  selected.clear(); // a bulk action acts on what is in view
  pagesWanted = 1;
  $$(".tabs button").forEach((x) => x.setAttribute("aria-selected", String(x === b)));
  refresh();
}));

// ---- Conversation --------------------------------------------------------------
// ---- Activity ------------------------------------------------------------------
// What happened to the open conversation besides its messages, in words:
// who took it, labelled it, raised it, which rule acted and how.
function who(id) {
  if (!id) return "";
  if (id === "automation") return " by a rule";
  if (id === "system") return " automatically";
  return " by " + (names.get(id) || (id.startsWith("key_") ? "the API" : id.startsWith("con_") ? "the visitor" : "someone"));
}

function describeEvent(e) {
  const d = e.data || {};
  const reasons = { transfer: "transferred", automation: "routed by a rule", bot_handoff: "handed over by the bot", agent_offline: "its agent went offline", agent_disconnected: "its agent left", overflow: "waited its skill’s overflow time" };
  switch (e.type) {
    case "conversation.opened": return "Opened" + (d.skill ? " for a skill" : "") + (d.state === "bot" ? ", with the bot" : "");
    case "conversation.assigned": return "Assigned to " + (names.get(d.assignee_id) || "an agent");
    case "conversation.reply_overdue": return "The visitor waited past the reply target (" + (d.target_seconds < 60 ? d.target_seconds + " s" : Math.round(d.target_seconds / 60) + " min") + ")";
    case "visitor.page_viewed": return "Visitor on " + (d.title || d.url || "a page");
    case "conversation.requeued": return "Back in the queue: " + (reasons[d.requeue_reason] || d.requeue_reason || "requeued");
    case "conversation.labeled": return [...(d.added || []).map((l) => "+" + l), ...(d.removed || []).map((l) => "−" + l)].join(" ") + who(d.labeled_by);
    case "conversation.prioritized": return `Priority ${priorityNames[d.from_priority] || d.from_priority} → ${priorityNames[d.priority] || d.priority}` + who(d.changed_by);
    case "conversation.snoozed": return (d.snoozed_until ? "Snoozed until " + new Date(d.snoozed_until).toLocaleString() : "Back from snooze") + who(d.snoozed_by);
    case "conversation.closed": return "Closed" + (d.close_reason ? " (" + d.close_reason + ")" : "") + who(d.closed_by);
    case "automation.applied": return `Rule “${d.rule}”: ` + (d.actions || []).join("; ");
    case "macro.applied": return `Macro “${d.macro}”` + who(d.by) + ": " + (d.steps || []).join("; ");
    case "csat.submitted": return "Rated " + d.score + "/5" + (d.comment ? " — “" + d.comment + "”" : "");
    case "note.created": return "Note" + (d.author_name ? " by " + d.author_name : "");
    case "conversation.followed": {
      const whom = d.user_id === me.id ? "you" : names.get(d.user_id) || "a colleague";
      const by = d.by && d.by !== d.user_id ? who(d.by) : "";
      return d.following ? "Followed by " + whom + (by ? " (called in" + by + ")" : "") : "No longer followed by " + whom + by;
    }
    case "bot.handoff": return "The bot handed over" + (d.reason ? " (" + d.reason + ")" : "");
    case "email.sent": if (d.kind === "survey") return "A rating request was emailed to the visitor";
      return (d.messages === 1 ? "A reply the visitor had not read was" : `${d.messages} replies the visitor had not read were`) + " emailed to them";
    case "email.failed": return "Emailing the visitor failed: " + (d.error || "refused");
    default: return e.type;
  }
}

async function showActivity() {
  const box = $(".activity");
  const list = $("ol", box);
  const out = await api("GET", `/conversations/${current.id}/activity`);
  list.textContent = "";
  for (const e of out.events) {
    const li = document.createElement("li");
    const t = document.createElement("time");
    t.dateTime = e.created_at;
    t.textContent = new Date(e.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    li.append(t, describeEvent(e));
    list.append(li);
  }
}
$(".show-activity").addEventListener("click", (e) => act(async () => {
  const box = $(".activity");
  box.hidden = !box.hidden;
  e.target.setAttribute("aria-expanded", String(!box.hidden));
  if (!box.hidden) await showActivity();
}));

// ---- Who else has it open ------------------------------------------------------
// Colleagues with the same conversation open (Zendesk's agent collision):
// a console says so when it opens one, every 20 s while it stays open and
// when it leaves; a colleague not heard from for 45 s has gone.
function viewing(id) {
  if (viewingID && viewingID !== id) send({ type: "viewing", conversation_id: viewingID, viewing: false });
  if (viewingID !== id) viewers.clear();
  viewingID = id || "";
  if (viewingID) send({ type: "viewing", conversation_id: viewingID, viewing: true });
  showViewers();
}
function showViewers() {
  const now = Date.now();
  for (const [id, v] of viewers) if (v.until < now) viewers.delete(id);
  const who = [...viewers.values()].map((v) => v.name).sort();
  const el = $(".conv-viewers");
  el.hidden = !who.length;
  el.textContent = who.length ? "Also here: " + who.join(", ") : "";
}
setInterval(() => {
  if (viewingID && !document.hidden) send({ type: "viewing", conversation_id: viewingID, viewing: true });
  showViewers();
}, 20000);
addEventListener("pagehide", () => { if (viewingID) send({ type: "viewing", conversation_id: viewingID, viewing: false }); });

// Only the latest call draws: a second click while the first is still
// loading (or a click on another conversation) must not leave two
// subscriptions replaying into one emptied list.
let opening = 0;
async function openConversation(id) {
  const call = ++opening;
  const c = await api("GET", "/conversations/" + id);
  if (call !== opening) return;
  sendRead(); // what was shown of the last one
  if (current && !following.has(current.id)) send({ type: "unsubscribe", conversation_id: current.id });
  current = c;
  lastSeq = 0;
  if (!$(".activity").hidden) showActivity().catch(() => {});
  visitorRead = current.consumer_read_seq;
  readWanted = readSent = current.agent_read_seq;
  $(".placeholder").hidden = true;
  $(".conversation").hidden = false;
  $(".messages").textContent = "";
  $(".typing").textContent = "";
  $(".reply-error").textContent = "";
  showHeader(current);
  send({ type: "subscribe", id: "sub", conversation_id: id, after_seq: 0 });
  viewing(id);
  seenNotes.clear();
  api("GET", `/conversations/${id}/notes`).then((r) => r.notes.forEach(addNote)).catch(() => {});
  $$(".items li").forEach((li) => li.dataset.id === id ? li.setAttribute("aria-current", "true") : li.removeAttribute("aria-current"));
  for (const li of $$(`.items li.unread[data-id="${CSS.escape(id)}"]`)) {
    li.classList.remove("unread");
    li.querySelector(".new")?.remove();
  }
  showVisitor(current.consumer_id);
  showPages(current.id);
  showSuggestions();
  $("#reply-text").focus();
  history.replaceState(null, "", "#conversation=" + id); // the address to share follows
}

// ---- Links ---------------------------------------------------------------------
// A conversation has an address, /console/#conversation=conv_…, to share
// with a colleague or follow from an email (a mention); the address bar
// follows the open conversation.
function linkedConversation() {
  const m = /^#conversation=([A-Za-z0-9_]+)$/.exec(location.hash);
  return m ? m[1] : "";
}

async function openLinked() {
  const id = linkedConversation();
  if (!id || (current && current.id === id)) return;
  try {
    const c = await api("GET", "/conversations/" + id);
    const tabFor = c.state === "closed" ? "closed" : c.state === "queued" ? "queued" : c.state === "bot" ? "bot" : c.assignee_id === me.id ? "mine" : "open";
    $(`[data-tab=${tabFor}]`).click();
    await openConversation(id);
  } catch (e) {
    toast("That conversation cannot be opened: " + e.message);
  }
}
window.addEventListener("hashchange", () => { if (me) openLinked(); });

function showHeader(c) {
  current = c;
  $(".conv-title").textContent = visitorNames.get(c.consumer_id) || "Visitor " + c.consumer_id.slice(-6);
  $(".conv-state").textContent = c.state + (c.assignee_id ? " · " + (names.get(c.assignee_id) || "agent") : "") +
    (c.state === "closed" && c.close_reason ? " · " + ({ inactive: "no reply from the visitor", ended_by_visitor: "ended by the visitor", blocked: "visitor blocked" }[c.close_reason] || c.close_reason) : "");
  $(".accept").hidden = c.state !== "queued" && c.state !== "bot";
  $(".accept").textContent = c.state === "bot" ? "Take over from bot" : "Accept";
  // Supervisors watching someone else's conversation may take it over.
  $(".takeover").hidden = !(me.role !== "agent" && c.state === "assigned" && c.assignee_id !== me.id);
  showLabels(c);
  showFields(c);
  $(".transcript").href = `/api/v1/conversations/${encodeURIComponent(c.id)}/transcript?notes=1`;
  // The visitor's rating, and what they wrote with it.
  const csat = $(".conv-csat");
  csat.hidden = !c.csat_score;
  csat.textContent = c.csat_score ? "Rated " + "★".repeat(c.csat_score) + "☆".repeat(5 - c.csat_score) + " " + c.csat_score + "/5" +
    (c.csat_comment ? " — “" + c.csat_comment + "”" : "") : "";
  const snoozed = c.snoozed_until && c.snoozed_at && Date.parse(c.snoozed_until) > Date.now() && Date.parse(c.updated_at) <= Date.parse(c.snoozed_at);
  if (snoozed) $(".conv-state").textContent += " · snoozed until " + new Date(c.snoozed_until).toLocaleString();
  const sz = $(".snooze");
  sz.value = "";
  sz.querySelector("[value=wake]").hidden = !snoozed;
  sz.disabled = c.state === "closed";
  const pr = $(".priority");
  if (![...pr.options].some((o) => +o.value === c.priority)) pr.append(new Option("Priority " + c.priority, String(c.priority)));
  pr.value = String(c.priority);
  pr.disabled = c.state === "closed";
  const closed = c.state === "closed";
  $(".close").disabled = $(".transfer").disabled = $("#reply-text").disabled = closed;
  showFollowers(c);
}

// showFollowers says who follows the conversation, and whether this
// person does (the Follow button, pressed).
function showFollowers(c) {
  const list = c.followers || [];
  const mine = list.includes(me.id);
  const b = $(".follow");
  b.setAttribute("aria-pressed", String(mine));
  b.textContent = mine ? "Following" : "Follow";
  b.disabled = c.state === "closed" && !mine;
  const others = list.filter((id) => id !== me.id).map((id) => names.get(id) || "a colleague");
  const el = $(".conv-followers");
  el.hidden = !list.length;
  el.textContent = !list.length ? "" : "Followed by " + (mine ? ["you", ...others] : others).join(", ");
}

$(".follow").addEventListener("click", async () => {
  if (!current) return;
  const on = $(".follow").getAttribute("aria-pressed") !== "true";
  try {
    const c = await api(on ? "PUT" : "DELETE", `/conversations/${current.id}/followers/me`);
    if (current && c.id === current.id) showHeader(c);
    followMine();
    toast(on ? "You follow this conversation: its visitor's messages reach you, and it is under Following." : "You no longer follow this conversation.");
  } catch (err) {
    toast(err.message);
  }
});

// showRead marks the agents' messages the visitor has read.
function showRead() {
  for (const li of $$(".messages li.agent[data-seq], .messages li.bot[data-seq]")) {
    if (+li.dataset.seq <= visitorRead && !li.querySelector(".seen")) {
      const s = document.createElement("span");
      s.className = "from seen";
      s.textContent = "Read";
      li.append(s);
    }
  }
}

// fileLink shows a file a message carries: a link that opens it (the
// server serves images inline, PDFs as downloads), with a thumbnail for
// an image, and the caption.
function fileLink(m) {
  const a = m.attachment;
  const span = document.createElement("span");
  span.className = "text file";
  const link = document.createElement("a");
  link.href = "/api/v1/attachments/" + encodeURIComponent(a.id);
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = "📎 " + a.name + " (" + Math.max(1, Math.round(a.size / 1024)) + " KB)";
  if (a.content_type && a.content_type.startsWith("image/")) {
    const img = document.createElement("img");
    img.src = link.href;
    img.alt = a.name;
    img.loading = "lazy";
    link.append(img);
  }
  span.append(link);
  if (m.text) span.append(document.createElement("br"), m.text);
  return span;
}

// addMessage shows a message once, in its place: a replay may overlap
// what a live frame or an earlier subscription already drew.
function addMessage(m) {
  lastSeq = Math.max(lastSeq, m.seq);
  if ($(`.messages li[data-seq="${m.seq}"]`)) return;
  const li = document.createElement("li");
  li.className = m.sender_kind;
  li.dataset.seq = m.seq;
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = m.sender_kind === "consumer" ? "Visitor" : m.sender_name || m.sender_kind;
  // An answer taken in by email (docs/email.md): the visitor is not on
  // the site, and the reply will reach them by email.
  if (m.sender_kind === "consumer" && (m.client_id || "").startsWith("email-")) from.textContent += " · by email";
  // The proactive invitation the visitor answered to start the conversation.
  if (m.notice && m.notice.code === "engagement") {
    from.textContent = "Invitation the visitor answered · " + ((m.notice.args && m.notice.args.name) || "");
    li.classList.add("engagement");
  }
  if (m.notice && m.notice.code === "invitation") {
    from.textContent = "Invitation from " + ((m.notice.args && m.notice.args.name) || "an agent") + ", answered";
    li.classList.add("engagement");
  }
  let text = document.createElement("span");
  text.className = "text";
  if (m.redacted) text = removedText(m.redacted);
  else if (m.html && m.sender_kind === "bot") text = richText(m.html);
  else if (m.attachment) text = fileLink(m);
  else text.textContent = m.text || "";
  li.append(from, text);
  if (m.sender_kind === "agent" && m.sender_id) fromFace(from, m.sender_id);
  if (m.sender_kind !== "system" && !m.redacted) li.append(redactButton(m.seq));
  if (m.choices && m.choices.length && !m.redacted) {
    const c = document.createElement("span");
    c.className = "from";
    c.textContent = "Offered: " + m.choices.map((x) => x.label).join(" · ");
    li.append(c);
  }
  inTimeOrder(li, m.created_at);
  if (m.sender_kind === "consumer") markRead(m.seq);
  showRead();
}

// ---- Removing a message ------------------------------------------------------------
// Staff remove what a message said — a card number the masking missed, a
// reply sent to the wrong visitor (docs/data.md, Removing a message). It
// cannot be undone, so the button asks once more before it acts.
function removedText(r, what = "Message") {
  const s = document.createElement("span");
  s.className = "text removed";
  s.textContent = what + " removed by " + (r.by_name || "staff") + " · " + new Date(r.at).toLocaleString();
  return s;
}

// redactButton removes what a message (or, with path, a note) says.
function redactButton(seq, label = "Remove what this message says", done = showRemoved) {
  const path = typeof seq === "string" ? seq : `/conversations/${current.id}/messages/${seq}/redact`;
  const b = document.createElement("button");
  b.type = "button";
  b.className = "redact link";
  b.textContent = "Remove";
  b.setAttribute("aria-label", label);
  let armed = 0;
  b.addEventListener("click", async () => {
    if (!armed) {
      b.textContent = "Remove for good?";
      armed = setTimeout(() => { armed = 0; b.textContent = "Remove"; }, 5000);
      return;
    }
    clearTimeout(armed);
    try {
      done(await api("POST", path));
    } catch (err) {
      toast("Not removed: " + err.message);
      armed = 0;
      b.textContent = "Remove";
    }
  });
  return b;
}

// showRemovedNote replaces a note shown in the open conversation by the
// line that says it was removed.
function showRemovedNote(n) {
  const li = $(`.messages li.note[data-note="${CSS.escape(n.id)}"]`);
  if (!li) return;
  li.querySelector(".text")?.remove();
  li.querySelector(".redact")?.remove();
  li.append(removedText(n.redacted, "Note"));
}

// showRemoved replaces a message shown in the open conversation by the
// note that it was removed.
function showRemoved(m) {
  const li = $(`.messages li[data-seq="${m.seq}"]`);
  if (!li) return;
  for (const el of [...li.children]) if (!el.classList.contains("from") || el.classList.contains("seen")) el.remove();
  for (const el of $$(".from", li).slice(1)) el.remove(); // "Offered: …"
  li.append(removedText(m.redacted));
}

// Read receipts: one for the newest visitor message shown, not one per
// message — opening a conversation replays its whole history, and each
// receipt is a write and an event.
function markRead(seq) {
  readWanted = Math.max(readWanted, seq);
  if (readWanted > readSent && !readTimer) readTimer = setTimeout(sendRead, 100);
}
function sendRead() {
  clearTimeout(readTimer);
  readTimer = 0;
  if (current && readWanted > readSent) {
    readSent = readWanted;
    send({ type: "receipt", conversation_id: current.id, kind: "read", seq: readSent });
  }
}

// Notes are the team's: shown inline, marked, never sent to the visitor.
const seenNotes = new Set();
function addNote(n) {
  if (seenNotes.has(n.id)) return;
  seenNotes.add(n.id);
  const li = document.createElement("li");
  li.className = "note";
  li.dataset.note = n.id;
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = "Note · " + n.author_name +
    (n.mentions && n.mentions.length ? " → " + n.mentions.map((id) => names.get(id) || "a colleague").join(", ") : "");
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = n.text;
  li.append(from, n.redacted ? removedText(n.redacted, "Note") : text);
  // Its author, or a supervisor, may remove what it said.
  if (!n.redacted && (n.author_id === me.id || me.role !== "agent")) li.append(redactButton(`/conversations/${current.id}/notes/${encodeURIComponent(n.id)}/redact`, "Remove what this note says", (x) => showRemovedNote(x)));
  inTimeOrder(li, n.created_at);
}

// inTimeOrder puts a message or note in its place in the conversation:
// after the last one written no later. The notes are read beside the
// messages' replay, and either may come first; live ones land at the end.
function inTimeOrder(li, createdAt) {
  const list = $(".messages"), at = Date.parse(createdAt) || Date.now();
  li.dataset.at = at;
  let after = list.lastElementChild;
  while (after && Number(after.dataset.at) > at) after = after.previousElementSibling;
  if (after) after.after(li);
  else list.prepend(li);
  if (li === list.lastElementChild) list.scrollTop = list.scrollHeight;
}

let visitorAsked = 0; // the latest showVisitor call: only its answer is shown

// ---- Contacts ------------------------------------------------------------------
// The visitors who have written, newest first, searchable; each can be
// corrected or completed (name, email, attributes) as in Chatwoot's and
// Intercom's contact pages — here and in the visitor panel.
let contactPages = 1;
// ---- Visitors on the site ---------------------------------------------------------
// The pages showing the widget now (GET /visitors), refreshed every 5 s
// while the tab is open; an agent invites one to chat (docs/widget.md,
// Live visitors).
let inviting = null;
async function showVisitors() {
  const { visitors } = await api("GET", "/visitors");
  if (tab !== "visitors") return;
  const tb = $(".visitor-list tbody");
  tb.textContent = "";
  for (const v of visitors) {
    const tr = document.createElement("tr");
    tr.dataset.pv = v.pv;
    const page = document.createElement("span");
    const title = document.createElement("strong");
    title.textContent = v.title || "Untitled page";
    page.append(title, document.createElement("br"), Object.assign(document.createElement("small"), { className: "url", textContent: v.url }));
    const now = v.chatting ? "In a conversation" : v.invitation ? "Invited by " + v.invitation.agent_name
      : v.declined ? "Declined an invitation" : "Browsing";
    const action = document.createElement("span");
    if (!v.chatting && !v.invitation) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Invite to chat";
      b.addEventListener("click", () => {
        inviting = v.pv;
        const f = $(".invite-form");
        $(".invite-to").textContent = v.title || v.url;
        f.hidden = false;
        f.text.focus();
      });
      action.append(b);
    } else if (v.invitation && (v.invitation.agent_id === me.id || me.role !== "agent")) {
      // Taken back before the visitor answers: the page stops showing it.
      const b = document.createElement("button");
      b.type = "button";
      b.className = "withdraw";
      b.textContent = "Withdraw";
      b.addEventListener("click", async () => {
        const status = $(".visitors-status");
        try {
          await api("DELETE", "/visitors/" + encodeURIComponent(v.pv) + "/invite");
          status.textContent = "Invitation withdrawn.";
        } catch (err) {
          status.textContent = err.message;
        }
        showVisitors().catch(() => {});
      });
      action.append(b);
    }
    // Who, once their chat window has a token: a contact by name or
    // email; an anonymous one as such.
    const who = document.createElement("span");
    if (v.visitor) {
      who.textContent = v.visitor.name || v.visitor.email || "Anonymous visitor";
      if (v.visitor.name && v.visitor.email) who.append(document.createElement("br"), Object.assign(document.createElement("small"), { className: "url", textContent: v.visitor.email }));
    } else {
      who.textContent = "—";
    }
    for (const c of [who, page, ago(v.since), now, action]) {
      const td = document.createElement("td");
      td.append(c);
      tr.append(td);
    }
    tb.append(tr);
  }
  $(".visitors-empty").hidden = visitors.length > 0;
}
setInterval(() => { if (tab === "visitors" && !$(".app").hidden && !$(".invite-form").contains(document.activeElement)) showVisitors().catch(() => {}); }, 5000);
$(".invite-cancel").addEventListener("click", () => { $(".invite-form").hidden = true; inviting = null; });
$(".invite-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const status = $(".visitors-status");
  try {
    await api("POST", "/visitors/" + encodeURIComponent(inviting) + "/invite", { text: f.text.value });
    status.textContent = "Invitation sent: it shows on the visitor's page within seconds.";
    f.hidden = true;
    inviting = null;
  } catch (err) {
    status.textContent = err.message;
  }
  showVisitors().catch(() => {});
});

async function showContacts() {
  const q = $(".contact-search").value.trim();
  const from = new Date(Date.now() - 365 * 86400e3).toISOString();
  $(".contacts-export").href = "/api/v1/exports/contacts?format=csv&from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(new Date().toISOString());
  const list = [];
  let cursor = "";
  for (let i = 0; i < contactPages; i++) {
    const page = await api("GET", "/consumers?limit=50" + (q ? "&q=" + encodeURIComponent(q) : "") + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    list.push(...page.contacts);
    cursor = page.next_cursor || "";
    if (!cursor) break;
  }
  if (tab !== "contacts" || q !== $(".contact-search").value.trim()) return; // moved on meanwhile
  const tb = $(".contact-list tbody");
  tb.textContent = "";
  for (const c of list) {
    const tr = document.createElement("tr");
    tr.dataset.id = c.id;
    const name = document.createElement("button");
    name.type = "button";
    name.className = "link contact-open";
    name.textContent = c.name || "Visitor " + c.id.slice(-6);
    name.addEventListener("click", () => showContact(c.id));
    const cells = [name, c.email || "—", c.external_id || "—", String(c.conversations), new Date(c.last_activity_at).toLocaleString()];
    for (const v of cells) {
      const td = document.createElement("td");
      td.append(v);
      tr.append(td);
    }
    tb.append(tr);
  }
  $(".contacts-more").hidden = !cursor;
  $(".contacts-empty").hidden = list.length > 0;
}
let contactTimer = 0;
$(".contact-search").addEventListener("input", () => {
  contactPages = 1;
  clearTimeout(contactTimer);
  contactTimer = setTimeout(showContacts, 200);
});
$(".contacts-more").addEventListener("click", () => { contactPages++; showContacts(); });

async function showContact(id) {
  const v = await api("GET", "/consumers/" + id);
  const box = $(".contact-detail");
  box.textContent = "";
  const h = document.createElement("h3");
  h.textContent = v.name || "Visitor " + v.id.slice(-6);
  box.append(h, contactForm(v, () => { showContacts(); showContact(id); }));
  const h4 = document.createElement("h4");
  h4.textContent = "Conversations";
  const ul = document.createElement("ul");
  for (const c of v.conversations) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link past";
    b.textContent = new Date(c.created_at).toLocaleString() + " · " + c.state + (c.labels ? " · " + c.labels.join(", ") : "");
    b.addEventListener("click", () => {
      $(`[data-tab=${c.state === "closed" ? "closed" : c.state === "queued" ? "queued" : c.state === "bot" ? "bot" : "open"}]`).click();
      openConversation(c.id);
    });
    li.append(b);
    ul.append(li);
  }
  box.append(h4, ul, startForm(v), mergeForm(v));
  box.hidden = false;
}

// mergeForm merges a duplicate into this contact — the same person on their
// phone and their laptop, or by chat and by email (POST /consumers/{id}/merge):
// find the other by name, email or ID, then confirm with a second click.
function mergeForm(v) {
  const f = document.createElement("form");
  f.className = "merge-contact";
  const h = document.createElement("h4");
  h.textContent = "Merge a duplicate into this contact";
  const q = Object.assign(document.createElement("input"), { name: "q", type: "search", placeholder: "Name, email or ID" });
  q.setAttribute("aria-label", "Find the duplicate");
  const pick = document.createElement("select");
  pick.name = "other";
  pick.setAttribute("aria-label", "The duplicate");
  const go = Object.assign(document.createElement("button"), { type: "submit", textContent: "Merge into this contact", disabled: true });
  const hint = Object.assign(document.createElement("small"), { textContent: "Its conversations move here, and this contact takes the email and attributes it lacks. This cannot be undone." });
  let timer = 0, armed = false;
  const label = (c) => (c.name || "Visitor " + c.id.slice(-6)) + (c.email ? " · " + c.email : "") + " · " + c.conversations + " conversations";
  q.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const found = q.value.trim() ? (await api("GET", "/consumers?limit=20&q=" + encodeURIComponent(q.value.trim()))).contacts.filter((c) => c.id !== v.id) : [];
      pick.textContent = "";
      for (const c of found) pick.append(new Option(label(c), c.id));
      go.disabled = !found.length;
      armed = false;
      go.textContent = "Merge into this contact";
    }, 200);
  });
  pick.addEventListener("change", () => { armed = false; go.textContent = "Merge into this contact"; });
  f.append(h, q, pick, go, hint);
  // Contacts with the same email are likely the same person: offered first.
  if (v.email) {
    api("GET", "/consumers?limit=20&q=" + encodeURIComponent(v.email)).then((r) => {
      const same = r.contacts.filter((c) => c.id !== v.id && (c.email || "").toLowerCase() === v.email.toLowerCase());
      if (!same.length || pick.options.length) return;
      const note = Object.assign(document.createElement("p"), { className: "merge-suggested", textContent: same.length === 1 ? "1 other contact has this email." : same.length + " other contacts have this email." });
      f.insertBefore(note, q);
      for (const c of same) pick.append(new Option(label(c), c.id));
      go.disabled = false;
    }).catch(() => {});
  }
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pick.value) return;
    if (!armed) { // a second click merges: there is no undo
      armed = true;
      go.textContent = "Click again to merge " + pick.options[pick.selectedIndex].text.split(" · ")[0] + " into " + (v.name || "this contact");
      return;
    }
    go.disabled = true;
    try {
      await api("POST", "/consumers/" + pick.value + "/merge", { into: v.id });
      toast("Merged into " + (v.name || "this contact"));
      showContacts();
      showContact(v.id);
    } catch (err) {
      toast(err.message);
      go.disabled = false;
    }
  });
  return f;
}

// startForm starts a conversation with the contact, assigned to the agent
// who writes it (Intercom's and Chatwoot's "new conversation"): the
// visitor sees it when they come back to the site, and by email when the
// brand mails replies and they gave an address.
function startForm(v) {
  const f = document.createElement("form");
  f.className = "start-conversation";
  const h = document.createElement("h4");
  h.textContent = "Start a conversation";
  const text = document.createElement("textarea");
  text.name = "text";
  text.rows = 3;
  text.required = true;
  text.setAttribute("aria-label", "First message to " + (v.name || "the visitor"));
  const hint = document.createElement("small");
  hint.textContent = v.email ? "They see it on your site, and by email if email replies are on." : "They see it when they come back to your site (no email address known).";
  const go = Object.assign(document.createElement("button"), { type: "submit", textContent: "Start and send" });
  f.append(h, text, go, hint);
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    go.disabled = true;
    try {
      const c = await api("POST", "/conversations", { consumer_id: v.id, assignee_id: me.id });
      await api("POST", `/conversations/${c.id}/messages`, { text: text.value, client_id: newClientId() });
      $("[data-tab=mine]").click();
      openConversation(c.id);
    } catch (err) {
      toast(err.message);
      go.disabled = false;
    }
  });
  return f;
}

// contactForm edits a visitor's name, email and attributes ("key: value"
// lines; a line taken away removes the attribute); onSaved runs after.
function contactForm(v, onSaved) {
  const f = document.createElement("form");
  f.className = "contact-form";
  const field = (label, name, value, el = "input") => {
    const l = document.createElement("label");
    l.textContent = label + " ";
    const i = document.createElement(el);
    i.name = name;
    i.value = value;
    l.append(i);
    f.append(l);
    return i;
  };
  // Not f.name or f.attributes: those are the form's own properties.
  const name = field("Name", "name", v.name || "");
  const email = field("Email", "email", v.email || "");
  email.type = "email";
  const attrs = v.attributes || {};
  const lines = field("Attributes (one “key: value” a line)", "attributes", Object.entries(attrs).map(([k, val]) => k + ": " + val).join("\n"), "textarea");
  const err = document.createElement("p");
  err.className = "contact-error";
  err.setAttribute("role", "alert");
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = "Save";
  f.append(err, save);
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    const next = {};
    for (const line of lines.value.split("\n")) {
      if (!line.trim()) continue;
      const at = line.indexOf(":");
      if (at < 1) { err.textContent = "Write each attribute as “key: value”: " + line; return; }
      next[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    for (const k of Object.keys(attrs)) if (!(k in next)) next[k] = ""; // removed
    try {
      await api("PATCH", "/consumers/" + v.id, { name: name.value, email: email.value, attributes: next });
      toast("Contact saved.");
      onSaved();
    } catch (x) { err.textContent = x.message; }
  });
  return f;
}

$(".edit-visitor").addEventListener("click", () => {
  const box = $(".visitor-edit");
  if (box.firstChild) { box.textContent = ""; return; }
  const v = editTarget;
  if (!v) return;
  box.append(contactForm(v, () => { box.textContent = ""; showVisitor(v.id); }));
  box.querySelector("input").focus();
});
let editTarget = null;

// showPages lists the pages of the site the visitor loaded during this
// conversation, newest first (visitor.page_viewed, from the Activity);
// page frames add the next ones as they come.
async function showPages(conversationID) {
  const ol = $(".visitor-pages");
  ol.textContent = "";
  const r = await api("GET", "/conversations/" + conversationID + "/activity").catch(() => null);
  if (!r || current?.id !== conversationID) return;
  const pages = r.events.filter((e) => e.type === "visitor.page_viewed").slice(-10);
  for (const e of pages) addPage(e.data, e.created_at);
  if (!pages.length) ol.append(Object.assign(document.createElement("li"), { className: "none", textContent: "None seen during this conversation" }));
}
function addPage(page, at) {
  const ol = $(".visitor-pages");
  ol.querySelector(".none")?.remove();
  const li = document.createElement("li");
  const a = Object.assign(document.createElement("a"), { href: /^https?:\/\//.test(page.url) ? page.url : "#", target: "_blank", rel: "noopener noreferrer" });
  a.textContent = page.title || page.url;
  a.title = page.url;
  li.append(a, " · " + new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  ol.prepend(li);
  while (ol.children.length > 10) ol.lastChild.remove();
}

async function showVisitor(consumerID) {
  const info = $(".visitor-info"), hist = $(".visitor-history");
  info.textContent = hist.textContent = "";
  $(".visitor-edit").textContent = "";
  $(".edit-visitor").hidden = true;
  $(".block-visitor").hidden = true;
  const asked = ++visitorAsked;
  const v = await api("GET", "/consumers/" + consumerID).catch(() => null);
  // Another conversation (or this one again) was opened meanwhile: its call fills the panel.
  if (!v || asked !== visitorAsked) return;
  info.textContent = hist.textContent = "";
  if (v.name) {
    visitorNames.set(consumerID, v.name);
    $(".conv-title").textContent = v.name;
  }
  showBlock(v);
  editTarget = v;
  $(".edit-visitor").hidden = false;
  const rows = [["Name", v.name || "—"], ["Email", v.email || "—"], ["Identified as", v.external_id || "anonymous"]];
  if (v.blocked) rows.unshift(["Blocked", "yes: their messages are refused"]);
  const attrs = { ...(v.attributes || {}) };
  const known = [];
  if (attrs.page_url) known.push(["Page", pageLink(attrs.page_url, attrs.page_title)]);
  if (attrs.timezone) known.push(["Local time", localTime(attrs.timezone)]);
  if (attrs.language) known.push(["Language", languageName(attrs.language)]);
  if (attrs.browser) known.push(["Browser", browserName(attrs.browser)]);
  for (const k of ["page_url", "timezone", "language", "browser"]) delete attrs[k];
  if (v.attributes?.page_url) delete attrs.page_title; // the link's name
  rows.push(...known);
  for (const [k, val] of Object.entries(attrs)) rows.push([k, val]);
  for (const [k, val] of rows) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k;
    if (val instanceof Node) dd.append(val); else dd.textContent = val;
    info.append(dt, dd);
  }
  // The visitor's other conversations, newest first; each opens here.
  const others = v.conversations.filter((c) => c.id !== current?.id);
  for (const c of others) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link past";
    b.dataset.id = c.id;
    b.textContent = new Date(c.created_at).toLocaleDateString() + " · " + c.state +
      (c.labels ? " · " + c.labels.join(", ") : "") + (c.csat_score ? " · rated " + c.csat_score + "/5" : "");
    b.addEventListener("click", () => openConversation(c.id));
    li.append(b);
    hist.append(li);
  }
  if (!others.length) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = "No other conversations";
    hist.append(li);
  }
}

// Blocking a visitor (spam, abuse): their messages are refused from then
// on, their chat closes, and their open conversations close ("blocked").
let blockTarget = null;
function showBlock(v) {
  blockTarget = v;
  const b = $(".block-visitor");
  b.textContent = v.blocked ? "Unblock visitor" : "Block visitor";
  b.hidden = false;
}
$(".block-visitor").addEventListener("click", () => act(async () => {
  const v = blockTarget;
  if (!v) return;
  await api("POST", `/consumers/${v.id}/${v.blocked ? "unblock" : "block"}`);
  toast(v.blocked ? "Visitor unblocked" : "Visitor blocked: their open conversations were closed");
  await showVisitor(v.id);
  if (current) showHeader(await api("GET", "/conversations/" + current.id));
}));

const text = $("#reply-text");
let typing = false, typingTimer = 0;
text.addEventListener("input", () => {
  // A private note is not for the visitor: writing one shows them nothing.
  if (!current || $(".as-note").checked) return;
  if (!typing) { send({ type: "typing", conversation_id: current.id, typing: true }); typing = true; }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { send({ type: "typing", conversation_id: current.id, typing: false }); typing = false; }, 3000);
});
text.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $(".reply").requestSubmit(); }
  // In a note, "@Sa" then Tab completes a colleague's name: the note
  // mentions them (mentionsIn, on sending).
  const at = $(".as-note").checked && e.key === "Tab" && /(^|\s)@([^\s@]*)$/.exec(text.value);
  if (at) {
    const start = at[2].toLowerCase();
    const match = [...names].find(([id, name]) => id !== me.id && name.toLowerCase().startsWith(start));
    if (match) {
      e.preventDefault();
      text.value = text.value.slice(0, text.value.length - at[2].length) + match[1] + " ";
      return;
    }
  }
  // "/shortcut" then Tab (or space) inserts the canned response.
  const m = /(^|\s)\/([a-z0-9_-]+)$/.exec(text.value);
  if (m && (e.key === "Tab" || e.key === " ")) {
    const c = canned.find((x) => x.shortcut === m[2]);
    if (c) {
      e.preventDefault();
      text.value = text.value.slice(0, text.value.length - m[2].length - 1) + fillPlaceholders(c.text);
    }
  }
});
// fillPlaceholders puts what is known of the visitor and the agent into a
// canned response: {{visitor_name}}, {{visitor_first_name}},
// {{visitor_email}}, {{agent_name}}, {{agent_first_name}}, and the
// visitor's attributes as {{attribute.plan}} (Chatwoot's custom
// attributes), each with an optional fallback for what is not known
// ({{visitor_first_name|there}}); other {{…}} are left for the agent to see.
function fillPlaceholders(template) {
  const visitor = (current && visitorNames.get(current.consumer_id)) || "";
  const agent = (me && me.name) || "";
  const profile = current && editTarget && editTarget.id === current.consumer_id ? editTarget : {};
  const values = { visitor_name: visitor, visitor_first_name: visitor.split(/\s+/)[0], visitor_email: profile.email || "",
    agent_name: agent, agent_first_name: agent.split(/\s+/)[0] };
  for (const [k, v] of Object.entries(profile.attributes || {})) values["attribute." + k] = v;
  return template.replace(/\{\{\s*([a-z_]+(?:\.[^\s|}]+)?)\s*(?:\|([^}]*))?\}\}/g, (all, key, fallback) =>
    key in values || key.startsWith("attribute.") ? values[key] || (fallback ?? "").trim() || (key in values ? "" : all) : all);
}

// ---- Suggested replies ------------------------------------------------------------
// What the brand's knowledge says about the visitor's last message — an
// intent's answer, articles, the team's canned responses, a colleague's
// reply to the same question in a past conversation (docs/bot.md,
// Suggestions for agents): a click puts it in the reply box, to edit and
// send. Asked again when the visitor writes.
let suggestTimer = 0;
let suggestionUsed = null; // the suggestion the reply box holds: { conversation, kind, ref, text }
$("#reply-text").addEventListener("input", (e) => { if (!e.target.value.trim()) suggestionUsed = null; });
function suggestSoon() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(showSuggestions, 300);
}

async function showSuggestions() {
  const box = $(".suggestions"), list = $(".suggestion-list");
  const id = current && current.id;
  if (!id || current.state === "closed") { box.hidden = true; return; }
  let out;
  try { out = await api("GET", `/conversations/${id}/suggestions`); } catch (e) { box.hidden = true; return; }
  if (!current || current.id !== id) return; // another conversation opened meanwhile
  list.textContent = "";
  const kind = { intent: "Answer", article: "Article", canned: "Canned", past: "Answered before" };
  for (const s of out.suggestions.slice(0, 3)) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "suggestion";
    b.dataset.kind = s.kind;
    b.title = s.text.slice(0, 300);
    if (s.kind === "past") { // who gave it, when, and how often
      b.title = `${s.by || "A colleague"}, ${new Date(s.at).toLocaleDateString()}${s.times > 1 ? ` · given ${s.times} times` : ""}:\n${fillPlaceholders(s.text).slice(0, 300)}`;
    }
    const k = document.createElement("span");
    k.className = "suggestion-kind";
    k.textContent = kind[s.kind] + ": ";
    b.append(k, document.createTextNode(s.title));
    b.addEventListener("click", () => {
      const text = $("#reply-text");
      const add = s.kind === "canned" || s.kind === "past" ? fillPlaceholders(s.text) : s.text;
      text.value = text.value.trim() ? text.value.trimEnd() + "\n" + add : add;
      // The reply says which suggestion it began as, and whether it was
      // changed (docs/bot.md): the brand learns which answers help.
      suggestionUsed = { conversation: current.id, kind: s.kind, ref: s.id, text: text.value.trim() };
      text.focus();
      text.setSelectionRange(text.value.length, text.value.length);
    });
    list.append(b);
  }
  box.hidden = !list.children.length;
}

$(".as-note").addEventListener("change", (e) => {
  $(".reply").classList.toggle("noting", e.target.checked);
  if (e.target.checked && typing && current) { // a reply begun, turned into a note: the visitor stops seeing it
    clearTimeout(typingTimer);
    send({ type: "typing", conversation_id: current.id, typing: false });
    typing = false;
  }
});

// Files: an agent sends an image or a PDF as the visitor can (an invoice,
// a screenshot of where to click); the same limits and checks.
$(".attach-button").addEventListener("click", () => {
  if (current && current.assignee_id !== me.id) {
    $(".reply-error").textContent = "This conversation is " + (names.get(current.assignee_id) || "not yours") + "'s: accept or take it over to send a file.";
    return;
  }
  $(".attach-file").click();
});
$(".attach-file").addEventListener("change", async (e) => {
  const files = [...e.target.files];
  e.target.value = "";
  await sendFiles(files);
});

async function sendFiles(files) {
  $(".reply-error").textContent = "";
  if (current && current.assignee_id !== me.id) {
    $(".reply-error").textContent = "This conversation is " + (names.get(current.assignee_id) || "not yours") + "'s: accept or take it over to send a file.";
    return;
  }
  for (const f of files) {
    try {
      await api("POST", `/conversations/${current.id}/attachments?name=${encodeURIComponent(f.name || "pasted")}&client_id=${newClientId()}`, f);
    } catch (err) {
      $(".reply-error").textContent = f.name + ": " + err.message;
    }
  }
}

// A screenshot pasted into the reply box, or files dropped on the
// conversation, are sent as Attach sends them; pasted text stays text.
$("#reply-text").addEventListener("paste", (e) => {
  const files = [...(e.clipboardData?.files || [])];
  if (!files.length || !current) return;
  e.preventDefault();
  sendFiles(files);
});
$(".conversation").addEventListener("dragover", (e) => {
  if (current && [...e.dataTransfer.types].includes("Files")) e.preventDefault();
});
$(".conversation").addEventListener("drop", (e) => {
  const files = [...(e.dataTransfer?.files || [])];
  if (!files.length || !current) return;
  e.preventDefault();
  sendFiles(files);
});
$(".reply").addEventListener("submit", (e) => {
  e.preventDefault();
  const v = text.value.trim();
  if (!v || !current) return;
  if (!$(".as-note").checked && current.assignee_id !== me.id) {
    $(".reply-error").textContent = "This conversation is " + (names.get(current.assignee_id) || "not yours") + "'s: accept or take it over to reply, or add a private note.";
    return;
  }
  text.value = "";
  if ($(".as-note").checked) {
    suggestionUsed = null; // a note is not a reply to the visitor
    api("POST", `/conversations/${current.id}/notes`, { text: v, mentions: mentionsIn(v) }).catch((err) => ($(".reply-error").textContent = err.message));
    return;
  }
  const id = newClientId();
  const frame = { type: "send", id: "send:" + id, conversation_id: current.id, client_id: id, message: { type: "text", text: v } };
  if (suggestionUsed && suggestionUsed.conversation === current.id) {
    frame.suggestion = { kind: suggestionUsed.kind, ref: suggestionUsed.ref, edited: v !== suggestionUsed.text };
  }
  suggestionUsed = null;
  send(frame);
  $(".reply-error").textContent = "";
});

// mentionsIn finds the colleagues a note names as "@Full Name": after a
// space or at the start (not an email address's "@"), and not the start
// of a longer word.
function mentionsIn(note) {
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return [...names].filter(([id, name]) => id !== me.id && name.trim() &&
    new RegExp("(^|\\s)@" + escape(name.trim()) + "(?![\\p{L}\\p{N}])", "iu").test(note)).map(([id]) => id);
}

async function act(fn) {
  try { await fn(); refreshSoon(); } catch (e) { toast(e.message); }
}
$(".accept").addEventListener("click", () => act(async () => showHeader(await api("POST", `/conversations/${current.id}/accept`))));
$(".takeover").addEventListener("click", () => act(async () => showHeader(await api("POST", `/conversations/${current.id}/transfer`, { agent_id: me.id }))));
$(".close").addEventListener("click", () => act(async () => {
  if (labelsRequired && !(current.labels || []).length) {
    $(".add-label").focus();
    throw new Error("Add a label first: your team labels every conversation it closes.");
  }
  const missing = fieldDefs.filter((f) => f.required && !(current.fields || {})[f.key]);
  if (missing.length) {
    $(`.conv-fields [name="${missing[0].key}"]`)?.focus();
    throw new Error("Fill in " + missing.map((f) => f.label).join(", ") + " first: your team records it on every conversation it closes.");
  }
  showHeader(await api("POST", `/conversations/${current.id}/close`, { reason: "resolved" }));
}));
$(".transfer").addEventListener("click", () => act(async () => {
  const [kind, id] = $(".transfer-to").value.split(":");
  const body = kind === "skill" ? { skill_id: id } : { agent_id: id };
  body.note = $(".transfer-note").value;
  showHeader(await api("POST", `/conversations/${current.id}/transfer`, body));
  $(".transfer-note").value = "";
}));

// Keyboard: Alt+1..4 switch tabs, Alt+A accepts, Alt+C closes; "?" (outside
// a field) lists the shortcuts, as Intercom's and Zendesk's consoles do.
const typingIn = (el) => el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
document.addEventListener("keydown", (e) => {
  if (e.key === "?" && !e.altKey && !e.ctrlKey && !e.metaKey && !$(".app").hidden && !typingIn(document.activeElement) && !document.querySelector("dialog[open]")) {
    e.preventDefault();
    $("dialog.shortcuts").showModal();
    return;
  }
  if (!e.altKey || $(".app").hidden) return;
  const tabs = ["queued", "mine", "open", "closed"];
  if (e.key >= "1" && e.key <= "4") $(`[data-tab=${tabs[+e.key - 1]}]`).click();
  else if (e.key === "a" && current && !$(".accept").hidden) $(".accept").click();
  else if (e.key === "c" && current) $(".close").click();
  else return;
  e.preventDefault();
});

if ("Notification" in window && Notification.permission === "default") {
  document.addEventListener("click", () => Notification.requestPermission().catch(() => {}), { once: true });
}

start();

$(".dash-form").addEventListener("change", () => showDashboard(api));


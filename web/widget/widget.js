// Parley widget loader. A brand pastes:
//   <script src="https://PARLEY_HOST/widget.js" data-account="ACCOUNT" async></script>
// It draws the chat launcher in a closed shadow root and hosts the chat
// window, an iframe from Parley's origin, so the page cannot read the chat.
// The page is not trusted: the launcher is watched, restored if removed,
// hidden or covered, and every such attempt is reported.
(() => {
  "use strict";
  // Capture the built-ins we rely on before page scripts can swap them.
  const W = window, D = document, N = navigator;
  const sendBeacon = N.sendBeacon && N.sendBeacon.bind(N);
  const fetchFn = W.fetch.bind(W);
  const JSONs = JSON.stringify, JSONp = JSON.parse;
  const setIntervalFn = W.setInterval.bind(W), setTimeoutFn = W.setTimeout.bind(W);
  const getStyle = W.getComputedStyle.bind(W);
  const fromPoint = D.elementFromPoint.bind(D);
  const attachShadow = Element.prototype.attachShadow;
  const append = Node.prototype.appendChild;
  const contains = Node.prototype.contains;
  const MO = W.MutationObserver;
  const warn = console.warn.bind(console);

  const script = D.currentScript;
  if (!script || W.__parleyLoaded) return;
  W.__parleyLoaded = true;
  const origin = new URL(script.src).origin;
  const account = script.dataset.account || "";
  const pv = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const t0 = performance.now();

  function beacon(kind, detail) {
    const body = JSONs({ account, pv, kind, url: location.href, detail: detail || "" });
    try {
      if (sendBeacon && sendBeacon(origin + "/widget/beacon", body)) return;
    } catch (e) { /* fall through */ }
    fetchFn(origin + "/widget/beacon", { method: "POST", body, keepalive: true, mode: "no-cors" }).catch(() => {});
  }
  // First, before anything a hostile page could break: the server learns
  // this page view exists and that the page is still here.
  beacon("load", D.title.slice(0, 200)); // the title names the page in the agents' visitor list
  setIntervalFn(() => beacon("alive"), 10000);
  W.addEventListener("pagehide", () => beacon("leave"));

  const queue = (W.parley && W.parley.q) || [];
  let frame = null, frameReady = false, pending = [], cfg = null, open = false;
  // Who the page says the visitor is, and what it knows of them: sent again
  // whenever the frame (re)loads, e.g. after it switched identity.
  let who = null, attrs = null;
  W.parley = function () { run(Array.prototype.slice.call(arguments)); };

  function run(cmd) {
    const [name, arg] = cmd;
    if (name === "open") setOpen(true);
    else if (name === "close") setOpen(false);
    else if (name === "identify") { who = arg; toFrame({ type: name, data: arg }); }
    else if (name === "setAttributes") { attrs = Object.assign(attrs || {}, arg); toFrame({ type: name, data: arg }); }
    else warn("Parley: unknown command " + name);
  }

  function toFrame(msg) {
    msg.parley = 1;
    if (frameReady) frame.contentWindow.postMessage(msg, origin);
    else pending.push(msg);
  }

  fetchFn(origin + "/widget/config?account=" + encodeURIComponent(account))
    .then((r) => r.ok ? r.json() : r.json().then((e) => Promise.reject(e.error ? e.error.message : "HTTP " + r.status)))
    .then((c) => {
      cfg = c;
      const allowed = cfg.allowed_origins || [];
      if (allowed.length && allowed.indexOf(location.origin) < 0) {
        warn("Parley: the chat widget is not allowed on " + location.origin + "; the brand allows it on " + allowed.join(", ") + ".");
        beacon("leave");
        return;
      }
      render();
    })
    .catch((e) => warn("Parley: the chat widget could not start: " + e));

  let host, root, launcher, badge, panel;
  const hostStyle = "all:initial;position:fixed;z-index:2147483647;bottom:20px;display:block;visibility:visible;opacity:1;";

  function render() {
    const left = cfg.position === "left";
    host = D.createElement("div");
    host.setAttribute("style", hostStyle + (left ? "left:20px;" : "right:20px;"));
    root = attachShadow.call(host, { mode: "closed" });
    const color = cfg.color || "#1f5eff";
    // The button's text: white, or dark on a light brand colour (the
    // frame decides the same way, frame.js brandColours).
    const lum = (i) => { const c = parseInt(color.slice(i, i + 2), 16) / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    const L = 0.2126 * lum(1) + 0.7152 * lum(3) + 0.0722 * lum(5);
    const onBrand = 1.05 / (L + 0.05) >= (L + 0.05) / 0.0634 ? "#fff" : "#1b1f24";
    root.innerHTML =
      "<style>" +
      ":host{all:initial}" +
      "button{font:600 15px/1 system-ui,sans-serif;color:" + onBrand + ";background:" + color + ";border:0;border-radius:28px;padding:0 20px;height:56px;min-width:56px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;gap:8px}" +
      "button:focus-visible{outline:3px solid #111;outline-offset:3px}" +
      ".b{display:none;background:#d1242f;color:#fff;border-radius:10px;font-size:12px;padding:2px 7px}" +
      ".p{position:fixed;bottom:88px;" + (left ? "left" : "right") + ":20px;width:380px;height:600px;max-height:calc(100vh - 110px);border:0;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff;display:none;overflow:hidden}" +
      ".p.o{display:block}" +
      "@media (max-width:480px){.p{inset:0;width:100vw;height:100vh;max-height:none;border-radius:0}}" +
      "iframe{width:100%;height:100%;border:0}" +
      ".t{position:absolute;bottom:68px;" + (left ? "left" : "right") + ":0;width:max-content;max-width:260px;background:#fff;color:#1b1f24;font:14px/1.4 system-ui,sans-serif;padding:12px 34px 12px 14px;border-radius:12px;box-shadow:0 4px 18px rgba(0,0,0,.2);cursor:pointer;display:none}" +
      ".t.o{display:block}.t button{position:absolute;top:4px;right:4px;background:none;color:#5d6672;box-shadow:none;height:24px;min-width:24px;padding:0;font-size:16px;border-radius:12px}" +
      "</style>" +
      "<div class=p></div><div class=t role=status><span></span><button type=button class=x>&times;</button></div>" +
      "<button type=button aria-haspopup=dialog aria-expanded=false><span class=l></span><span class=b aria-live=polite></span></button>";
    launcher = root.querySelector("button[aria-haspopup]");
    teaser = root.querySelector(".t");
    badge = root.querySelector(".b");
    panel = root.querySelector(".p");
    root.querySelector(".l").textContent = cfg.label || "Chat";
    launcher.setAttribute("aria-label", cfg.label || "Chat");
    launcher.addEventListener("click", () => setOpen(!open));
    append.call(D.body, host);
    watch();
    // The frame loads after the launcher shows, so the launcher never waits for it.
    setTimeoutFn(loadFrame, 0);
    queue.forEach(run);
    // Agents see where the visitor is, with what browser, and the
    // visitor's time of day and language.
    let timezone = "";
    try { timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* an old browser */ }
    run(["setAttributes", {
      page_url: location.href.slice(0, 1000), page_title: D.title.slice(0, 300), browser: N.userAgent.slice(0, 1000),
      timezone: String(timezone).slice(0, 100), language: String(N.language || "").slice(0, 35),
    }]);
    engage();
  }

  // ---- Proactive engagement: a teaser beside the launcher ---------------
  // Each engagement targets pages (a path pattern), a time on the page, an
  // audience (new or returning browsers), a number of pages into the visit,
  // and optionally only while someone can answer. A visit is this tab's
  // session. docs/widget.md, Proactive engagement.
  let teaser, shown = null, busy = false;
  function glob(pattern, s) {
    const re = new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
    return re.test(s);
  }
  // kept reads (or, given v, writes) the site's local or session storage.
  function kept(which, k, v) {
    try {
      const store = which === "local" ? W.localStorage : W.sessionStorage;
      if (v === undefined) return store.getItem(k);
      store.setItem(k, v);
    } catch (e) { /* storage refused: every visit looks new */ }
    return null;
  }
  // visitFacts counts this page into the visit, and the visit into the
  // browser's visits.
  function visitFacts() {
    const L = "local", S = "session";
    let visits = +(kept(L, "parley.visits") || 0);
    if (!kept(S, "parley.visit")) {
      visits++;
      kept(L, "parley.visits", String(visits));
      kept(S, "parley.visit", "1");
    }
    const pages = +(kept(S, "parley.pages") || 0) + 1;
    kept(S, "parley.pages", String(pages));
    return { visits: Math.max(visits, 1), pages };
  }
  // spent: dismissed in this visit, or shown as often as it repeats.
  function spent(e) {
    if (kept("session", "parley.dismissed." + e.id)) return true;
    if (e.repeat === "visit") return !!kept("session", "parley.shown." + e.id);
    if (e.repeat === "visitor") return !!kept("local", "parley.shown." + e.id);
    return false;
  }
  const availability = {};
  function available(skill) {
    const k = skill || "";
    if (!availability[k]) {
      availability[k] = fetchFn(origin + "/widget/availability?account=" + encodeURIComponent(account) + (skill ? "&skill=" + encodeURIComponent(skill) : ""))
        .then((r) => r.ok ? r.json() : { agents_online: false })
        .then((a) => !!a.agents_online, () => false);
    }
    return availability[k];
  }
  function engage() {
    const path = location.pathname + location.search;
    const { visits, pages } = visitFacts();
    (cfg.engagements || []).forEach((e) => {
      if (!glob(e.url_pattern, path) || spent(e)) return;
      if ((e.audience === "new" && visits > 1) || (e.audience === "returning" && visits < 2)) return;
      if (pages < (e.min_pages || 0)) return;
      setTimeoutFn(async () => {
        if (open || shown || busy || spent(e)) return;
        if (e.when_available && !(await available(e.skill))) return;
        if (open || shown || busy) return;
        shown = e;
        kept("session", "parley.shown." + e.id, "1");
        if (e.repeat === "visitor") kept("local", "parley.shown." + e.id, "1");
        teaser.querySelector("span").textContent = e.text;
        teaser.querySelector(".x").setAttribute("aria-label", "Dismiss");
        teaser.classList.add("o");
        beacon("engagement_shown", e.id);
      }, Math.max(0, e.delay_seconds * 1000 - (performance.now() - t0)));
    });
    teaser.addEventListener("click", (ev) => {
      if (!shown) return;
      const e = shown;
      hideTeaser();
      if (e.invitation) { // an agent's
        shown = null;
        if (ev.target.classList.contains("x")) beacon("invitation_dismissed", e.id);
        else { toFrame({ type: "answerInvitation", data: { id: e.id } }); setOpen(true); }
        return;
      }
      // A dismissed teaser stays away for the rest of the visit.
      kept("session", "parley.dismissed." + e.id, "1");
      if (ev.target.classList.contains("x")) beacon("engagement_dismissed", e.id);
      else {
        beacon("engagement_clicked", e.id);
        // The chat opens on the brand's words; what the visitor writes
        // starts the engagement's conversation.
        toFrame({ type: "engage", data: { id: e.id } });
        setOpen(true);
      }
    });
  }
  function hideTeaser() { teaser.classList.remove("o"); }
  // An agent invites this visitor (the frame's heartbeat brought it): it
  // takes the teaser's place, whatever engagement showed there.
  function invited(m) {
    if (open || busy) return;
    shown = { invitation: true, id: m.id };
    teaser.querySelector("span").textContent = m.name + ": " + m.text;
    teaser.querySelector(".x").setAttribute("aria-label", "Dismiss");
    teaser.classList.add("o");
  }

  function loadFrame() {
    frame = D.createElement("iframe");
    frame.title = cfg.label || "Chat";
    frame.src = origin + "/widget/frame?account=" + encodeURIComponent(account) + "&pv=" + pv +
      "&host=" + encodeURIComponent(location.origin);
    frame.setAttribute("allow", "clipboard-write");
    append.call(panel, frame);
  }

  function setOpen(v) {
    if (!launcher) { queue.push([v ? "open" : "close"]); return; }
    open = v;
    panel.classList.toggle("o", v);
    launcher.setAttribute("aria-expanded", String(v));
    toFrame({ type: v ? "open" : "close" });
    if (v) { setBadge(0); beacon("open"); stopTitle(); if (teaser) hideTeaser(); }
    else launcher.focus();
  }

  function setBadge(n) {
    badge.textContent = n > 0 ? String(n) : "";
    badge.style.display = n > 0 ? "inline-block" : "none";
  }

  let title = null, titleTimer = 0;
  function flashTitle(text) {
    if (title === null) title = D.title;
    W.clearInterval(titleTimer);
    let on = false;
    titleTimer = setIntervalFn(() => { on = !on; D.title = on ? text : title; }, 1200);
  }
  function stopTitle() {
    if (title !== null) { W.clearInterval(titleTimer); D.title = title; title = null; }
  }

  // Messages from the frame: exact origin and our frame's window only.
  W.addEventListener("message", (ev) => {
    if (ev.origin !== origin || !frame || ev.source !== frame.contentWindow) return;
    const m = ev.data;
    if (!m || m.parley !== 1 || typeof m.type !== "string") return;
    if (m.type === "ready") {
      const again = frameReady;
      frameReady = true;
      if (again) {
        if (who) toFrame({ type: "identify", data: who });
        if (attrs) toFrame({ type: "setAttributes", data: attrs });
      }
      pending.forEach((p) => frame.contentWindow.postMessage(p, origin));
      pending = [];
      if (open) toFrame({ type: "open" });
    } else if (m.type === "unread" && typeof m.count === "number") {
      if (!open) {
        setBadge(m.count);
        if (m.count > 0 && typeof m.text === "string") flashTitle(m.text);
      }
    } else if (m.type === "close") {
      setOpen(false);
    } else if (m.type === "invitation" && typeof m.id === "string" && typeof m.text === "string" && typeof m.name === "string") {
      invited(m);
    } else if (m.type === "invitationGone" && shown && shown.invitation && shown.id === m.id) {
      // Withdrawn by the agent, or lapsed unanswered.
      hideTeaser();
      shown = null;
    } else if (m.type === "busy") {
      // The visitor is in a conversation: no invitation interrupts it.
      busy = !!m.value;
      if (busy && shown && !open) hideTeaser();
    }
  });

  // ---- Tamper watch ----------------------------------------------------
  let lastReport = "", visibleSent = false;
  function report(what) {
    // One report per kind of tampering per few seconds, so a page that
    // fights back in a loop does not flood the brand's events.
    if (lastReport === what) return;
    lastReport = what;
    setTimeoutFn(() => { if (lastReport === what) lastReport = ""; }, 5000);
    beacon("tampered", what);
  }

  function restore() {
    if (!contains.call(D.documentElement, host)) append.call(D.body || D.documentElement, host);
    host.setAttribute("style", hostStyle + (cfg.position === "left" ? "left:20px;" : "right:20px;"));
    host.removeAttribute("hidden");
    host.removeAttribute("class");
  }

  function check() {
    if (!contains.call(D.documentElement, host)) { restore(); report("removed"); return; }
    const s = getStyle(host);
    const r = launcher.getBoundingClientRect();
    let what = "";
    if (s.display === "none") what = "hidden: display";
    else if (s.visibility !== "visible") what = "hidden: visibility";
    else if (parseFloat(s.opacity) < 0.5) what = "hidden: opacity";
    else if (r.width < 20 || r.height < 20) what = "hidden: size";
    else if (r.right < 0 || r.bottom < 0 || r.left > W.innerWidth || r.top > W.innerHeight) what = "hidden: off-screen";
    else {
      const at = fromPoint(r.left + r.width / 2, r.top + r.height / 2);
      if (at && at !== host && !contains.call(host, at)) what = "covered";
    }
    if (what) {
      report(what);
      // Covered: come last in the page, which wins among equal z-indexes.
      if (what === "covered") append.call(D.body || D.documentElement, host);
      restore();
      return;
    }
    if (!visibleSent) {
      visibleSent = true;
      beacon("visible", String(Math.round(performance.now() - t0)));
    }
  }

  function watch() {
    let scheduled = false;
    const mo = new MO(() => {
      if (scheduled) return;
      scheduled = true;
      W.requestAnimationFrame(() => { scheduled = false; check(); });
    });
    mo.observe(D.documentElement, { childList: true, subtree: true });
    mo.observe(host, { attributes: true });
    setIntervalFn(check, 1000);
    // The first check runs after layout so a launcher that is drawn counts as visible.
    W.requestAnimationFrame(() => W.requestAnimationFrame(check));
  }
})();

// What the widget records of each visitor (docs/widget.md, What agents
// see of a visitor), as the console's visitor panel shows it: the page as
// a link named by its title, the visitor's time of day, their language's
// name, and the browser and system rather than the raw user agent (kept
// as the tooltip).

export function pageLink(url, title) {
  let u;
  try { u = new URL(url); } catch (e) { return url; }
  if (u.protocol !== "https:" && u.protocol !== "http:") return url;
  return Object.assign(document.createElement("a"), { href: u.href, target: "_blank", rel: "noopener noreferrer", textContent: title || u.href, title: u.href });
}

export function localTime(zone) {
  try {
    return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: zone }).format(new Date()) + " · " + zone.replaceAll("_", " ");
  } catch (e) {
    return zone; // not a zone this browser knows
  }
}

export function languageName(tag) {
  try {
    const name = new Intl.DisplayNames(["en"], { type: "language" }).of(tag);
    return name && name !== tag ? name + " (" + tag + ")" : tag;
  } catch (e) {
    return tag;
  }
}

// browserName reads the common browsers and systems out of a user agent:
// "Chrome 131 on Windows". Order matters: Edge and Opera say Chrome too,
// Chrome says Safari.
export function browserName(ua) {
  const find = (re) => ua.match(re);
  const browsers = [
    [/Edg(?:e|A|iOS)?\/(\d+)/, "Edge"], [/(?:OPR|Opera)\/(\d+)/, "Opera"], [/SamsungBrowser\/(\d+)/, "Samsung Internet"],
    [/(?:Firefox|FxiOS)\/(\d+)/, "Firefox"], [/(?:HeadlessChrome)\/(\d+)/, "Headless Chrome"], [/(?:Chrome|CriOS)\/(\d+)/, "Chrome"],
    [/Version\/(\d+)[.\d]* (?:Mobile\/\S+ )?Safari/, "Safari"],
  ];
  const systems = [
    [/Windows NT/, "Windows"], [/(?:iPhone|iPad|iPod)/, "iOS"], [/Android/, "Android"], [/CrOS/, "ChromeOS"], [/Mac OS X/, "macOS"], [/Linux/, "Linux"],
  ];
  let name = "";
  for (const [re, label] of browsers) {
    const m = find(re);
    if (m) { name = label + " " + m[1]; break; }
  }
  const system = systems.find(([re]) => re.test(ua));
  if (!name) return ua;
  const span = Object.assign(document.createElement("span"), { textContent: name + (system ? " on " + system[1] : ""), title: ua });
  return span;
}

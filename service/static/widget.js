/*
 * tagungsbot chat widget. One tag on any intranet page:
 *   <script src="https://HOST/widget.js" data-api="https://HOST" defer></script>
 * Options (data-* on the tag): data-api (service address; default: where this file came
 * from), data-lang ("de" | "en"; default: the page's <html lang>, else German),
 * data-target (CSS selector: render the chat inline into that element, no launcher),
 * data-title (panel heading).
 *
 * Plain JavaScript, no build step. Everything lives in a shadow root, so the host page's
 * styles do not reach in and ours do not leak out. All text from the documents and
 * answers is inserted as text nodes, never as HTML: a document containing <script> or
 * <img onerror=...> shows those characters and nothing runs.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__tagungsbotWidget) return;
  window.__tagungsbotWidget = true;

  const opts = script.dataset;
  const API = (opts.api || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  const LANG = /^en/i.test(opts.lang || document.documentElement.lang || "") ? "en" : "de";
  const TIMEOUT_MS = 30000;

  const T = {
    de: {
      title: "Fragen zur Tagung", open: "Fragen zur Tagung", close: "Schließen",
      intro: "Stellen Sie Ihre Frage zu den Tagungsunterlagen. Jede Antwort nennt ihre Quellen; " +
        "wählen Sie eine Quelle, um die Textstelle zu sehen.",
      label: "Ihre Frage", placeholder: "Ihre Frage …", send: "Senden",
      log: "Unterhaltung", you: "Sie", bot: "Tagungsassistent", sources: "Quellen",
      source: "Quelle", show: "Textstelle anzeigen", waiting: "Die Antwort wird gesucht …",
      notFound: "Nicht im Tagungsbericht",
      network: "Der Tagungsassistent ist gerade nicht erreichbar. Bitte prüfen Sie Ihre Verbindung " +
        "und versuchen Sie es in einigen Minuten erneut.",
      timeout: "Die Antwort dauert ungewöhnlich lange. Bitte versuchen Sie es erneut.",
      busy: (s) => `Es wurden gerade sehr viele Fragen gestellt. Bitte versuchen Sie es in ${s} Sekunden erneut.`,
      down: (s) => `Der Dienst wird gerade vorbereitet oder gewartet. Bitte versuchen Sie es in ${s} Sekunden erneut.`,
      rejected: "Die Frage konnte nicht angenommen werden: ",
      denied: "Diese Seite ist für den Tagungsassistenten nicht freigeschaltet. Bitte wenden Sie sich an Ihre IT.",
      other: (c) => `Unerwarteter Fehler (HTTP ${c}). Bitte versuchen Sie es später erneut.`,
    },
    en: {
      title: "Ask about the conference", open: "Ask about the conference", close: "Close",
      intro: "Ask a question about the conference documents. Every answer names its sources; " +
        "choose a source to see the passage.",
      label: "Your question", placeholder: "Your question …", send: "Send",
      log: "Conversation", you: "You", bot: "Conference assistant", sources: "Sources",
      source: "Source", show: "Show passage", waiting: "Looking for the answer …",
      notFound: "Not in the report",
      network: "The conference assistant cannot be reached right now. Please check your connection " +
        "and try again in a few minutes.",
      timeout: "The answer is taking unusually long. Please try again.",
      busy: (s) => `Many questions were asked just now. Please try again in ${s} seconds.`,
      down: (s) => `The service is starting or under maintenance. Please try again in ${s} seconds.`,
      rejected: "The question was not accepted: ",
      denied: "This page is not cleared to use the conference assistant. Please contact your IT department.",
      other: (c) => `Unexpected error (HTTP ${c}). Please try again later.`,
    },
  }[LANG];

  const CSS = `
:host{all:initial;display:block}
*{box-sizing:border-box}
.root{font:15px/1.45 system-ui,"Segoe UI","DejaVu Sans",Arial,sans-serif;color:#1a1a1a}
[hidden]{display:none!important}
button,input{font:inherit;color:inherit}
:focus-visible{outline:3px solid #b34700;outline-offset:2px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;display:flex;align-items:center;gap:8px;
 border:0;border-radius:24px;padding:12px 18px;background:#1d4f91;color:#fff;font-weight:600;cursor:pointer;
 box-shadow:0 2px 8px rgba(0,0,0,.3)}
.launcher:hover{background:#163d70}
.launcher svg{width:20px;height:20px;fill:currentColor}
.panel{position:fixed;right:16px;bottom:80px;z-index:2147483001;width:min(420px,calc(100vw - 32px));
 height:min(620px,calc(100vh - 100px));display:flex;flex-direction:column;background:#fff;
 border:1px solid #8a8f98;border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.25);overflow:hidden}
.inline .panel{position:static;width:100%;height:var(--tagungsbot-height,520px);box-shadow:none}
header{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:10px 12px 10px 16px;
 background:#1d4f91;color:#fff}
h2{margin:0;font-size:1.05em;font-weight:600}
.close{border:0;background:transparent;color:#fff;font-size:1.5em;line-height:1;padding:2px 10px;border-radius:6px;cursor:pointer}
.close:focus-visible{outline-color:#ffd166}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;overflow-wrap:anywhere}
.intro{margin:0;color:#4a4f57}
.msg{max-width:92%;padding:8px 12px;border-radius:10px}
.msg p{margin:0;white-space:pre-line}
.user{align-self:flex-end;background:#e3ecf8}
.bot{align-self:flex-start;background:#f3f4f6;border:1px solid #d5d8dd}
.abstained{background:#fff6e5;border-color:#c98a1b}
.abstained strong{display:block;color:#6b4000;margin-bottom:2px}
.error{background:#fdecec;border-color:#d99a9a;color:#7a1616}
.cite{border:1px solid #1d4f91;background:#fff;color:#1d4f91;border-radius:4px;padding:0 4px;margin:0 1px;
 font-size:.85em;font-weight:600;cursor:pointer}
.cite[aria-expanded=true],.cite:hover{background:#1d4f91;color:#fff}
.sources{margin:8px 0 0;padding:0;list-style:none;font-size:.9em}
.sources li{margin:4px 0}
.sources .cite{font-size:1em;font-weight:400;text-align:left;padding:2px 6px}
.passage{margin:8px 0 0;padding:8px 10px;background:#fff;border-left:4px solid #1d4f91;font-size:.92em}
.doc{margin:0 0 4px;font-size:.9em;color:#4a4f57}
blockquote{margin:0;white-space:pre-line}
mark{background:#ffe066;color:#1a1a1a;padding:0 1px}
.status{margin:0;padding:0 12px;min-height:1.4em;color:#4a4f57;font-size:.9em}
form{display:flex;gap:8px;padding:10px 12px 12px;border-top:1px solid #d5d8dd}
input{flex:1;min-width:0;padding:8px 10px;border:1px solid #6b7079;border-radius:6px;background:#fff}
input::placeholder{color:#6b7079}
.send{border:0;border-radius:6px;padding:8px 14px;background:#1d4f91;color:#fff;font-weight:600;cursor:pointer}
.send:disabled{background:#5c6f89;cursor:wait}
@media (max-width:480px){.root:not(.inline) .panel{right:0;bottom:0;width:100vw;height:100vh;border-radius:0}}
`;

  /** Make an element; attributes via setAttribute, children as nodes or plain text. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
    node.append(...children.filter((c) => c != null));
    return node;
  }

  /** The cited passage with its quoted sentence in <mark>, under the document's title. */
  function passageView(c) {
    const text = String(c.text);
    const a = Math.max(0, Math.min(text.length, c.quote_start - c.start));
    const b = Math.max(a, Math.min(text.length, c.quote_end - c.start));
    const quote = b > a
      ? el("blockquote", null, text.slice(0, a), el("mark", null, text.slice(a, b)), text.slice(b))
      : el("blockquote", null, text);
    const where = c.section ? `${c.title} – ${c.section}` : String(c.title);
    return [el("p", { class: "doc" }, `${T.source} [${c.ref}]: ${where}`), quote];
  }

  let uid = 0;

  /** Scroll the conversation (only it, not the host page) so that `node` is in view. */
  function reveal(node) {
    const log = node.closest(".log");
    if (!log) return;
    const box = node.getBoundingClientRect(), view = log.getBoundingClientRect();
    const below = (node.closest(".msg") || node).getBoundingClientRect().bottom + 4 - view.bottom;
    if (below > 0) log.scrollTop += Math.min(below, box.top - view.top);
  }

  /** An answer: its text with clickable [n] markers, the source list, one passage area. */
  function answerView(body) {
    const byRef = new Map(body.citations.map((c) => [c.ref, c]));
    const box = el("div", { class: "passage", id: `tb-p${++uid}`, hidden: "" });
    const buttons = [];
    let open = null;
    const toggle = (ref) => {
      open = open === ref ? null : ref;
      box.replaceChildren(...(open == null ? [] : passageView(byRef.get(ref))));
      box.hidden = open == null;
      if (open != null) reveal(box);
      for (const btn of buttons) btn.setAttribute("aria-expanded", String(Number(btn.dataset.ref) === open));
    };
    const citeButton = (c, ...label) => {
      const btn = el("button", { type: "button", class: "cite", "data-ref": c.ref, "aria-expanded": "false",
        "aria-controls": box.id, title: T.show }, ...label);
      btn.addEventListener("click", () => toggle(c.ref));
      buttons.push(btn);
      return btn;
    };
    const text = el("p");
    String(body.answer).split(/\[(\d+)\]/).forEach((part, i) => {
      const c = i % 2 ? byRef.get(Number(part)) : null;
      if (c) text.append(citeButton(c, `[${c.ref}]`, el("span", { class: "vh" }, ` ${T.show}`)));
      else text.append(i % 2 ? `[${part}]` : part);
    });
    const list = body.citations.length
      ? el("ul", { class: "sources", "aria-label": T.sources }, ...body.citations.map((c) =>
          el("li", null, citeButton(c, `[${c.ref}] ${c.title}${c.section ? " – " + c.section : ""}`))))
      : null;
    return [text, list, box];
  }

  /** Seconds to wait from a Retry-After header (seconds or an HTTP date); 10 if absent. */
  function retrySeconds(header) {
    if (!header) return 10;
    const n = Number(header);
    if (Number.isFinite(n)) return Math.max(1, Math.ceil(n));
    const when = Date.parse(header);
    return Number.isFinite(when) ? Math.max(1, Math.ceil((when - Date.now()) / 1000)) : 10;
  }

  /** POST the question; resolve to {body} or {error: message, wait?: seconds to hold back}. Never throws. */
  async function ask(question) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    try {
      const res = await fetch(`${API}/api/ask`, {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
        body: JSON.stringify({ question }), signal: ctrl.signal,
      });
      if (res.ok) return { body: await res.json() };
      let detail = "";
      try { detail = String((await res.json()).detail || ""); } catch (_) { /* not JSON */ }
      if (res.status === 429 || res.status === 503) {
        const wait = retrySeconds(res.headers.get("Retry-After"));
        // Only a rate limit holds the next question back; after a 503 the user may retry.
        return res.status === 429 ? { error: T.busy(wait), wait } : { error: T.down(wait) };
      }
      if ((res.status === 413 || res.status === 422) && detail) return { error: T.rejected + detail };
      if (res.status === 401 || res.status === 403) return { error: T.denied };
      if (res.status === 504) return { error: T.timeout };
      return { error: T.other(res.status) };
    } catch (err) {
      return { error: err && err.name === "AbortError" ? T.timeout : T.network };
    } finally {
      clearTimeout(timer);
    }
  }

  function build() {
    const target = opts.target ? document.querySelector(opts.target) : null;
    const inline = Boolean(target);
    const host = el("div", { "data-tagungsbot": "" });
    (target || document.body).append(host);
    const shadow = host.attachShadow({ mode: "open" });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];

    const heading = el("h2", { id: "tb-title" }, opts.title || T.title);
    const close = el("button", { type: "button", class: "close", "aria-label": T.close, title: T.close }, "×");
    const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "0" },
      el("p", { class: "intro" }, T.intro));
    const status = el("p", { class: "status", role: "status" });
    const input = el("input", { type: "text", id: "tb-q", autocomplete: "off", placeholder: T.placeholder });
    const send = el("button", { type: "submit", class: "send" }, T.send);
    const form = el("form", null, el("label", { for: "tb-q", class: "vh" }, T.label), input, send);
    const panel = el("div", inline
      ? { class: "panel", role: "region", "aria-labelledby": "tb-title" }
      : { class: "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "tb-title", id: "tb-panel", hidden: "" },
    el("header", null, heading, inline ? null : close), log, status, form);
    const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    icon.append(path);
    const launcher = inline ? null : el("button", { type: "button", class: "launcher", "aria-haspopup": "dialog",
      "aria-expanded": "false", "aria-controls": "tb-panel" }, icon, T.open);
    shadow.append(el("div", { class: inline ? "root inline" : "root", lang: LANG }, panel, launcher));

    const setOpen = (isOpen) => {
      panel.hidden = !isOpen;
      launcher.setAttribute("aria-expanded", String(isOpen));
      (isOpen ? input : launcher).focus();
    };
    if (launcher) {
      launcher.addEventListener("click", () => setOpen(panel.hidden));
      close.addEventListener("click", () => setOpen(false));
      panel.addEventListener("keydown", (e) => {
        if (e.key === "Escape") { e.preventDefault(); setOpen(false); }
      });
    }

    const say = (cls, who, ...content) => {
      const msg = el("div", { class: `msg ${cls}` }, el("span", { class: "vh" }, `${who}: `), ...content);
      log.append(msg);
      log.scrollTop = log.scrollHeight;
      return msg;
    };
    let blockedUntil = 0;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const question = input.value.trim();
      if (!question || send.disabled) return;
      const waitLeft = Math.ceil((blockedUntil - Date.now()) / 1000);
      if (waitLeft > 0) { say("bot error", T.bot, el("p", null, T.busy(waitLeft))); return; }
      say("user", T.you, el("p", null, question));
      input.value = "";
      send.disabled = true;
      log.setAttribute("aria-busy", "true");
      status.textContent = T.waiting;
      const result = await ask(question);
      status.textContent = "";
      send.disabled = false;
      log.removeAttribute("aria-busy");
      if (result.error) {
        if (result.wait) blockedUntil = Date.now() + result.wait * 1000;
        say("bot error", T.bot, el("p", null, result.error));
      } else if (result.body.abstained) {
        say("bot abstained", T.bot, el("strong", null, T.notFound), el("p", null, result.body.answer));
      } else {
        say("bot answer", T.bot, ...answerView(result.body));
      }
      input.focus();
    });
  }

  if (document.body) build();
  else document.addEventListener("DOMContentLoaded", build);
})();

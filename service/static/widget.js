/*
 * tagungsbot chat widget. One tag on any intranet page:
 *   <script src="https://HOST/widget.js" data-api="https://HOST" defer></script>
 * Options (data-* on the tag):
 *   data-api       service address (default: where this file came from)
 *   data-lang      "de" | "en" (default: the page's <html lang>, else German)
 *   data-target    CSS selector: render the chat inline into that element, no launcher
 *   data-title     panel heading and launcher label
 *   data-welcome   greeting shown when the chat opens
 *   data-accent    accent colour (any CSS colour); text on it is black or white, whichever reads better
 *   data-position  "right" (default) | "left" for the launcher and the floating panel
 *   data-accessibility-url  link to the site's accessibility statement, shown under the input
 *   data-max-length  question length limit shown by the counter (default 1000; a 413 from the
 *                  service corrects it)
 *
 * Plain JavaScript, no build step. Everything lives in a shadow root, so the host page's
 * styles do not reach in and ours do not leak out. All text from the documents and
 * answers is inserted as text nodes, never as HTML: a document containing <script> or
 * <img onerror=...> shows those characters and nothing runs.
 *
 * The conversation (questions and answers) is kept in the tab's sessionStorage, so it
 * survives navigation between pages of the same intranet origin and ends with the tab.
 * Earlier turns go to the service as `history`; it resolves follow-up questions with them.
 *
 * Feedback: every answer that carries an `answer_id` (answers, abstentions, questions
 * back; not greetings, thanks and help, which quote no document) gets thumbs up and
 * down. Thumbs up sends at once; thumbs down opens an optional comment first. The widget
 * sends the question as typed and the answer as received (POST /api/feedback), and says
 * so next to the thumbs. A service without feedback sends no `answer_id`: no thumbs.
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
  // What the service accepts as history (POST /api/ask): the last turns, each trimmed.
  const HISTORY_TURNS = 6, HISTORY_QUESTION_CHARS = 1000, HISTORY_ANSWER_CHARS = 4000;
  // Oldest turns are dropped until the request fits well under the service's body limit.
  const BODY_BUDGET_BYTES = 12000;
  const KEPT_TURNS = 40;
  const STARTERS_TTL_MS = 10 * 60 * 1000;
  const STORE_KEY = `tagungsbot:${API}:${LANG}`;
  const SMALL_SCREEN = "(max-width: 480px)";
  let maxChars = Number.parseInt(opts.maxLength, 10) > 0 ? Number.parseInt(opts.maxLength, 10) : 1000;

  const T = {
    de: {
      title: "Fragen zur Tagung", close: "Schließen", newChat: "Neue Unterhaltung",
      newChatDone: "Eine neue Unterhaltung hat begonnen.",
      welcome: "Guten Tag! Ich beantworte Ihre Fragen zu den Tagungsunterlagen und nenne zu jeder Antwort die Quellen.",
      note: "Hinweis: Dies ist ein automatisierter Assistent, keine Person. Bitte geben Sie keine personenbezogenen " +
        "Daten und keine Daten von Kundinnen und Kunden ein.",
      examples: "Zum Beispiel:", suggested: "Vorgeschlagene Fragen",
      label: "Ihre Frage", placeholder: "Ihre Frage …", send: "Senden",
      log: "Unterhaltung", you: "Sie", bot: "Tagungsassistent", sources: "Quellen",
      source: "Quelle", show: "Textstelle anzeigen", waiting: "Die Antwort wird gesucht …",
      notFound: "Nicht im Tagungsbericht", understood: "Verstanden als:", event: "Veranstaltung:",
      copy: "Antwort kopieren", copied: "Kopiert", copyDone: "Die Antwort wurde in die Zwischenablage kopiert.",
      copyFailed: "Die Antwort konnte nicht kopiert werden.", statement: "Erklärung zur Barrierefreiheit",
      thumbUp: "Antwort hilfreich", thumbDown: "Antwort nicht hilfreich",
      feedbackNote: "Mit Ihrer Rückmeldung werden Frage und Antwort an die Redaktion übermittelt.",
      comment: "Was hat gefehlt? (freiwillig, höchstens 1000 Zeichen)", sendFeedback: "Rückmeldung senden",
      thanks: "Danke für Ihre Rückmeldung.",
      feedbackUnknown: "Die Rückmeldung konnte nicht zugeordnet werden, weil der Dienst diese Antwort nicht mehr kennt. " +
        "Bitte stellen Sie die Frage erneut und bewerten Sie die neue Antwort.",
      feedbackInvalid: "Die Rückmeldung wurde nicht angenommen. Bitte stellen Sie die Frage erneut und bewerten Sie die neue Antwort.",
      feedbackTooLong: "Der Kommentar ist zu lang. Bitte kürzen Sie ihn auf höchstens 1000 Zeichen.",
      feedbackDown: "Die Rückmeldung konnte gerade nicht gespeichert werden. Bitte versuchen Sie es in einigen Minuten erneut.",
      feedbackBusy: (s) => `Bitte warten Sie ${s} Sekunden und senden Sie die Rückmeldung dann erneut.`,
      empty: "Bitte geben Sie eine Frage ein.",
      counter: (n, max) => `${n} von ${max} Zeichen`,
      overLimit: (n, max) => `Ihre Frage ist ${n - max} Zeichen zu lang.`,
      network: "Der Tagungsassistent ist gerade nicht erreichbar. Bitte prüfen Sie Ihre Verbindung " +
        "und versuchen Sie es in einigen Minuten erneut.",
      timeout: "Die Antwort dauert ungewöhnlich lange. Bitte versuchen Sie es erneut.",
      busy: (s) => `Es wurden gerade sehr viele Fragen gestellt. Bitte versuchen Sie es in ${s} Sekunden erneut.`,
      stillBusy: (s) => `Bitte warten Sie noch ${s} Sekunden. Ihre Frage bleibt im Eingabefeld.`,
      ready: "Sie können jetzt wieder fragen.",
      down: (s) => `Der Dienst wird gerade vorbereitet oder gewartet. Bitte versuchen Sie es in ${s} Sekunden erneut.`,
      tooLong: (n, max) => `Ihre Frage ist zu lang (${n} Zeichen, erlaubt sind höchstens ${max}). ` +
        "Bitte kürzen Sie sie; sie steht weiter im Eingabefeld.",
      longChat: "Die Unterhaltung ist zu lang geworden. Bitte beginnen Sie eine neue Unterhaltung.",
      invalid: "Die Frage wurde nicht angenommen. Bitte formulieren Sie sie neu oder beginnen Sie eine neue Unterhaltung.",
      denied: "Diese Seite ist für den Tagungsassistenten nicht freigeschaltet. Bitte wenden Sie sich an Ihre IT.",
      interrupted: "Ihre letzte Frage wurde wegen des Seitenwechsels nicht beantwortet; sie steht wieder im Eingabefeld.",
      other: (c) => `Unerwarteter Fehler (HTTP ${c}). Bitte versuchen Sie es später erneut.`,
    },
    en: {
      title: "Ask about the conference", close: "Close", newChat: "New conversation",
      newChatDone: "A new conversation has started.",
      welcome: "Hello! I answer your questions about the conference documents and name the sources of every answer.",
      note: "Please note: this is an automated assistant, not a person. Do not enter personal data or data about clients.",
      examples: "For example:", suggested: "Suggested questions",
      label: "Your question", placeholder: "Your question …", send: "Send",
      log: "Conversation", you: "You", bot: "Conference assistant", sources: "Sources",
      source: "Source", show: "Show passage", waiting: "Looking for the answer …",
      notFound: "Not in the report", understood: "Understood as:", event: "Event:",
      copy: "Copy answer", copied: "Copied", copyDone: "The answer was copied to the clipboard.",
      copyFailed: "The answer could not be copied.", statement: "Accessibility statement",
      thumbUp: "Helpful answer", thumbDown: "Unhelpful answer",
      feedbackNote: "Your feedback sends the question and the answer to the editorial team.",
      comment: "What was missing? (optional, at most 1000 characters)", sendFeedback: "Send feedback",
      thanks: "Thank you for your feedback.",
      feedbackUnknown: "The feedback could not be matched because the service no longer knows this answer. " +
        "Please ask the question again and rate the new answer.",
      feedbackInvalid: "The feedback was not accepted. Please ask the question again and rate the new answer.",
      feedbackTooLong: "The comment is too long. Please shorten it to at most 1000 characters.",
      feedbackDown: "The feedback could not be stored just now. Please try again in a few minutes.",
      feedbackBusy: (s) => `Please wait ${s} seconds, then send the feedback again.`,
      empty: "Please type a question.",
      counter: (n, max) => `${n} of ${max} characters`,
      overLimit: (n, max) => `Your question is ${n - max} characters too long.`,
      network: "The conference assistant cannot be reached right now. Please check your connection " +
        "and try again in a few minutes.",
      timeout: "The answer is taking unusually long. Please try again.",
      busy: (s) => `Many questions were asked just now. Please try again in ${s} seconds.`,
      stillBusy: (s) => `Please wait ${s} more seconds. Your question stays in the input field.`,
      ready: "You can ask again now.",
      down: (s) => `The service is starting or under maintenance. Please try again in ${s} seconds.`,
      tooLong: (n, max) => `Your question is too long (${n} characters, at most ${max} are allowed). ` +
        "Please shorten it; it is still in the input field.",
      longChat: "The conversation has grown too long. Please start a new conversation.",
      invalid: "The question was not accepted. Please rephrase it or start a new conversation.",
      denied: "This page is not cleared to use the conference assistant. Please contact your IT department.",
      interrupted: "Your last question was not answered because the page changed; it is back in the input field.",
      other: (c) => `Unexpected error (HTTP ${c}). Please try again later.`,
    },
  }[LANG];

  const CSS = `
:host{all:initial;display:block}
*{box-sizing:border-box}
.root{--bg:#fff;--fg:#1a1a1a;--muted:#4a4f57;--line:#8a8f98;--soft:#d5d8dd;--user:#e3ecf8;--botbg:#f3f4f6;
 --warn-bg:#fff6e5;--warn-line:#c98a1b;--warn-fg:#6b4000;--err-bg:#fdecec;--err-line:#d99a9a;--err-fg:#7a1616;
 --focus:#b34700;--accent:var(--tb-accent,#1d4f91);--on-accent:var(--tb-on-accent,#fff);--link:var(--tb-link,#1d4f91);
 font:15px/1.45 system-ui,"Segoe UI","DejaVu Sans",Arial,sans-serif;color:var(--fg)}
@media (prefers-color-scheme:dark){.root{--bg:#1f2125;--fg:#ececec;--muted:#b9bec7;--line:#6b7079;--soft:#3a3e45;
 --user:#24364f;--botbg:#2a2d33;--warn-bg:#3a2e12;--warn-line:#c98a1b;--warn-fg:#ffd58a;--err-bg:#40191a;
 --err-line:#a05555;--err-fg:#ffc9c9;--focus:#ffb366;--link:var(--tb-link-dark,#9cc1ff)}}
[hidden]{display:none!important}
button,input,textarea{font:inherit;color:inherit}
button{cursor:pointer}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;display:flex;align-items:center;gap:8px;
 min-height:44px;border:0;border-radius:24px;padding:12px 18px;background:var(--accent);color:var(--on-accent);
 font-weight:600;box-shadow:0 2px 8px rgba(0,0,0,.3)}
.launcher:hover{filter:brightness(.88)}
.launcher:focus-visible{outline-color:var(--fg);box-shadow:0 0 0 2px var(--bg)}
svg{width:20px;height:20px;fill:currentColor;flex:none}
.panel{position:fixed;right:16px;bottom:80px;z-index:2147483001;width:min(420px,calc(100vw - 32px));
 height:min(640px,calc(100vh - 100px));display:flex;flex-direction:column;background:var(--bg);
 border:1px solid var(--line);border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.25);overflow:hidden}
.left .launcher{right:auto;left:16px}
.left .panel{right:auto;left:16px}
.inline .panel{position:static;width:100%;height:var(--tagungsbot-height,560px);box-shadow:none}
.bar{display:flex;align-items:center;gap:4px;padding:6px 6px 6px 16px;background:var(--accent);color:var(--on-accent)}
h2{margin:0;flex:1;font-size:1.05em;font-weight:600}
.bar button{display:flex;align-items:center;gap:6px;border:0;background:transparent;color:inherit;
 padding:6px 8px;border-radius:6px;min-height:36px;min-width:36px;justify-content:center}
.bar button:hover{background:rgba(127,127,127,.25)}
.bar button:focus-visible{outline-color:currentColor;outline-offset:-3px}
.close{font-size:1.5em;line-height:1}
.new{font-size:.88em}
.log{position:relative;flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;overflow-wrap:anywhere}
.welcome p{margin:0 0 6px}
.welcome .note{color:var(--muted);font-size:.92em}
.suggest{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-direction:column;gap:6px;align-items:flex-start}
.suggest button{text-align:left;border:1px solid var(--link);background:var(--bg);color:var(--link);border-radius:16px;
 padding:6px 12px;min-height:36px}
.suggest button:hover{background:var(--user)}
.msg{max-width:92%;padding:8px 12px;border-radius:10px}
.msg p{margin:0;white-space:pre-line}
.msg p+p,.msg p+ul,.msg ul+p{margin-top:6px}
.items{margin:6px 0 0;padding-left:1.3em}
.items li{margin:3px 0}
.user{align-self:flex-end;background:var(--user)}
.bot{align-self:flex-start;background:var(--botbg);border:1px solid var(--soft)}
.understood,.event{color:var(--muted);font-size:.88em;font-style:italic}
.abstained{background:var(--warn-bg);border-color:var(--warn-line)}
.abstained strong{display:block;color:var(--warn-fg);margin-bottom:2px}
.error{background:var(--err-bg);border-color:var(--err-line);color:var(--err-fg)}
.flash{animation:flash .6s 2}
@keyframes flash{50%{box-shadow:0 0 0 3px var(--err-line)}}
.cite{border:1px solid var(--link);background:var(--bg);color:var(--link);border-radius:4px;padding:0 4px;margin:0 1px;
 font-size:.85em;font-weight:600}
.cite[aria-expanded=true],.cite:hover{background:var(--link);color:var(--bg)}
.sources{margin:8px 0 0;padding:0;list-style:none;font-size:.9em}
.sources li{margin:4px 0}
.sources .cite{font-size:1em;font-weight:400;text-align:left;padding:2px 6px}
.passage{margin:8px 0 0;padding:8px 10px;background:var(--bg);border-left:4px solid var(--link);font-size:.92em}
.doc{margin:0 0 4px;font-size:.9em;color:var(--muted)}
blockquote{margin:0;white-space:pre-line}
mark{background:#ffe066;color:#1a1a1a;padding:0 1px}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:6px}
.actions button{border:1px solid var(--line);background:transparent;border-radius:6px;padding:2px 8px;font-size:.85em;
 display:flex;align-items:center;gap:4px}
.actions svg{width:16px;height:16px}
.rate{display:flex;gap:6px}
.thumb[aria-pressed=true]{background:var(--accent);color:var(--on-accent);border-color:var(--accent)}
.thumb[aria-disabled=true]{cursor:default}
.fb-note{flex:1 1 12em;margin:0;color:var(--muted);font-size:.8em}
.fb-form{display:flex;flex-direction:column;gap:4px;margin-top:6px;padding:0;border:0}
.fb-form label{font-size:.88em}
.fb-form textarea{width:100%;min-height:4.5em;resize:vertical;padding:6px 8px;border:1px solid var(--line);border-radius:6px;
 background:var(--bg)}
.fb-form button{align-self:flex-start;border:0;border-radius:6px;padding:4px 12px;background:var(--accent);color:var(--on-accent);
 font-weight:600;font-size:.88em}
.fb-result{margin:4px 0 0;font-size:.88em;color:var(--muted)}
.fb-result.error{background:none;color:var(--err-fg)}
.typing{align-self:flex-start;display:flex;gap:5px;padding:12px 14px;background:var(--botbg);border:1px solid var(--soft)}
.typing i{width:8px;height:8px;border-radius:50%;background:var(--muted);animation:blink 1.2s infinite}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes blink{0%,80%,100%{opacity:.25}40%{opacity:1}}
@media (prefers-reduced-motion:reduce){.typing i,.flash{animation:none}}
.status{margin:0;padding:0 12px;min-height:1.4em;color:var(--muted);font-size:.9em}
form{display:flex;gap:8px;padding:8px 12px 4px;border-top:1px solid var(--soft)}
input{flex:1;min-width:0;padding:8px 10px;border:1px solid var(--line);border-radius:6px;background:var(--bg)}
input::placeholder{color:var(--muted)}
input[aria-invalid=true]{border-color:var(--err-fg);outline-color:var(--err-fg)}
.send{border:0;border-radius:6px;padding:8px 14px;background:var(--accent);color:var(--on-accent);font-weight:600}
.send:disabled{opacity:.7;cursor:wait}
.foot{display:flex;justify-content:space-between;gap:8px;margin:0;padding:0 12px 8px;font-size:.82em;color:var(--muted)}
.count.over{color:var(--err-fg);font-weight:600}
.foot a{color:var(--link)}
@media (max-width:480px){
 .root:not(.inline) .panel{left:0;right:0;top:0;bottom:0;width:100vw;height:100vh;height:100dvh;border:0;border-radius:0}
 .root:not(.inline) .new .label{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
 .panel button,.panel input,.foot a{min-height:44px}
 .bar button,.send{min-width:44px}
 .foot a{display:inline-flex;align-items:center}
 .sources .cite,.suggest button{min-height:44px}
 .actions button,.fb-form button{min-height:44px;min-width:44px}
 .msg p .cite{min-height:0}
}
@media print{.root:not(.inline){display:none!important}}
`;

  /** Make an element; attributes via setAttribute, children as nodes or plain text. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
    node.append(...children.filter((c) => c != null));
    return node;
  }

  /** A small inline SVG icon (decorative). */
  function icon(d) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    svg.append(path);
    return svg;
  }
  const ICON_CHAT = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z";
  const ICON_NEW = "M12 5V2L7 6l5 4V7a6 6 0 1 1-6 6H4a8 8 0 1 0 8-8z";
  const ICON_COPY = "M16 1H4a2 2 0 0 0-2 2v14h2V3h12V1zm3 4H8a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2zm0 16H8V7h11v14z";
  const ICON_UP = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59" +
    "C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  const ICON_DOWN = "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32" +
    "c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z";
  const COMMENT_CHARS = 1000;

  // --- Theme: accent colour with readable text on it and as text on the panel -----------

  /** [r, g, b] of a CSS colour as the browser understands it, or null if it is not one. */
  function parseColour(value, probe) {
    probe.style.color = "";
    probe.style.color = value;
    if (!probe.style.color) return null;
    const m = getComputedStyle(probe).color.match(/[\d.]+/g);
    return m ? m.slice(0, 3).map(Number) : null;
  }

  function contrast(a, b) {
    const lum = ([r, g, b2]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b2);
    };
    const x = lum(a), y = lum(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }

  /** CSS variables for data-accent: text on it, and the accent as text where it reads (>= 4.5:1). */
  function accentTheme(value, probe) {
    const rgb = parseColour(value, probe);
    if (!rgb) {
      console.warn(`tagungsbot widget: data-accent="${value}" is not a CSS colour; the default colour is used.`);
      return "";
    }
    const WHITE = [255, 255, 255], INK = [26, 26, 26], DARK_PANEL = [31, 33, 37];
    const css = `rgb(${rgb.join(",")})`;
    const onAccent = contrast(rgb, WHITE) >= contrast(rgb, INK) ? "#fff" : "#1a1a1a";
    let vars = `--tb-accent:${css};--tb-on-accent:${onAccent};`;
    if (contrast(rgb, WHITE) >= 4.5) vars += `--tb-link:${css};`;
    if (contrast(rgb, DARK_PANEL) >= 4.5) vars += `--tb-link-dark:${css};`;
    return vars;
  }

  /** A link target that is a web page (http/https), or null: no javascript: URLs from attributes. */
  function safeUrl(value) {
    if (!value) return null;
    try {
      const url = new URL(value, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  // --- The conversation, kept per tab -----------------------------------------------------

  /** Turns ({question, body}) and an unanswered question, from sessionStorage; never throws. */
  function loadConversation() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
      if (saved && Array.isArray(saved.turns)) {
        return { turns: saved.turns.filter((t) => t && typeof t.question === "string" && t.body), pending: saved.pending || "",
          open: Boolean(saved.open) };
      }
    } catch (_) { /* storage disabled or damaged: start empty */ }
    return { turns: [], pending: "", open: false };
  }

  function saveConversation(conv) {
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify({ turns: conv.turns.slice(-KEPT_TURNS), pending: conv.pending,
        open: conv.open }));
    } catch (_) { /* storage full or disabled: the conversation lives on this page only */ }
  }

  /** The earlier turns to send: last HISTORY_TURNS, trimmed, oldest dropped until the body fits. */
  function historyFor(turns, question) {
    const history = turns.slice(-HISTORY_TURNS).filter((t) => t.body.kind !== "clarify").map((t) => ({
      question: String(t.body.resolved_question || t.question).slice(0, HISTORY_QUESTION_CHARS),
      answer: String(t.body.answer || "").slice(0, HISTORY_ANSWER_CHARS),
    }));
    const size = () => new TextEncoder().encode(JSON.stringify({ question, history })).length;
    while (history.length && size() > BODY_BUDGET_BYTES) history.shift();
    return history;
  }

  // --- Talking to the service ------------------------------------------------------------

  /** Seconds to wait from a Retry-After header (seconds or an HTTP date); 10 if absent. */
  function retrySeconds(header) {
    if (!header) return 10;
    const n = Number(header);
    if (Number.isFinite(n)) return Math.max(1, Math.ceil(n));
    const when = Date.parse(header);
    return Number.isFinite(when) ? Math.max(1, Math.ceil((when - Date.now()) / 1000)) : 10;
  }

  /**
   * After a failed fetch: is the service up but refusing this page's origin (CORS)? A
   * no-cors request succeeds (opaquely) whenever the server answers at all.
   */
  async function refusedByCors() {
    try {
      await fetch(`${API}/healthz`, { mode: "no-cors", credentials: "omit", cache: "no-store" });
      return true;
    } catch (_) {
      return false;
    }
  }

  function explainCors() {
    console.error(`tagungsbot widget: the service at ${API} does not allow requests from this page's origin ` +
      `${location.origin}. Add it on the server: TAGUNGSBOT_CORS_ORIGINS=${location.origin} ` +
      "(comma-separated if there are several origins), then restart the service.");
  }

  /** The message for a refused question (413/422), in the widget's language. */
  function refusal(status, detail, question, sentHistory) {
    if (detail) console.info(`tagungsbot widget: HTTP ${status}: ${detail}`);
    if (status === 413) {
      const limit = detail.match(/limit is (\d+)/);
      if (limit) maxChars = Number(limit[1]);
      if (/\bquestion\b/.test(detail) || !sentHistory) return T.tooLong(question.length, maxChars);
      return T.longChat;
    }
    return T.invalid;
  }

  /** POST the question; resolve to {body} or {error, wait?, cors?}. Never throws. */
  async function ask(question, history) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    const payload = history.length ? { question, history } : { question };
    try {
      const res = await fetch(`${API}/api/ask`, {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
        body: JSON.stringify(payload), signal: ctrl.signal,
      });
      if (res.ok) return { body: await res.json() };
      let detail = "";
      try { detail = String((await res.json()).detail || ""); } catch (_) { /* not JSON */ }
      if (res.status === 429) return { wait: retrySeconds(res.headers.get("Retry-After")) };
      if (res.status === 503) return { error: T.down(retrySeconds(res.headers.get("Retry-After"))) };
      if (res.status === 413 || res.status === 422) return { error: refusal(res.status, detail, question, history.length > 0) };
      if (res.status === 401 || res.status === 403) return { error: T.denied };
      if (res.status === 504) return { error: T.timeout };
      return { error: T.other(res.status) };
    } catch (err) {
      if (err && err.name === "AbortError") return { error: T.timeout };
      if (await refusedByCors()) {
        explainCors();
        return { error: T.denied };
      }
      return { error: T.network };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Starter questions from the store (GET /api/suggestions); [] if there are none or no
   * endpoint. Kept for STARTERS_TTL_MS in the tab, so moving between pages asks only once.
   */
  async function fetchSuggestions() {
    const key = `${STORE_KEY}:starters`;
    try {
      const cached = JSON.parse(sessionStorage.getItem(key) || "null");
      if (cached && Array.isArray(cached.list) && Date.now() - cached.at < STARTERS_TTL_MS) return cached.list;
    } catch (_) { /* no storage: ask the service */ }
    try {
      const res = await fetch(`${API}/api/suggestions?lang=${LANG}`, { credentials: "omit" });
      if (!res.ok && res.status !== 404) return []; // 404: a service without starters, worth remembering
      const body = res.ok ? await res.json() : {};
      const list = Array.isArray(body.suggestions)
        ? body.suggestions.filter((s) => typeof s === "string" && s.trim()).slice(0, 4) : [];
      try { sessionStorage.setItem(key, JSON.stringify({ at: Date.now(), list })); } catch (_) { /* not kept */ }
      return list;
    } catch (_) {
      return [];
    }
  }

  /** POST a rating of one answer; resolve to {} or {error}. Never throws. */
  async function sendFeedback(payload) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    try {
      const res = await fetch(`${API}/api/feedback`, {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
        body: JSON.stringify(payload), signal: ctrl.signal,
      });
      if (res.ok) return {};
      let detail = "";
      try { detail = String((await res.json()).detail || ""); } catch (_) { /* not JSON */ }
      if (detail) console.info(`tagungsbot widget: feedback HTTP ${res.status}: ${detail}`);
      if (res.status === 404) return { error: T.feedbackUnknown };
      if (res.status === 413) return { error: T.feedbackTooLong };
      if (res.status === 422) return { error: T.feedbackInvalid };
      if (res.status === 429) return { error: T.feedbackBusy(retrySeconds(res.headers.get("Retry-After"))) };
      if (res.status === 503) return { error: T.feedbackDown };
      if (res.status === 401 || res.status === 403) return { error: T.denied };
      return { error: T.other(res.status) };
    } catch (err) {
      return { error: err && err.name === "AbortError" ? T.timeout : T.network };
    } finally {
      clearTimeout(timer);
    }
  }

  // --- Rendering answers -----------------------------------------------------------------

  let uid = 0;

  /** The cited passage with its quoted sentence in <mark>, under the document's title. */
  function passageView(c) {
    const text = String(c.text);
    const a = Math.max(0, Math.min(text.length, c.quote_start - c.start));
    const b = Math.max(a, Math.min(text.length, c.quote_end - c.start));
    const quote = b > a
      ? el("blockquote", { lang: "de" }, text.slice(0, a), el("mark", null, text.slice(a, b)), text.slice(b))
      : el("blockquote", { lang: "de" }, text);
    const where = c.section ? `${c.title} – ${c.section}` : String(c.title);
    return [el("p", { class: "doc" }, `${T.source} [${c.ref}]: ${where}`), quote];
  }

  /** Scroll the conversation (only it, not the host page) so that `node` is in view. */
  function reveal(node) {
    const log = node.closest(".log");
    if (!log) return;
    const box = node.getBoundingClientRect(), view = log.getBoundingClientRect();
    const below = (node.closest(".msg") || node).getBoundingClientRect().bottom + 4 - view.bottom;
    if (below > 0) log.scrollTop += Math.min(below, box.top - view.top);
  }

  /** Same question? (case, spacing and end punctuation aside) */
  function sameQuestion(a, b) {
    const norm = (s) => String(s || "").toLowerCase().replace(/[\s„“"'?!.]+/g, " ").trim();
    return norm(a) === norm(b);
  }

  /**
   * Text as nodes: [n] markers become source buttons, „…“ quotes are marked German when the
   * answer is in another language (screen readers then pronounce them as German).
   */
  function inlineNodes(text, cite, markQuotes) {
    const nodes = [];
    String(text).split(/(\[\d+\]|„[^“]*“)/).forEach((token) => {
      const marker = token.match(/^\[(\d+)\]$/);
      const button = marker ? cite(Number(marker[1])) : null;
      if (button) nodes.push(button);
      else if (markQuotes && token.startsWith("„")) nodes.push(el("span", { lang: "de" }, token));
      else if (token) nodes.push(token);
    });
    return nodes;
  }

  /** The answer's structured parts: lead, quotes and text as paragraphs, an event's heading, items as a list. */
  function partsView(parts, cite) {
    const out = [];
    let para = null, list = null;
    for (const part of parts) {
      const text = String(part.text || "");
      const ref = Number.isInteger(part.ref) ? part.ref : null;
      const nodes = part.role === "quote"
        ? [el("span", { lang: "de", class: "quote" }, ...inlineNodes(text, cite, false))]
        : inlineNodes(text, cite, false);
      if (ref != null && !text.includes(`[${ref}]`)) {
        const button = cite(ref);
        if (button) nodes.push(" ", button);
      }
      if (part.role === "item") {
        para = null;
        if (!list) out.push(list = el("ul", { class: "items" }));
        list.append(el("li", null, ...nodes));
      } else if (part.role === "heading") { // an event's name over its part of the answer
        para = list = null;
        out.push(el("p", { class: "heading" }, el("strong", null, ...nodes)));
      } else {
        list = null;
        if (!para || part.role === "lead") out.push(para = el("p"));
        else para.append(" ");
        para.append(...nodes);
      }
    }
    return out;
  }

  /** Plain text of an answer with its sources, for the clipboard. */
  function answerText(body) {
    const sources = (body.citations || []).map((c) => `[${c.ref}] ${c.title}${c.section ? " – " + c.section : ""}`);
    return sources.length ? `${body.answer}\n\n${T.sources}:\n${sources.join("\n")}` : String(body.answer);
  }

  async function copyText(text, shadowRoot) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (_) { /* fall back below */ }
    const area = el("textarea", { "aria-hidden": "true", style: "position:fixed;opacity:0" });
    area.value = text;
    shadowRoot.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
    area.remove();
    return ok;
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

    const classes = ["root", inline ? "inline" : "floating", opts.position === "left" ? "left" : null];
    const root = el("div", { class: classes.filter(Boolean).join(" "), lang: LANG });
    shadow.append(root);
    if (opts.accent) root.setAttribute("style", accentTheme(opts.accent, root));

    const title = (opts.title || "").trim() || T.title;
    const conv = loadConversation();

    // Greeting, the note on personal data, suggested questions.
    const suggestList = el("ul", { class: "suggest", "aria-label": T.suggested, hidden: "" });
    const welcome = el("div", { class: "welcome" },
      el("p", { id: "tb-hello" }, (opts.welcome || "").trim() || T.welcome),
      el("p", { class: "note", id: "tb-note" }, T.note),
      el("p", { class: "examples", hidden: "" }, T.examples), suggestList);
    const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "0" }, welcome);
    const status = el("p", { class: "status", role: "status" });
    const input = el("input", { type: "text", id: "tb-q", autocomplete: "off", placeholder: T.placeholder,
      "aria-describedby": "tb-count" });
    const send = el("button", { type: "submit", class: "send" }, T.send);
    const form = el("form", null, el("label", { for: "tb-q", class: "vh" }, T.label), input, send);
    const counter = el("span", { class: "count", id: "tb-count" });
    const statementUrl = safeUrl(opts.accessibilityUrl);
    const foot = el("p", { class: "foot" }, counter,
      statementUrl ? el("a", { href: statementUrl, target: "_blank", rel: "noopener" }, T.statement) : null);
    const newChat = el("button", { type: "button", class: "new", title: T.newChat, "aria-label": T.newChat },
      icon(ICON_NEW), el("span", { class: "label" }, T.newChat));
    const close = el("button", { type: "button", class: "close", "aria-label": T.close, title: T.close }, "×");
    const panel = el("div", inline
      ? { class: "panel", role: "region", "aria-labelledby": "tb-title" }
      : { class: "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "tb-title",
          "aria-describedby": "tb-hello tb-note", id: "tb-panel", hidden: "" },
    el("div", { class: "bar" }, el("h2", { id: "tb-title" }, title), newChat, inline ? null : close),
    log, status, form, foot);
    const launcher = inline ? null : el("button", { type: "button", class: "launcher", "aria-haspopup": "dialog",
      "aria-expanded": "false", "aria-controls": "tb-panel" }, icon(ICON_CHAT), title);
    root.append(panel, ...(launcher ? [launcher] : []));

    // --- Messages ---

    const say = (cls, who, ...content) => {
      const msg = el("div", { class: `msg ${cls}` }, el("span", { class: "vh" }, `${who}: `), ...content);
      log.append(msg);
      // A long answer is shown from its start, not scrolled past; anything else brings the end into view.
      const tall = msg.offsetHeight > log.clientHeight - 16;
      log.scrollTop = tall ? msg.offsetTop - 8 : log.scrollHeight;
      return msg;
    };

    const suggestionButtons = (list, questions) => {
      list.replaceChildren(...questions.map((q) => {
        const b = el("button", { type: "button" }, q);
        b.addEventListener("click", () => submit(q));
        return el("li", null, b);
      }));
      list.hidden = questions.length === 0;
      return list;
    };

    /**
     * Thumbs up/down for an answer with an `answer_id` (not smalltalk), the note that the
     * question and answer go to the editors, and the comment form thumbs down opens.
     * A rating sent is kept with the turn, so a restored conversation shows it.
     */
    const feedbackControls = (question, body, turn) => {
      if (typeof body.answer_id !== "string" || !body.answer_id || body.kind === "smalltalk") return null;
      const n = ++uid;
      const note = el("p", { class: "fb-note", id: `tb-fn${n}` }, T.feedbackNote);
      const thumb = (rating, label, d) => el("button", { type: "button", class: `thumb ${rating}`, "aria-pressed": "false",
        "aria-label": label, title: label, "aria-describedby": note.id }, icon(d));
      const up = thumb("up", T.thumbUp, ICON_UP), down = thumb("down", T.thumbDown, ICON_DOWN);
      const area = el("textarea", { id: `tb-fc${n}`, maxlength: String(COMMENT_CHARS), rows: "3" });
      const sendButton = el("button", { type: "submit" }, T.sendFeedback);
      const form = el("form", { class: "fb-form", hidden: "" }, el("label", { for: area.id }, T.comment), area, sendButton);
      const result = el("p", { class: "fb-result", hidden: "" });
      let sending = false;

      const done = (rating) => {
        up.setAttribute("aria-pressed", String(rating === "up"));
        down.setAttribute("aria-pressed", String(rating === "down"));
        for (const b of [up, down]) b.setAttribute("aria-disabled", "true");
        form.hidden = true;
        result.hidden = false;
        result.classList.remove("error");
        result.textContent = T.thanks;
      };
      const send = async (rating, comment) => {
        if (sending) return;
        sending = true;
        sendButton.disabled = true;
        const outcome = await sendFeedback({ answer_id: body.answer_id, rating, comment: comment || null,
          question, answer: String(body.answer ?? "") });
        sending = false;
        sendButton.disabled = false;
        if (outcome.error) {
          result.hidden = false;
          result.classList.add("error");
          result.textContent = outcome.error;
          status.textContent = outcome.error;
          return;
        }
        if (turn) {
          turn.feedback = rating;
          saveConversation(conv);
        }
        const hadFocus = form.contains(shadow.activeElement);
        done(rating);
        status.textContent = T.thanks;
        if (hadFocus) down.focus(); // the form is gone: focus stays on this answer
      };
      const sent = () => up.getAttribute("aria-disabled") === "true";
      up.addEventListener("click", () => {
        if (sent()) return;
        form.hidden = true;
        down.setAttribute("aria-pressed", "false");
        up.setAttribute("aria-pressed", "true");
        send("up", null);
      });
      down.addEventListener("click", () => {
        if (sent()) return;
        const open = form.hidden;
        form.hidden = !open;
        down.setAttribute("aria-pressed", String(open));
        up.setAttribute("aria-pressed", "false");
        result.hidden = true;
        if (open) {
          area.focus();
          reveal(form);
        }
      });
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        e.stopPropagation();
        send("down", area.value.trim().slice(0, COMMENT_CHARS));
      });
      if (turn && (turn.feedback === "up" || turn.feedback === "down")) done(turn.feedback);
      return { buttons: [el("span", { class: "rate" }, up, down), note], below: [form, result] };
    };

    /** One answer of the service as a chat message; its event is named when it differs from the last one named. */
    let lastEvent = null;
    const answerMessage = (question, body, turn) => {
      const citations = Array.isArray(body.citations) ? body.citations : [];
      const byRef = new Map(citations.map((c) => [c.ref, c]));
      const lang = /^(de|en)$/.test(body.language) ? body.language : null;
      const kind = /^[a-z]+$/.test(body.kind || "") ? ` kind-${body.kind}` : "";
      const content = [];
      if (body.resolved_question && !sameQuestion(body.resolved_question, question)) {
        content.push(el("p", { class: "understood" }, `${T.understood} „${body.resolved_question}“`));
      }
      if (body.abstained) content.push(el("strong", null, T.notFound));

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
      const citeButton = (ref, ...label) => {
        const c = byRef.get(ref);
        if (!c) return null;
        const btn = el("button", { type: "button", class: "cite", "data-ref": c.ref, "aria-expanded": "false",
          "aria-controls": box.id, title: T.show }, ...(label.length ? label : [`[${c.ref}]`,
          el("span", { class: "vh" }, ` ${T.show}`)]));
        btn.addEventListener("click", () => toggle(c.ref));
        buttons.push(btn);
        return btn;
      };
      const parts = Array.isArray(body.parts) && body.parts.length && !body.abstained ? body.parts : null;
      if (parts) content.push(...partsView(parts, (ref) => citeButton(ref)));
      else content.push(el("p", null, ...inlineNodes(body.answer, (ref) => citeButton(ref), lang !== "de")));
      if (body.event && citations.length && body.event !== lastEvent) {
        content.push(el("p", { class: "event" }, `${T.event} ${body.event}`));
        lastEvent = body.event;
      }
      if (citations.length) {
        content.push(el("ul", { class: "sources", "aria-label": T.sources }, ...citations.map((c) =>
          el("li", null, citeButton(c.ref, `[${c.ref}] ${c.title}${c.section ? " – " + c.section : ""}`)))), box);
      }
      if (Array.isArray(body.suggestions) && body.suggestions.length) {
        const list = el("ul", { class: "suggest", "aria-label": T.suggested });
        content.push(suggestionButtons(list, body.suggestions.filter((s) => typeof s === "string").slice(0, 4)));
      }
      const actions = [];
      if (!body.abstained && citations.length) {
        const copy = el("button", { type: "button", class: "copy" }, icon(ICON_COPY), el("span", null, T.copy));
        copy.addEventListener("click", async () => {
          const ok = await copyText(answerText(body), shadow);
          status.textContent = ok ? T.copyDone : T.copyFailed;
          if (ok) {
            copy.lastChild.textContent = T.copied;
            setTimeout(() => { copy.lastChild.textContent = T.copy; }, 2000);
          }
        });
        actions.push(copy);
      }
      const feedback = feedbackControls(question, body, turn);
      if (feedback) actions.push(...feedback.buttons);
      if (actions.length) content.push(el("div", { class: "actions" }, ...actions));
      if (feedback) content.push(...feedback.below);
      const cls = body.abstained ? "bot abstained" : `bot answer${kind}`;
      const msg = say(cls, T.bot, ...content);
      if (lang) msg.setAttribute("lang", lang);
      return msg;
    };

    const renderTurns = () => {
      for (const turn of conv.turns) {
        say("user", T.you, el("p", null, turn.question));
        answerMessage(turn.question, turn.body, turn);
      }
    };

    // --- Input: counter near the limit ---

    const updateCounter = () => {
      const n = input.value.trim().length;
      const over = n > maxChars;
      counter.textContent = n >= maxChars * 0.8 ? T.counter(n, maxChars) : "";
      counter.classList.toggle("over", over);
      if (over) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      return over;
    };
    let wasOver = false;
    input.addEventListener("input", () => {
      const over = updateCounter();
      if (over && !wasOver) status.textContent = T.overLimit(input.value.trim().length, maxChars);
      wasOver = over;
    });

    // --- Rate limit: one message that counts down, never a second one ---

    let cooldown = null;
    const holdBack = (seconds) => {
      const until = Date.now() + seconds * 1000;
      if (!cooldown) {
        const visible = el("span", { "aria-hidden": "true" });
        const spoken = el("span", { class: "vh" }, T.busy(seconds));
        cooldown = { msg: say("bot error busy", T.bot, el("p", null, visible, spoken)), visible, spoken, until, timer: 0 };
      } else {
        cooldown.until = until;
        cooldown.spoken.textContent = T.busy(seconds);
      }
      const tick = () => {
        const left = Math.ceil((cooldown.until - Date.now()) / 1000);
        if (left > 0) {
          cooldown.visible.textContent = T.busy(left);
          return;
        }
        clearInterval(cooldown.timer);
        cooldown.visible.textContent = "";
        cooldown.spoken.textContent = T.ready;
        cooldown.spoken.classList.remove("vh");
        cooldown.msg.classList.remove("error", "busy");
        cooldown = null;
      };
      clearInterval(cooldown.timer);
      cooldown.timer = setInterval(tick, 250);
      tick();
    };

    // --- Asking ---

    const typing = () => say("typing", T.bot, el("i"), el("i"), el("i"), el("span", { class: "vh" }, T.waiting));
    let busy = false;

    async function submit(text) {
      const question = String(text).trim();
      if (busy) return;
      if (!question) {
        status.textContent = T.empty;
        input.focus();
        return;
      }
      if (cooldown) {
        const left = Math.max(1, Math.ceil((cooldown.until - Date.now()) / 1000));
        status.textContent = T.stillBusy(left);
        cooldown.msg.classList.remove("flash");
        void cooldown.msg.offsetWidth; // restart the highlight
        cooldown.msg.classList.add("flash");
        input.value = question;
        input.focus();
        return;
      }
      busy = true;
      say("user", T.you, el("p", null, question));
      input.value = "";
      updateCounter();
      send.disabled = true;
      log.setAttribute("aria-busy", "true");
      status.textContent = T.waiting;
      const indicator = typing();
      conv.pending = question;
      saveConversation(conv);
      const result = await ask(question, historyFor(conv.turns, question));
      indicator.remove();
      busy = false;
      status.textContent = "";
      send.disabled = false;
      log.removeAttribute("aria-busy");
      conv.pending = "";
      if (result.body) {
        const turn = { question, body: result.body };
        conv.turns.push(turn);
        answerMessage(question, result.body, turn);
      } else {
        if (!input.value.trim()) input.value = question; // keep the question to edit or send again
        updateCounter();
        if (result.wait) holdBack(result.wait);
        else say("bot error", T.bot, el("p", null, result.error));
      }
      saveConversation(conv);
      input.focus();
    }

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submit(input.value);
    });
    input.addEventListener("input", () => {
      if (!busy) status.textContent = status.textContent === T.empty ? "" : status.textContent;
    });

    newChat.addEventListener("click", () => {
      conv.turns = [];
      conv.pending = "";
      lastEvent = null;
      saveConversation(conv);
      for (const node of [...log.children]) if (node !== welcome && !node.classList.contains("busy")) node.remove();
      log.scrollTop = 0;
      status.textContent = T.newChatDone;
      input.focus();
    });

    let suggestionsLoaded = false;
    const loadSuggestions = async () => {
      if (suggestionsLoaded) return;
      suggestionsLoaded = true;
      const questions = await fetchSuggestions();
      suggestionButtons(suggestList, questions);
      welcome.querySelector(".examples").hidden = questions.length === 0;
    };

    // --- Open, close, and the modal full-screen layout on small screens ---

    const small = window.matchMedia(SMALL_SCREEN);
    const isOpen = () => launcher && !panel.hidden;
    let savedOverflow = null;
    const applyModal = () => {
      if (!launcher) return;
      const modal = isOpen() && small.matches;
      panel.setAttribute("aria-modal", String(modal));
      if (modal && savedOverflow == null) {
        savedOverflow = document.documentElement.style.overflow;
        document.documentElement.style.overflow = "hidden"; // the page behind does not scroll
      } else if (!modal && savedOverflow != null) {
        document.documentElement.style.overflow = savedOverflow;
        savedOverflow = null;
      }
    };
    const focusables = () => [...panel.querySelectorAll("button:not([disabled]), input, textarea, a[href], [tabindex]:not([tabindex='-1'])")]
      .filter((n) => n.getClientRects().length > 0);

    const setOpen = (open, moveFocus = true) => {
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      conv.open = open;
      saveConversation(conv);
      applyModal();
      if (open) loadSuggestions();
      if (moveFocus) (open ? input : launcher).focus();
    };

    if (launcher) {
      launcher.addEventListener("click", () => setOpen(panel.hidden));
      close.addEventListener("click", () => setOpen(false));
      panel.addEventListener("keydown", (e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          setOpen(false);
        } else if (e.key === "Tab" && small.matches) { // modal: Tab cycles inside the panel
          const items = focusables();
          if (!items.length) return;
          const first = items[0], last = items[items.length - 1], active = shadow.activeElement;
          if (e.shiftKey && (active === first || !panel.contains(active))) {
            e.preventDefault();
            last.focus();
          } else if (!e.shiftKey && (active === last || !panel.contains(active))) {
            e.preventDefault();
            first.focus();
          }
        }
      });
      // Focus that lands outside (a click on the page, a screen reader jump) comes back while modal.
      document.addEventListener("focusin", (e) => {
        if (isOpen() && small.matches && e.target !== host) input.focus();
      });
      small.addEventListener("change", applyModal);
    } else {
      loadSuggestions();
    }

    renderTurns();
    if (conv.pending) {
      input.value = conv.pending;
      status.textContent = T.interrupted;
      conv.pending = "";
      saveConversation(conv);
    }
    updateCounter();
    // The chat stays open across pages on large screens; full screen on a phone would hide the page.
    if (launcher && conv.open && !small.matches) setOpen(true, false);
    else if (launcher && conv.open) { conv.open = false; saveConversation(conv); }
  }

  if (document.body) build();
  else document.addEventListener("DOMContentLoaded", build);
})();

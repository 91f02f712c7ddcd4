/*
 * The intranet search page: a direct answer card (POST api/ask) above the ranked
 * passages (POST api/search) with the query's words marked. Works as the target of a
 * plain form (`/?q=...`): the server puts q into the search box, this script runs it.
 * The empty page offers example questions (POST api/suggestions, derived from the store).
 * When the documents hold no answer, no passages are listed: the nearest ones would be
 * unrelated text under a "not in the documents" note.
 * All document and answer text is inserted as text nodes, never as HTML.
 */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const form = $("suche"), input = $("q"), status = $("status");
  const card = $("antwort"), cardBody = $("antwort-inhalt");
  const results = $("ergebnisse"), list = $("trefferliste");
  const examples = $("beispiele"), exampleList = $("beispielliste"), counter = $("q-zaehler");
  const maxChars = Number(input.getAttribute("maxlength")) || 1000;
  const TIMEOUT_MS = 30000;
  const EMPTY = "Bitte geben Sie einen Suchbegriff oder eine Frage ein.";

  // Words that carry no search meaning; they are not highlighted.
  const STOP = new Set((
    "der die das den dem des ein eine einer eines einem einen und oder aber wer wen wem was wie wo wann " +
    "warum welche welcher welches hat haben hatte ist sind war waren wird wurde wurden zu zum zur im in am " +
    "an auf aus bei für mit nach von vom vor über um es sie er ich wir ihr man sich nicht auch noch " +
    "the a an and or who whom what when where why which how is are was were did does do has have had of " +
    "to in on at for with by from about it this that"
  ).split(" "));

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
    node.append(...children.filter((c) => c != null));
    return node;
  }

  /** The query's meaningful words, lower-cased, without duplicates. */
  function queryTerms(query) {
    const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
    return [...new Set(words.filter((w) => w.length > 1 && !STOP.has(w)))];
  }

  /** `text` as nodes, each word that starts with a query term wrapped in <mark>. */
  function highlighted(text, terms) {
    if (!terms.length) return [text];
    const escaped = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join("|")})[\\p{L}\\p{N}]*`, "giu");
    const nodes = [];
    let last = 0;
    for (const m of text.matchAll(re)) {
      nodes.push(text.slice(last, m.index), el("mark", null, m[0]));
      last = m.index + m[0].length;
    }
    nodes.push(text.slice(last));
    return nodes;
  }

  function where(c) {
    return c.section ? `${c.title} – ${c.section}` : String(c.title);
  }

  /** The cited passage with its quoted sentence in <mark>. */
  function passageView(c) {
    const text = String(c.text);
    const a = Math.max(0, Math.min(text.length, c.quote_start - c.start));
    const b = Math.max(a, Math.min(text.length, c.quote_end - c.start));
    const quote = b > a
      ? el("blockquote", null, text.slice(0, a), el("mark", null, text.slice(a, b)), text.slice(b))
      : el("blockquote", null, text);
    return [el("p", { class: "doc" }, `Quelle [${c.ref}]: ${where(c)}`), quote];
  }

  /** Text as nodes, [n] markers turned into buttons by `cite` (which returns null for unknown refs). */
  function withMarkers(text, cite) {
    const nodes = [];
    String(text).split(/(\[\d+\])/).forEach((token) => {
      const m = token.match(/^\[(\d+)\]$/);
      const button = m ? cite(Number(m[1])) : null;
      if (button) nodes.push(button);
      else if (token) nodes.push(token);
    });
    return nodes;
  }

  /** The answer's parts: lead, quotes (German) and text as paragraphs, items as a list. */
  function partsView(parts, cite) {
    const out = [];
    let para = null, items = null;
    for (const part of parts) {
      const text = String(part.text || "");
      const nodes = part.role === "quote" ? [el("span", { lang: "de" }, ...withMarkers(text, cite))] : withMarkers(text, cite);
      if (Number.isInteger(part.ref) && !text.includes(`[${part.ref}]`)) {
        const button = cite(part.ref);
        if (button) nodes.push(" ", button);
      }
      if (part.role === "item") {
        para = null;
        if (!items) out.push(items = el("ul", { class: "items" }));
        items.append(el("li", null, ...nodes));
      } else if (part.role === "heading") { // an event's name over its part of the answer
        para = items = null;
        out.push(el("p", { class: "heading" }, el("strong", null, ...nodes)));
      } else {
        items = null;
        if (!para || part.role === "lead") out.push(para = el("p", { class: "answer" }));
        else para.append(" ");
        para.append(...nodes);
      }
    }
    return out;
  }

  /** Answer (from its parts when the service sends them) with clickable [n] markers, sources, one passage area. */
  function answerView(body) {
    const citations = Array.isArray(body.citations) ? body.citations : [];
    const byRef = new Map(citations.map((c) => [c.ref, c]));
    const box = el("div", { class: "passage", id: "zitat", hidden: "" });
    const buttons = [];
    let open = null;
    const toggle = (ref) => {
      open = open === ref ? null : ref;
      box.replaceChildren(...(open == null ? [] : passageView(byRef.get(ref))));
      box.hidden = open == null;
      for (const b of buttons) b.setAttribute("aria-expanded", String(Number(b.dataset.ref) === open));
    };
    const citeButton = (c, ...label) => {
      const b = el("button", { type: "button", class: "cite", "data-ref": c.ref, "aria-expanded": "false",
        "aria-controls": box.id, title: "Textstelle anzeigen" }, ...label);
      b.addEventListener("click", () => toggle(c.ref));
      buttons.push(b);
      return b;
    };
    const marker = (ref) => {
      const c = byRef.get(ref);
      return c ? citeButton(c, `[${c.ref}]`, el("span", { class: "vh" }, " Textstelle anzeigen")) : null;
    };
    const content = Array.isArray(body.parts) && body.parts.length
      ? partsView(body.parts, marker)
      : [el("p", { class: "answer" }, ...withMarkers(body.answer, marker))];
    if (body.language && body.language !== "de") for (const node of content) node.setAttribute("lang", body.language);
    if (!citations.length) return content;
    const sources = el("ul", { class: "sources", "aria-label": "Quellen" },
      ...citations.map((c) => el("li", null, citeButton(c, `[${c.ref}] ${where(c)}`))));
    return [...content, sources, box];
  }

  /** A friendly German sentence for a failed request. */
  async function problem(res) {
    let detail = "";
    try { detail = String((await res.json()).detail || ""); } catch (_) { /* not JSON */ }
    if (detail) console.info(`Tagungssuche: HTTP ${res.status}: ${detail}`);
    const wait = res.headers.get("Retry-After") || "10";
    if (res.status === 429) return `Gerade werden sehr viele Anfragen gestellt. Bitte versuchen Sie es in ${wait} Sekunden erneut.`;
    if (res.status === 503) return `Der Dienst wird gerade vorbereitet oder gewartet. Bitte versuchen Sie es in ${wait} Sekunden erneut.`;
    if (res.status === 413) {
      const limit = (detail.match(/limit is (\d+)/) || [])[1] || maxChars;
      return `Die Anfrage ist zu lang. Bitte kürzen Sie sie auf höchstens ${limit} Zeichen.`;
    }
    if (res.status === 422) return `Die Anfrage wurde nicht angenommen. ${EMPTY}`;
    if (res.status === 401 || res.status === 403) return "Die Suche ist für diesen Zugang nicht freigeschaltet. Bitte wenden Sie sich an Ihre IT.";
    if (res.status === 504) return "Die Antwort dauert ungewöhnlich lange. Bitte versuchen Sie es erneut.";
    return `Unerwarteter Fehler (HTTP ${res.status}). Bitte versuchen Sie es später erneut.`;
  }

  /** fetch JSON; resolve to {body} or {error}. Never throws. `fallback`: URL to GET if the service has no such POST route. */
  async function call(url, init, fallback) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    try {
      let res = await fetch(url, { ...init, signal: ctrl.signal });
      if (fallback && res.status === 405) res = await fetch(fallback, { signal: ctrl.signal });
      return res.ok ? { body: await res.json() } : { error: await problem(res) };
    } catch (err) {
      return { error: err && err.name === "AbortError"
        ? "Die Antwort dauert ungewöhnlich lange. Bitte versuchen Sie es erneut."
        : "Der Suchdienst ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut." };
    } finally {
      clearTimeout(timer);
    }
  }

  function showAnswer(result) {
    card.classList.remove("abstained", "error");
    if (result.error) {
      card.classList.add("error");
      cardBody.replaceChildren(el("p", null, result.error));
    } else if (result.body.abstained) {
      card.classList.add("abstained");
      cardBody.replaceChildren(el("p", { class: "label" }, "Nicht im Tagungsbericht"), el("p", null, result.body.answer));
    } else {
      cardBody.replaceChildren(...answerView(result.body));
    }
    card.removeAttribute("aria-busy");
  }

  function showHits(result, terms) {
    if (result.error) {
      list.replaceChildren(el("li", { class: "error" }, result.error));
    } else if (!result.body.results.length) {
      list.replaceChildren(el("li", null, "Keine passenden Passagen gefunden."));
    } else {
      list.replaceChildren(...result.body.results.map((r) => el("li", { class: "hit" },
        el("h3", null, where(r)),
        el("p", { lang: "de" }, ...highlighted(String(r.text), terms)))));
    }
    results.hidden = false;
    results.removeAttribute("aria-busy");
  }

  let generation = 0;

  /** Ask and search in parallel; passages are listed once the answer is known, and only if there is one. */
  async function run(query) {
    const mine = ++generation;
    const terms = queryTerms(query);
    document.title = `${query} – Tagungssuche`;
    status.textContent = "Suche läuft …";
    examples.hidden = true;
    input.removeAttribute("aria-invalid");
    card.hidden = false;
    card.setAttribute("aria-busy", "true");
    cardBody.replaceChildren(el("p", { class: "muted" }, "Die Antwort wird gesucht …"));
    results.hidden = true;
    results.setAttribute("aria-busy", "true");
    const json = (body) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const asked = call("api/ask", json({ question: query }))
      .then((r) => { if (mine === generation) showAnswer(r); return r; });
    // POST, not GET: browsers send Origin only on POST (and cross-origin) requests, and Origin is
    // what lets this page in without an API key (service/security.py). GET for an older service.
    const searched = call("api/search", json({ q: query }), `api/search?q=${encodeURIComponent(query)}`);
    const [a, s] = await Promise.all([asked, searched]);
    if (mine !== generation) return;
    if (a.body && a.body.abstained) {
      status.textContent = "Die Tagungsunterlagen enthalten dazu keine Antwort.";
      return;
    }
    showHits(s, terms);
    const hits = s.body ? s.body.results.length : 0;
    status.textContent = a.error && s.error ? "Die Suche ist fehlgeschlagen."
      : `${hits} ${hits === 1 ? "Passage" : "Passagen"} gefunden.`;
  }

  /** Put a query in the address (so Back works and the page can be bookmarked) and run it. */
  function search(query) {
    const url = new URL(location.href);
    url.searchParams.set("q", query);
    history.pushState({ q: query }, "", url);
    run(query);
  }

  /** Example questions for the empty page, from the store; none if the service has no such route. */
  async function loadExamples() {
    // POST: a browser sends Origin with it, which lets the page in when API keys are configured.
    const result = await call("api/suggestions", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ lang: "de", n: 4 }),
    }, "api/suggestions?lang=de");
    const questions = result.body && Array.isArray(result.body.suggestions)
      ? result.body.suggestions.filter((q) => typeof q === "string" && q.trim()).slice(0, 5) : [];
    exampleList.replaceChildren(...questions.map((q) => {
      const link = el("a", { href: `./?q=${encodeURIComponent(q)}` }, q);
      link.addEventListener("click", (e) => {
        e.preventDefault();
        input.value = q;
        search(q);
      });
      return el("li", null, link);
    }));
    examples.hidden = questions.length === 0 || !card.hidden; // not over a search already shown
  }

  /** "n von max Zeichen" once the query nears the field's limit. */
  function updateCounter() {
    const n = input.value.length;
    counter.textContent = n >= maxChars * 0.8 ? `Eingegeben: ${n} von ${maxChars}.` : "";
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const query = input.value.trim();
    if (!query) {
      input.setAttribute("aria-invalid", "true");
      status.textContent = EMPTY;
      input.focus();
      return;
    }
    search(query);
  });
  input.addEventListener("input", () => {
    updateCounter();
    if (input.getAttribute("aria-invalid") && input.value.trim()) {
      input.removeAttribute("aria-invalid");
      status.textContent = "";
    }
  });

  window.addEventListener("popstate", () => {
    const query = (new URL(location.href).searchParams.get("q") || "").trim();
    input.value = query;
    updateCounter();
    if (query) return run(query);
    generation++;
    card.hidden = results.hidden = true;
    examples.hidden = exampleList.children.length === 0;
    status.textContent = "";
  });

  const initial = input.value.trim();
  updateCounter();
  if (initial) run(initial);
  else input.focus();
  loadExamples();
})();

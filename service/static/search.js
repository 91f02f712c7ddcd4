/*
 * The intranet search page: a direct answer card (POST api/ask) above the ranked
 * passages (POST api/search) with the query's words marked. Works as the target of a
 * plain form (`/?q=...`): the server puts q into the search box, this script runs it.
 * All document and answer text is inserted as text nodes, never as HTML.
 */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const form = $("suche"), input = $("q"), status = $("status");
  const card = $("antwort"), cardBody = $("antwort-inhalt");
  const results = $("ergebnisse"), list = $("trefferliste");
  const TIMEOUT_MS = 30000;

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

  /** Answer text with clickable [n] markers, the source list and one passage area. */
  function answerView(body) {
    const byRef = new Map(body.citations.map((c) => [c.ref, c]));
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
    const text = el("p", { class: "answer" });
    String(body.answer).split(/\[(\d+)\]/).forEach((part, i) => {
      const c = i % 2 ? byRef.get(Number(part)) : null;
      if (c) text.append(citeButton(c, `[${c.ref}]`, el("span", { class: "vh" }, " Textstelle anzeigen")));
      else text.append(i % 2 ? `[${part}]` : part);
    });
    const sources = el("ul", { class: "sources", "aria-label": "Quellen" },
      ...body.citations.map((c) => el("li", null, citeButton(c, `[${c.ref}] ${where(c)}`))));
    return [text, sources, box];
  }

  /** A friendly sentence for a failed request; the server's detail for 413/422. */
  async function problem(res) {
    let detail = "";
    try { detail = String((await res.json()).detail || ""); } catch (_) { /* not JSON */ }
    const wait = res.headers.get("Retry-After") || "10";
    if (res.status === 429) return `Gerade werden sehr viele Anfragen gestellt. Bitte versuchen Sie es in ${wait} Sekunden erneut.`;
    if (res.status === 503) return `Der Dienst wird gerade vorbereitet oder gewartet. Bitte versuchen Sie es in ${wait} Sekunden erneut.`;
    if ((res.status === 413 || res.status === 422) && detail) return `Die Anfrage wurde nicht angenommen: ${detail}`;
    if (res.status === 401 || res.status === 403) return "Die Suche ist für diesen Zugang nicht freigeschaltet. Bitte wenden Sie sich an Ihre IT.";
    if (res.status === 504) return "Die Antwort dauert ungewöhnlich lange. Bitte versuchen Sie es erneut.";
    return `Unerwarteter Fehler (HTTP ${res.status}). Bitte versuchen Sie es später erneut.`;
  }

  /** fetch JSON; resolve to {body} or {error}. Never throws. */
  async function call(url, init) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    try {
      const res = await fetch(url, { ...init, signal: ctrl.signal });
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
        el("p", null, ...highlighted(String(r.text), terms)))));
    }
    results.hidden = false;
    results.removeAttribute("aria-busy");
  }

  let generation = 0;

  /** Ask and search in parallel; an older query's late answers are dropped. */
  async function run(query) {
    const mine = ++generation;
    const terms = queryTerms(query);
    document.title = `${query} – Tagungssuche`;
    status.textContent = "Suche läuft …";
    card.hidden = false;
    card.setAttribute("aria-busy", "true");
    cardBody.replaceChildren(el("p", { class: "muted" }, "Die Antwort wird gesucht …"));
    results.setAttribute("aria-busy", "true");
    const asked = call("api/ask", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ question: query }),
    }).then((r) => { if (mine === generation) showAnswer(r); return r; });
    // POST, not GET: browsers send Origin only on POST (and cross-origin) requests, and Origin is
    // what lets this page in without an API key (service/security.py).
    const searched = call("api/search", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ q: query }),
    })
      .then((r) => { if (mine === generation) showHits(r, terms); return r; });
    const [a, s] = await Promise.all([asked, searched]);
    if (mine !== generation) return;
    const hits = s.body ? s.body.results.length : 0;
    status.textContent = a.error && s.error ? "Die Suche ist fehlgeschlagen."
      : `${hits} ${hits === 1 ? "Passage" : "Passagen"} gefunden.`;
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const query = input.value.trim();
    if (!query) { input.focus(); return; }
    const url = new URL(location.href);
    url.searchParams.set("q", query);
    history.pushState({ q: query }, "", url);
    run(query);
  });

  window.addEventListener("popstate", () => {
    const query = (new URL(location.href).searchParams.get("q") || "").trim();
    input.value = query;
    if (query) return run(query);
    generation++;
    card.hidden = results.hidden = true;
    status.textContent = "";
  });

  const initial = input.value.trim();
  if (initial) run(initial);
  else input.focus();
})();

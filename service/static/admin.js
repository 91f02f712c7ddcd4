/*
 * The editors' page (/admin): documents in and out, ingest progress, feedback and the
 * questions the documents did not answer.
 *
 * The page holds no data itself. It asks for the admin key once and keeps it in this
 * tab's sessionStorage only (never localStorage, never a cookie), and sends it as
 * X-API-Key with every call to api/admin/*. A key the service refuses (401/403) is
 * forgotten and asked for again. All text from the service is inserted as text nodes,
 * never as HTML.
 */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const KEY_STORE = "tagungsbot:admin-key";
  const POLL_MS = 1000;
  const FEEDBACK_PAGE = 50;
  const TIMEOUT_MS = 60000;

  const status = $("status"), alertBox = $("meldung");
  const login = $("anmeldung"), loginForm = $("anmeldeformular"), keyInput = $("schluessel"), keyError = $("schluessel-fehler");
  const workspace = $("arbeitsbereich");

  // --- Small helpers -----------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null && v !== false) node.setAttribute(k, v === true ? "" : v);
    node.append(...children.filter((c) => c != null));
    return node;
  }

  const dateTime = new Intl.DateTimeFormat("de-DE", { dateStyle: "medium", timeStyle: "short" });
  const dateOnly = new Intl.DateTimeFormat("de-DE", { dateStyle: "medium" });

  /** An ISO timestamp as German date and time; the raw text when it is not one. */
  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : dateTime.format(d);
  }

  /** An ISO date (YYYY-MM-DD) as a German date; other text unchanged. */
  function day(text) {
    if (!text) return "";
    const m = String(text).match(/^(\d{4})-(\d{2})-(\d{2})$/);
    return m ? dateOnly.format(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : String(text);
  }

  function size(bytes) {
    if (!Number.isFinite(bytes)) return "–";
    if (bytes < 1024) return `${bytes} B`;
    const units = ["KB", "MB", "GB"];
    let value = bytes / 1024, i = 0;
    while (value >= 1024 && i < units.length - 1) { value /= 1024; i++; }
    return `${value.toLocaleString("de-DE", { maximumFractionDigits: 1 })} ${units[i]}`;
  }

  function showAlert(text) {
    alertBox.textContent = text || "";
    if (text) alertBox.scrollIntoView({ block: "nearest" });
  }

  // --- The admin key ---------------------------------------------------------------------

  function storedKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ""; } catch (_) { return ""; }
  }

  function storeKey(key) {
    try {
      if (key) sessionStorage.setItem(KEY_STORE, key);
      else sessionStorage.removeItem(KEY_STORE);
    } catch (_) { /* storage disabled: the key lives in this page only */ }
    memoryKey = key;
  }

  let memoryKey = storedKey();

  /** A refused key: forget it, show the login form with the reason. */
  class KeyRefused extends Error {}

  // --- Talking to the service --------------------------------------------------------------

  /** German sentence for a failed request, with the service's own detail (which says how to fix it). */
  function problem(res, detail) {
    const wait = res.headers.get("Retry-After") || "10";
    const extra = detail ? `\nHinweis des Dienstes: ${detail}` : "";
    if (res.status === 404) return `Diese Funktion steht auf dem Server nicht zur Verfügung (HTTP 404).${extra}`;
    if (res.status === 409) return `Die Anfrage steht im Konflikt mit dem Bestand (HTTP 409).${extra}`;
    if (res.status === 413) return `Die Datei ist zu groß oder es sind zu viele Dateien (HTTP 413).${extra}`;
    if (res.status === 415) return `Dieser Dateityp wird nicht angenommen (HTTP 415).${extra}`;
    if (res.status === 422) return `Die Angaben wurden nicht angenommen (HTTP 422).${extra}`;
    if (res.status === 429) return `Gerade kommen sehr viele Anfragen. Bitte versuchen Sie es in ${wait} Sekunden erneut.${extra}`;
    if (res.status === 503) return `Der Dienst ist gerade nicht bereit. Bitte versuchen Sie es in ${wait} Sekunden erneut.${extra}`;
    return `Unerwarteter Fehler (HTTP ${res.status}). Bitte versuchen Sie es später erneut.${extra}`;
  }

  /**
   * Call api/admin/... with the key. Resolves to {body, res} or {error}; throws KeyRefused
   * on 401/403 (handled by `guarded`). `raw`: resolve with the Response (for downloads).
   */
  async function api(path, init = {}, raw = false) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    let res;
    try {
      res = await fetch(`api/admin/${path}`, {
        ...init, signal: ctrl.signal, credentials: "omit", cache: "no-store",
        headers: { ...(init.headers || {}), "X-API-Key": memoryKey },
      });
    } catch (err) {
      clearTimeout(timer);
      return { error: err && err.name === "AbortError"
        ? "Der Dienst antwortet ungewöhnlich langsam. Bitte versuchen Sie es erneut."
        : "Der Dienst ist gerade nicht erreichbar. Bitte prüfen Sie die Verbindung und versuchen Sie es erneut." };
    }
    clearTimeout(timer);
    if (res.ok) {
      if (raw) return { res };
      try { return { body: res.status === 204 ? {} : await res.json(), res }; } catch (_) { return { body: {}, res }; }
    }
    let detail = "";
    try { detail = String((await res.json()).detail || ""); } catch (_) { /* not JSON */ }
    if (res.status === 401 || res.status === 403) throw new KeyRefused(detail || `HTTP ${res.status}`);
    return { error: problem(res, detail), status: res.status, res };
  }

  const json = (method, body) => ({ method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

  /** Run `fn`; a refused key logs out with the reason instead of failing silently. */
  async function guarded(fn) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KeyRefused) {
        logout(/admin operations are disabled/.test(err.message)
          ? "Die Redaktionsfunktionen sind auf diesem Server ausgeschaltet. Die IT schaltet sie mit der Einstellung " +
            "TAGUNGSBOT_ADMIN_KEYS ein und startet den Dienst neu."
          : `Der Admin-Schlüssel wurde nicht angenommen. Bitte prüfen Sie ihn und melden Sie sich erneut an. (${err.message})`);
        return undefined;
      }
      throw err;
    }
  }

  // --- Login and logout ----------------------------------------------------------------------

  function showLogin(message) {
    workspace.hidden = true;
    login.hidden = false;
    keyError.textContent = message || "";
    if (message) keyInput.setAttribute("aria-invalid", "true");
    else keyInput.removeAttribute("aria-invalid");
    keyInput.value = "";
    keyInput.focus();
  }

  function clearData() {
    for (const id of ["bestand-daten", "dokumentliste", "rueckmeldeliste", "fragegruppen"]) $(id).replaceChildren();
    for (const id of ["dokumente-status", "dokumente-anzahl", "rueckmeldungen-status", "unbeantwortet-status", "aufzeichnung"]) $(id).textContent = "";
    stopPolling();
    $("fortschritt").hidden = true;
  }

  function logout(message) {
    storeKey("");
    clearData();
    showAlert("");
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    status.textContent = message ? "" : "Sie sind abgemeldet. Der Schlüssel wurde aus diesem Tab entfernt.";
    showLogin(message);
  }

  async function enter() {
    const ok = await guarded(async () => {
      const stats = await api("stats");
      if (stats.error) {
        showLogin(stats.error);
        return false;
      }
      login.hidden = true;
      workspace.hidden = false;
      keyError.textContent = "";
      showStats(stats.body);
      return true;
    });
    if (!ok) return;
    status.textContent = "Sie sind angemeldet.";
    $("abmelden").focus();
    await Promise.all([loadDocuments(), loadFeedback(true), loadUnanswered(), followJob()]);
  }

  loginForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const key = keyInput.value.trim();
    if (!key) {
      keyError.textContent = "Bitte geben Sie den Admin-Schlüssel ein.";
      keyInput.setAttribute("aria-invalid", "true");
      keyInput.focus();
      return;
    }
    storeKey(key);
    keyInput.value = "";
    enter();
  });
  $("abmelden").addEventListener("click", () => logout());

  // --- Store -------------------------------------------------------------------------------------

  function showStats(stats) {
    const store = (stats && stats.store) || {};
    const rows = store.version
      ? [["Version", store.version], ["Erstellt", when(store.created_at)],
         ["Dokumente", String(store.documents ?? "–")], ["Abschnitte", String(store.chunks ?? "–")]]
      : [["Zustand", `Kein Bestand geladen. ${store.not_ready_reason || ""}`.trim()]];
    $("bestand-daten").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", null, k), el("dd", null, v)]));
  }

  async function loadStats() {
    const stats = await api("stats");
    if (stats.body) showStats(stats.body);
  }

  // --- Documents -----------------------------------------------------------------------------

  const docStatus = $("dokumente-status"), docCount = $("dokumente-anzahl"), docList = $("dokumentliste");
  let documents = [];

  function eventDates(d) {
    const a = day(d.start_date), b = day(d.end_date);
    return a && b && a !== b ? `${a} – ${b}` : a || b || "";
  }

  function documentRow(d) {
    const title = d.title || d.filename || d.id;
    const edit = el("button", { type: "button", class: "secondary small", "aria-label": `Angaben bearbeiten: ${title}` }, "Bearbeiten");
    const remove = el("button", { type: "button", class: "danger small", "aria-label": `Löschen: ${title}` }, "Löschen");
    edit.addEventListener("click", () => openMetadata(d, edit));
    remove.addEventListener("click", () => confirmDelete(d, remove));
    return el("tr", { "data-id": d.id },
      el("th", { scope: "row" }, title, el("span", { class: "file" }, d.filename || d.id),
        d.metadata_corrected ? el("span", { class: "corrected" }, "Angaben korrigiert") : null),
      el("td", null, d.event || ""),
      el("td", { class: "date" }, eventDates(d)),
      el("td", null, d.place || ""),
      el("td", null, String(d.type || "").toUpperCase()),
      el("td", { class: "num" }, size(d.size_bytes)),
      el("td", { class: "num" }, String(d.chunks ?? "")),
      el("td", { class: "date" }, when(d.added_at)),
      el("td", null, d.indexed ? "Ja" : el("span", { class: "no" }, "Nein")),
      el("td", { class: "actions" }, edit, remove));
  }

  async function loadDocuments() {
    const result = await guarded(() => api("documents"));
    if (!result) return;
    if (result.error) {
      docCount.textContent = "";
      docList.replaceChildren(el("tr", null, el("td", { colspan: "10" }, result.error)));
      return;
    }
    documents = Array.isArray(result.body.documents) ? result.body.documents : [];
    docList.replaceChildren(...(documents.length ? documents.map(documentRow)
      : [el("tr", null, el("td", { colspan: "10" }, "Es sind noch keine Dokumente im Bestand."))]));
    const n = documents.length;
    docCount.textContent = `${n} ${n === 1 ? "Dokument" : "Dokumente"} im Bestand.`;
  }

  // Upload: the file input (keyboard, screen readers) and, for mouse users, a drop zone around it.
  const uploadForm = $("hochladen"), fileInput = $("dateien"), dropzone = $("ablage");

  async function upload(files) {
    if (!files.length) {
      showAlert("Bitte wählen Sie zuerst eine oder mehrere Dateien aus.");
      fileInput.focus();
      return;
    }
    showAlert("");
    const data = new FormData();
    for (const file of files) data.append("files", file, file.name);
    const button = uploadForm.querySelector("button[type=submit]");
    button.disabled = true;
    docStatus.textContent = `${files.length === 1 ? "Die Datei wird" : `${files.length} Dateien werden`} hochgeladen …`;
    const result = await guarded(() => api("documents", { method: "POST", body: data }));
    button.disabled = false;
    if (!result) return;
    if (result.error) {
      docStatus.textContent = "";
      showAlert(`Die Dateien wurden nicht angenommen; der Bestand ist unverändert.\n${result.error}`);
      return;
    }
    uploadForm.reset();
    const names = (result.body.accepted || []).map((d) => d.filename || d.title || d.id);
    docStatus.textContent = `Angenommen: ${names.join(", ") || "keine Datei"}. Der Index wird aktualisiert.`;
    await loadDocuments();
    followJob(result.body.job);
  }

  uploadForm.addEventListener("submit", (e) => {
    e.preventDefault();
    upload([...fileInput.files]);
  });
  for (const type of ["dragenter", "dragover"]) {
    dropzone.addEventListener(type, (e) => {
      e.preventDefault();
      dropzone.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) dropzone.addEventListener(type, () => dropzone.classList.remove("over"));
  dropzone.addEventListener("drop", (e) => {
    e.preventDefault();
    const files = [...((e.dataTransfer && e.dataTransfer.files) || [])];
    if (files.length) upload(files);
  });

  // Delete, with a confirm step.
  const deleteDialog = $("loeschen-dialog");
  let deleting = null; // {doc, opener}

  function confirmDelete(doc, opener) {
    deleting = { doc, opener };
    $("loeschen-text").textContent = `„${doc.title || doc.filename || doc.id}“ (${doc.filename || doc.id}) wird aus dem ` +
      "Bestand entfernt; seine Antworten sind danach nicht mehr verfügbar.";
    deleteDialog.showModal();
    deleteDialog.querySelector("[data-close]").focus();
  }

  $("loeschen-formular").addEventListener("submit", async (e) => {
    e.preventDefault();
    const { doc } = deleting;
    deleteDialog.close();
    showAlert("");
    const result = await guarded(() => api(`documents/${encodeURIComponent(doc.id)}`, { method: "DELETE" }));
    if (!result) return;
    if (result.error) {
      showAlert(`Das Dokument wurde nicht gelöscht.\n${result.error}`);
      return;
    }
    docStatus.textContent = `„${doc.title || doc.id}“ wurde entfernt. Der Index wird aktualisiert.`;
    await loadDocuments();
    refocus(doc.id, "button.danger");
    followJob(result.body.job);
  });

  // Metadata corrections.
  const metaDialog = $("metadaten-dialog"), metaForm = $("metadaten-formular");
  const META_FIELDS = ["title", "event", "start_date", "end_date", "place", "organiser"];
  let editing = null;

  function openMetadata(doc, opener) {
    editing = { doc, opener };
    $("metadaten-datei").textContent = `Datei: ${doc.filename || doc.id}`;
    $("metadaten-fehler").textContent = "";
    for (const name of META_FIELDS) {
      const input = metaForm.elements[name];
      const value = doc[name] == null ? "" : String(doc[name]);
      // A date field takes only YYYY-MM-DD; anything else the document says is shown as text.
      if (input.dataset.kind === undefined) input.dataset.kind = input.type;
      input.type = input.dataset.kind === "date" && value && !/^\d{4}-\d{2}-\d{2}$/.test(value) ? "text" : input.dataset.kind;
      input.value = value;
      input.dataset.was = value;
    }
    metaDialog.showModal();
    metaForm.elements.title.focus();
  }

  metaForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const { doc } = editing;
    const changes = {};
    for (const name of META_FIELDS) {
      const input = metaForm.elements[name];
      const value = input.value.trim();
      if (value !== input.dataset.was) changes[name] = value || null; // empty: back to what the document says
    }
    if (!Object.keys(changes).length) {
      metaDialog.close();
      docStatus.textContent = "Keine Änderung.";
      return;
    }
    const result = await guarded(() => api(`documents/${encodeURIComponent(doc.id)}/metadata`, json("PUT", changes)));
    if (!result) return;
    if (result.error) {
      $("metadaten-fehler").textContent = result.error;
      return;
    }
    metaDialog.close();
    docStatus.textContent = `Die Angaben zu „${doc.title || doc.id}“ wurden gespeichert. Der Index wird aktualisiert.`;
    await loadDocuments();
    refocus(doc.id, "button.secondary");
    followJob(result.body.job);
  });

  // Cancel and Escape close a dialog; the browser puts focus back on the button that opened it.
  for (const dialog of [metaDialog, deleteDialog]) {
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  }

  /** After the table was redrawn: focus the same document's button again (or the heading if it is gone). */
  function refocus(id, selector) {
    const row = [...docList.querySelectorAll("tr[data-id]")].find((tr) => tr.dataset.id === id);
    const target = row && row.querySelector(selector);
    (target || $("dokumente-titel")).focus();
  }

  // Ingest progress: poll the re-index status about once a second while a job runs.
  const progressBox = $("fortschritt"), progressBar = $("fortschritt-balken"), progressText = $("fortschritt-text");
  const STAGES = { reading: "Dokumente werden gelesen", chunking: "Abschnitte werden gebildet",
    embedding: "Abschnitte werden eingebettet", writing: "Index wird geschrieben", swapping: "Neuer Index wird übernommen",
    loading: "Neuer Index wird geladen" };
  let pollTimer = 0, following = 0;

  function stopPolling() {
    clearTimeout(pollTimer);
    pollTimer = 0;
    following++;
  }

  function showProgress(job) {
    const p = job.progress;
    progressBox.hidden = false;
    const stage = p && p.stage ? (STAGES[p.stage] || p.stage) : "Der Index wird aktualisiert";
    if (p && p.total > 0) {
      progressBar.max = p.total;
      progressBar.value = Math.min(p.done, p.total);
      progressText.textContent = `${stage}: ${p.done} von ${p.total}`;
    } else {
      progressBar.removeAttribute("value"); // indeterminate until the job knows its size
      progressText.textContent = `${stage} …`;
    }
  }

  /**
   * Poll the latest job until it is no longer running and no follow-up is queued (a change made
   * while a job runs queues one: `pending`); then show the outcome and reload.
   */
  async function followJob(started) {
    stopPolling();
    const mine = following;
    const minId = started && Number.isInteger(started.id) ? started.id : 0;
    let seenRunning = false, queuedTicks = 0;
    const tick = async () => {
      if (mine !== following) return;
      const result = await guarded(() => api("reindex/status"));
      if (!result || mine !== following) return;
      if (result.error) {
        progressBox.hidden = true;
        showAlert(`Der Stand der Aktualisierung ist nicht abrufbar.\n${result.error}`);
        return;
      }
      const job = result.body;
      const current = job.id >= minId;
      // A queued follow-up starts as soon as the running job ends; if it does not, say so after a while.
      const queued = job.status !== "running" && job.pending === true && ++queuedTicks <= 20;
      if (job.status === "running" || queued || (!current && minId)) {
        seenRunning = seenRunning || job.status === "running";
        showProgress(job);
        pollTimer = setTimeout(tick, POLL_MS);
        return;
      }
      progressBox.hidden = true;
      if (job.status !== "running" && job.pending === true) {
        showAlert("Eine weitere Aktualisierung des Index ist angefordert, hat aber nicht begonnen. Bitte laden Sie " +
          "die Seite in einigen Minuten neu; bleibt es dabei, sieht die IT im Protokoll des Dienstes nach.");
        await loadDocuments();
        return;
      }
      if (!minId && !seenRunning) return; // nothing was running when the page opened
      if (job.status === "failed") {
        showAlert(`Die Aktualisierung des Index ist fehlgeschlagen; der bisherige Bestand bleibt in Betrieb.\n${job.error || ""}`.trim());
        docStatus.textContent = "";
      } else {
        docStatus.textContent = `Der Index ist aktuell (Version ${job.version || job.served_version || "–"}).`;
      }
      await Promise.all([loadDocuments(), loadStats()]);
    };
    await tick();
  }

  // --- Feedback ----------------------------------------------------------------------------

  const feedbackList = $("rueckmeldeliste"), feedbackStatus = $("rueckmeldungen-status"), feedbackMore = $("rueckmeldungen-mehr");
  const ratingFilter = $("bewertung");
  let feedbackShown = 0;

  function feedbackItem(f) {
    const up = f.rating === "up";
    return el("li", { class: up ? "up" : "down" },
      el("h3", null, el("span", { class: up ? "rating-up" : "rating-down" }, up ? "Hilfreich" : "Nicht hilfreich"),
        ` · ${when(f.created_at)}`),
      f.question ? el("p", null, el("strong", null, "Frage: "), f.question) : null,
      f.answer ? el("p", null, el("strong", null, "Antwort: "), f.answer) : null,
      f.comment ? el("p", { class: "comment" }, el("strong", null, "Kommentar: "), f.comment) : null,
      el("p", { class: "meta" }, `Bestand ${f.store_version || "–"} · Antwort ${f.answer_id || "–"}`));
  }

  async function loadFeedback(fresh) {
    if (fresh) feedbackShown = 0;
    const params = new URLSearchParams({ limit: String(FEEDBACK_PAGE), offset: String(feedbackShown) });
    if (ratingFilter.value) params.set("rating", ratingFilter.value);
    const result = await guarded(() => api(`feedback?${params}`));
    if (!result) return;
    if (result.error) {
      feedbackList.replaceChildren();
      feedbackMore.hidden = true;
      feedbackStatus.textContent = result.error;
      return;
    }
    const items = Array.isArray(result.body.items) ? result.body.items : [];
    const nodes = items.map(feedbackItem);
    if (fresh) feedbackList.replaceChildren(...nodes);
    else feedbackList.append(...nodes);
    feedbackShown += items.length;
    const total = Number(result.body.total) || 0;
    feedbackMore.hidden = feedbackShown >= total;
    const which = ratingFilter.value === "up" ? " hilfreiche" : ratingFilter.value === "down" ? " nicht hilfreiche" : "";
    feedbackStatus.textContent = total
      ? `${total}${which} ${total === 1 ? "Rückmeldung" : "Rückmeldungen"}${feedbackShown < total ? `, ${feedbackShown} angezeigt` : ""}.`
      : `Keine${which ? `${which}n` : ""} Rückmeldungen.`;
  }

  ratingFilter.addEventListener("change", () => loadFeedback(true));
  feedbackMore.addEventListener("click", () => loadFeedback(false));

  /** Fetch a CSV with the key and hand it to the browser as a download. */
  async function download(path, fallbackName, statusLine) {
    statusLine.textContent = "Die Datei wird erstellt …";
    const result = await guarded(() => api(path, {}, true));
    if (!result) return;
    if (result.error) {
      statusLine.textContent = "";
      showAlert(`Der Export ist fehlgeschlagen.\n${result.error}`);
      return;
    }
    const blob = await result.res.blob();
    const disposition = result.res.headers.get("Content-Disposition") || "";
    const named = disposition.match(/filename\*=UTF-8''([^;]+)/i) || disposition.match(/filename="?([^";]+)"?/i);
    const stamp = new Date().toISOString().slice(0, 10);
    const name = named ? decodeURIComponent(named[1]) : `${fallbackName}-${stamp}.csv`;
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    statusLine.textContent = `Die Datei „${name}“ wurde heruntergeladen.`;
  }

  $("rueckmeldungen-csv").addEventListener("click", () => {
    const query = ratingFilter.value ? `?rating=${ratingFilter.value}` : "";
    download(`feedback.csv${query}`, "rueckmeldungen", feedbackStatus);
  });

  // --- Unanswered questions --------------------------------------------------------------------

  const groupList = $("fragegruppen"), unansweredStatus = $("unbeantwortet-status");

  function groupItem(g) {
    const questions = Array.isArray(g.questions) ? g.questions : [];
    return el("li", null,
      el("h3", null, `${g.count} × ${g.label}`),
      el("p", { class: "meta" }, `Zuerst gefragt: ${when(g.first_seen)} · zuletzt: ${when(g.last_seen)}`),
      questions.length ? el("ul", { "aria-label": `Beispiele für „${g.label}“` }, ...questions.map((q) => el("li", null, q))) : null);
  }

  async function loadUnanswered() {
    const result = await guarded(() => api("unanswered"));
    if (!result) return;
    if (result.error) {
      groupList.replaceChildren();
      $("aufzeichnung").textContent = "";
      unansweredStatus.textContent = result.error;
      return;
    }
    const body = result.body;
    const days = Number(body.retention_days) || 0;
    $("aufzeichnung").textContent = body.recording
      ? `Die Aufzeichnung ist eingeschaltet. Fragen ohne Antwort werden ohne erkennbare personenbezogene Daten gespeichert und nach ${days} Tagen gelöscht.`
      : `Die Aufzeichnung ist ausgeschaltet (Grundeinstellung, denn Fragen können Daten von Kundinnen und Kunden enthalten). ` +
        `Die IT schaltet sie mit TAGUNGSBOT_RECORD_UNANSWERED=1 ein; gespeicherte Fragen werden nach ${days} Tagen gelöscht.`;
    const groups = Array.isArray(body.groups) ? body.groups : [];
    groupList.replaceChildren(...groups.map(groupItem));
    const total = Number(body.total) || 0;
    unansweredStatus.textContent = total
      ? `${total} ${total === 1 ? "unbeantwortete Frage" : "unbeantwortete Fragen"} in ${groups.length} ${groups.length === 1 ? "Gruppe" : "Gruppen"}.`
      : "Keine unbeantworteten Fragen gespeichert.";
  }

  $("unbeantwortet-csv").addEventListener("click", () => download("unanswered.csv", "unbeantwortete-fragen", unansweredStatus));

  // --- Start ---------------------------------------------------------------------------------

  if (memoryKey) enter();
  else showLogin("");
})();

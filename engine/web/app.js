// Simulateur Millésime : le formulaire est construit à partir des données que déclare le texte en
// vigueur à la date choisie (GET /rulesets/{id}) ; les résultats viennent de POST /options.
// Aucun calcul juridique ici : la page affiche ce que le moteur établit, avec ses explications.
"use strict";

const state = { timeline: [], details: {}, ruleset: null, shown: false };
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(
    attrs.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "svg" || v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c);
  }
  return node;
}

function todayIso() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function frenchDate(iso) {
  if (!iso) return "…";
  const [y, m, d] = iso.split("-");
  return `${d}/${m}/${y}`;
}

async function getJson(url, options) {
  const response = await fetch(url, options);
  let body = null;
  try { body = await response.json(); } catch (e) { body = { error: `réponse illisible (${response.status})` }; }
  return { ok: response.ok, status: response.status, body };
}

// ------------------------------------------------------------------ the form, from the ruleset

function rulesetOn(day) {
  return state.timeline.find((r) => (!r.effective_from || r.effective_from <= day) &&
    (!r.effective_until || day <= r.effective_until)) || null;
}

async function loadRuleset() {
  const day = $("#on").value;
  const row = day ? rulesetOn(day) : null;
  const texte = $("#texte");
  if (!row) {
    state.ruleset = null;
    texte.textContent = day ? `Aucun texte en vigueur le ${frenchDate(day)}.` : "Choisissez une date.";
    return;
  }
  texte.textContent = `Texte en vigueur : ${row.title} (du ${frenchDate(row.effective_from)} au ` +
    `${frenchDate(row.effective_until)}).`;
  if (state.ruleset && state.ruleset.id === row.id) return;
  if (!state.details[row.id]) {
    const r = await getJson(`/rulesets/${encodeURIComponent(row.id)}`);
    if (!r.ok) { texte.textContent = r.body.error; return; }
    state.details[row.id] = r.body;
  }
  state.ruleset = state.details[row.id];
  buildFields(state.ruleset);
}

function fieldId(path) { return "f-" + path.replace(/\./g, "-"); }

function currentValues() {
  const values = {};
  for (const input of document.querySelectorAll("#champs [data-path]")) {
    values[input.dataset.path] = input.type === "checkbox" ? input.checked : input.value;
  }
  return values;
}

function buildFields(detail) {
  const previous = currentValues();
  const box = $("#champs");
  box.replaceChildren();
  const fields = detail.inputs.filter((i) => /^physician\.[^.]+$/.test(i.path));
  for (const input of fields) box.append(fieldFor(input, detail, previous[input.path]));
}

function fieldFor(input, detail, previous) {
  const id = fieldId(input.path);
  const helpId = id + "-aide";
  const help = [];
  if (input.optional) help.push("facultatif");
  const common = { id, name: input.path, "data-path": input.path, "data-type": input.type,
    required: !input.optional, "aria-describedby": helpId };
  let control;
  let label = input.label;
  if (input.type === "bool") {
    control = el("input", { ...common, type: "checkbox", required: false });
    if (previous === true) control.checked = true;
    return el("div", { class: "field case" }, control,
      el("div", {}, el("label", { for: id, text: label }),
        el("p", { id: helpId, class: "aide", text: help.join(" · ") })));
  }
  if (input.enum) {
    control = el("select", common);
    if (input.optional) control.append(el("option", { value: "", text: "—" }));
    for (const m of detail.enums[input.enum].members) control.append(el("option", { value: m.name, text: m.label }));
  } else if (input.type === "int" && input.min !== undefined && input.max !== undefined &&
             Number(input.max) - Number(input.min) <= 4) {
    control = el("select", common);
    if (input.optional) control.append(el("option", { value: "", text: "—" }));
    for (let v = Number(input.min); v <= Number(input.max); v++) control.append(el("option", { value: String(v), text: String(v) }));
  } else if (["int", "decimal", "money", "percent"].includes(input.type)) {
    const percent = input.type === "percent";
    if (percent) label += " (%)";
    const scale = (v) => (v === undefined ? null : percent ? shift(v, 2) : v);
    control = el("input", { ...common, type: "number", inputmode: input.type === "int" ? "numeric" : "decimal",
      step: input.type === "int" ? "1" : "any", min: scale(input.min), max: scale(input.max) });
    if (input.min !== undefined && input.max !== undefined) help.push(`de ${scale(input.min)} à ${scale(input.max)}`);
    else if (input.min !== undefined) help.push(`au moins ${scale(input.min)}`);
  } else if (input.type === "date") {
    control = el("input", { ...common, type: "date" });
  } else {
    control = el("input", { ...common, type: "text" });
  }
  if (previous !== undefined && previous !== true && previous !== false) control.value = previous;
  return el("div", { class: "field" }, el("label", { for: id, text: label }), control,
    el("p", { id: helpId, class: "aide", text: help.join(" · ") }));
}

// Moves the decimal point of a decimal written in text by `places` (exact: no float arithmetic).
function shift(text, places) {
  let s = String(text).trim();
  const negative = s.startsWith("-");
  if (negative) s = s.slice(1);
  let [whole, frac = ""] = s.split(".");
  if (places > 0) {
    frac = frac.padEnd(places, "0");
    whole += frac.slice(0, places);
    frac = frac.slice(places);
  } else {
    const n = -places;
    whole = whole.padStart(n + 1, "0");
    frac = whole.slice(whole.length - n) + frac;
    whole = whole.slice(0, whole.length - n);
  }
  whole = whole.replace(/^0+(?=\d)/, "");
  frac = frac.replace(/0+$/, "");
  return (negative ? "-" : "") + whole + (frac ? "." + frac : "");
}

function collect() {
  const physician = {};
  for (const input of document.querySelectorAll("#champs [data-path]")) {
    const name = input.dataset.path.split(".").pop();
    const type = input.dataset.type;
    if (input.type === "checkbox") { physician[name] = input.checked; continue; }
    const raw = input.value.trim().replace(",", ".");
    if (raw === "") continue;
    if (type === "int") physician[name] = /^-?\d{1,15}$/.test(raw) ? Number(raw) : raw;
    else if (type === "percent") physician[name] = /^-?\d+(\.\d+)?$/.test(raw) ? shift(raw, -2) : raw;
    else physician[name] = raw;  // decimals travel as text: the server reads them exactly
  }
  return physician;
}

// ------------------------------------------------------------------ errors

function clearErrors() {
  const box = $("#erreurs");
  box.hidden = true;
  box.replaceChildren();
  for (const i of document.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
}

function showErrors(body) {
  const box = $("#erreurs");
  const list = el("ul");
  for (const problem of body.problems || []) {
    const path = problem.split(":")[0];
    const target = path === "on" ? $("#on") : document.getElementById(fieldId(path));
    let text = problem;
    if (target) {
      target.setAttribute("aria-invalid", "true");
      const label = document.querySelector(`label[for="${target.id}"]`);
      if (label) text = `${label.textContent} — ${problem.slice(path.length + 1).trim()}`;
      list.append(el("li", {}, el("a", { href: "#" + target.id, text })));
    } else {
      list.append(el("li", { text }));
    }
  }
  box.replaceChildren(el("p", { text: `Le calcul n'a pas pu être fait : ${body.error}` }), list);
  box.hidden = false;
  box.focus();
}

// ------------------------------------------------------------------ results

async function compute(event) {
  if (event) event.preventDefault();
  clearErrors();
  await loadRuleset();
  const statut = $("#statut");
  const section = $("#resultats");
  section.hidden = false;
  statut.textContent = "Calcul en cours…";
  const on = $("#on").value;
  const r = await getJson("/options", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ physician: collect(), on: on || undefined }),
  });
  if (!r.ok) {
    statut.textContent = "";
    $("#eligibilite").replaceChildren();
    $("#options").replaceChildren();
    section.hidden = true;
    showErrors(r.body);
    return;
  }
  render(r.body);
  state.shown = true;
  statut.textContent = `Résultats au ${frenchDate(r.body.date)}, selon « ${r.body.ruleset.title} ».`;
  section.focus();
}

function notEstablished(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) && "not_established" in value;
}

function figure(value, display) {
  if (notEstablished(value)) {
    return el("span", { class: "non-etabli" }, "non établi",
      el("span", { class: "raison", text: value.not_established }));
  }
  if (value === null) return el("span", { class: "aide", text: "sans objet" });
  return el("span", { class: "montant", text: display });
}

function render(data) {
  const elig = $("#eligibilite");
  const verdict = notEstablished(data.eligible)
    ? el("p", { class: "verdict ne", id: "verdict" }, "Éligibilité non établie : ",
      el("span", { text: data.eligible.not_established }))
    : el("p", { class: "verdict " + (data.eligible ? "oui" : "non"), id: "verdict",
      text: data.eligible ? "Éligible à l'aide." : "Non éligible à l'aide." });
  const parts = [el("h3", { text: "Éligibilité" }), verdict];
  if (Array.isArray(data.ineligibility_reasons) && data.ineligibility_reasons.length) {
    parts.push(el("p", { text: "Motifs :" }), el("ul", { class: "motifs", id: "motifs" },
      data.ineligibility_reasons.map((m) => el("li", { "data-requirement": m.requirement },
        el("span", { text: m.label }), m.source ? el("span", { class: "source raison", text: "Source : " + m.source }) : null))));
  }
  parts.push(why(data.why.eligible));
  elig.replaceChildren(...parts);

  const box = $("#options");
  if (notEstablished(data.options)) {
    box.replaceChildren(el("h3", { text: "Options" }),
      el("p", { class: "non-etabli" }, "Options non établies", el("span", { class: "raison", text: data.options.not_established })));
    return;
  }
  if (!data.options.length) {
    box.replaceChildren(el("h3", { text: "Options" }),
      el("p", { text: data.eligible === false ? "Aucune option : les conditions d'éligibilité ne sont pas remplies."
        : "Aucune option ouverte à cette date." }));
    return;
  }
  box.replaceChildren(el("h3", { text: "Options" }), optionsTable(data), charts(data));
}

function optionsTable(data) {
  const options = data.options;
  const years = Math.max(...options.map((o) => o.amounts.length));
  const head = el("tr", {}, el("td"), options.map((o) => el("th", { scope: "col", text: o.label })));
  const rows = [];
  for (let y = 0; y < years; y++) {
    rows.push(el("tr", {}, el("th", { scope: "row", text: `Année ${y + 1}` }),
      options.map((o) => el("td", { "data-option": o.option, "data-annee": String(y + 1) },
        figure(o.amounts[y], o.display.amounts[y]), why(o.why.amounts && o.why.amounts[y])))));
  }
  const extra = [["additional_patients_mt", "Patients médecin traitant à ajouter"],
                 ["additional_file_active", "Patients de file active à ajouter"]];
  for (const [key, title] of extra) {
    rows.push(el("tr", {}, el("th", { scope: "row", text: title }),
      options.map((o) => el("td", { "data-option": o.option, "data-figure": key },
        figure(o[key], o.display[key]), o[key] === null ? null : why(o.why[key])))));
  }
  return el("div", { class: "tableau" }, el("table", { id: "tableau-options" },
    el("caption", { text: `Aide maximale par année de contrat et objectifs, options ouvertes le ${frenchDate(data.date)}` }),
    el("thead", {}, head), el("tbody", {}, rows)));
}

// ------------------------------------------------------------------ "pourquoi ?"

function why(node) {
  if (!node) return null;
  return el("details", {}, el("summary", { text: "pourquoi ?" }), el("ul", { class: "arbre" }, whyNode(node)));
}

function whyNode(node) {
  const value = notEstablished(node.value) ? `non établi (${node.value.not_established})` : node.display;
  const li = el("li", {}, el("span", { text: `${node.label} = ` }), el("span", { class: "valeur", text: value }));
  if (node.see_above) { li.append(" (voir plus haut)"); return li; }
  if (node.note) li.append(el("span", { class: "note", text: "→ " + node.note }));
  if (node.expression) li.append(el("span", { class: "formule", text: "formule : " + node.expression }));
  for (const s of node.sources || []) {
    let text = s.instrument + (s.article ? `, art. ${s.article}` : "");
    const src = el("span", { class: "source raison" }, "Source : ",
      s.url ? el("a", { href: s.url, rel: "noopener noreferrer", text }) : text,
      s.quote ? ` : « ${s.quote} »` : "");
    li.append(src);
  }
  if (node.inputs && node.inputs.length) li.append(el("ul", {}, node.inputs.map(whyNode)));
  return li;
}

// ------------------------------------------------------------------ charts (inline SVG)

function charts(data) {
  const amounts = data.options.flatMap((o) => o.amounts.filter((a) => typeof a === "string").map(Number));
  const top = niceCeiling(Math.max(1, ...amounts));
  return el("div", { class: "graphes" }, data.options.map((o) => chart(o, top)));
}

function niceCeiling(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 4, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function shortEuros(text) {
  // "38000.00" → "38 k€"; the chart only sketches, the table gives the exact figures.
  const n = Number(text);
  return n >= 1000 ? `${(n / 1000).toLocaleString("fr-FR", { maximumFractionDigits: 1 })} k€` : `${n} €`;
}

function chart(option, top) {
  const W = 340, H = 200, left = 46, right = 8, topPad = 18, bottom = 28;
  const plotW = W - left - right, plotH = H - topPad - bottom;
  const n = option.amounts.length;
  const slot = plotW / n, barW = slot * 0.6;
  const titleId = `graphe-${option.option}-titre`, descId = `graphe-${option.option}-desc`;
  const desc = option.amounts.map((a, i) => `année ${i + 1} : ${notEstablished(a) ? "non établi" : option.display.amounts[i]}`).join(" ; ");
  const svg = el("svg", { svg: true, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${titleId} ${descId}` },
    el("title", { svg: true, id: titleId, text: `Aide maximale par année, ${option.label}` }),
    el("desc", { svg: true, id: descId, text: desc }));
  for (let t = 0; t <= 4; t++) {
    const v = (top * t) / 4, y = topPad + plotH - (plotH * t) / 4;
    svg.append(el("line", { svg: true, class: t ? "grille" : "axe", x1: left, x2: W - right, y1: y, y2: y }),
      el("text", { svg: true, class: "etiquette", x: left - 4, y: y + 3, "text-anchor": "end", text: shortEuros(v) }));
  }
  option.amounts.forEach((a, i) => {
    const x = left + slot * i + (slot - barW) / 2;
    if (notEstablished(a)) {
      svg.append(el("rect", { svg: true, class: "barre inconnue", x, y: topPad + plotH - 20, width: barW, height: 20 }),
        el("text", { svg: true, x: x + barW / 2, y: topPad + plotH - 24, "text-anchor": "middle", text: "?" }));
    } else {
      const h = (plotH * Number(a)) / top;
      svg.append(el("rect", { svg: true, class: "barre", x, y: topPad + plotH - h, width: barW, height: h }),
        el("text", { svg: true, x: x + barW / 2, y: topPad + plotH - h - 4, "text-anchor": "middle", text: shortEuros(a) }));
    }
    svg.append(el("text", { svg: true, class: "etiquette", x: x + barW / 2, y: H - bottom + 14, "text-anchor": "middle",
      text: `an ${i + 1}` }));
  });
  return el("figure", { "data-option": option.option }, el("figcaption", { text: option.label }), svg);
}

// ------------------------------------------------------------------ start

async function start() {
  const on = $("#on");
  const params = new URLSearchParams(location.search);
  on.value = params.get("on") || todayIso();
  const r = await getJson("/rulesets");
  state.timeline = r.ok ? r.body : [];
  await loadRuleset();
  on.addEventListener("change", async () => { await loadRuleset(); if (state.shown) compute(); });
  $("#simulateur").addEventListener("submit", compute);
  document.body.dataset.pret = "oui";  // for tests: the form is built
}

document.addEventListener("DOMContentLoaded", start);

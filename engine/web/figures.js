// Simulateur Millésime — ce que la page affiche d'un chiffre : sa valeur telle que le serveur l'a mise
// en forme (jamais de calcul en virgule flottante sur un montant), ce qu'on en sait quand il n'est pas
// établi et ce qui en décide, ce sur quoi il repose (sources secondaires, hypothèses), et son
// explication (« pourquoi ? »), chargée seulement quand on l'ouvre.
"use strict";

export const $ = (sel, root = document) => root.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(
    attrs.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "svg" || v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) node.append(c);
  }
  return node;
}

export function frenchDate(iso) {
  if (!iso) return "…";
  const [y, m, d] = iso.split("-");
  return `${d}/${m}/${y}`;
}

export async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = { error: `réponse illisible du serveur (${response.status})` }; }
  return { ok: response.ok, status: response.status, body: data };
}

export async function getJson(url) {
  const response = await fetch(url);
  let data = null;
  try { data = await response.json(); } catch (e) { data = { error: `réponse illisible du serveur (${response.status})` }; }
  return { ok: response.ok, status: response.status, body: data };
}

// ------------------------------------------------------------------ a figure

const GRADES = { secondary: "source secondaire", hypothesis: "hypothèse" };

// The grade a figure rests on, in a word: an hypothesis first, then a secondary source.
export function gradeOf(reliance) {
  if (!reliance || !reliance.length) return null;
  return reliance.some((r) => r.grade === "hypothesis") ? "hypothesis" : "secondary";
}

export function badge(reliance) {
  const grade = gradeOf(reliance);
  if (!grade) return null;
  const list = reliance.map((r) => `${r.name} : ${r.source}`).join("\n");
  return el("span", { class: `badge ${grade}`, title: `Repose sur :\n${list}`, "data-grade": grade,
    text: GRADES[grade] });
}

// A figure as the server gives it ({value, display, open?, depends?, reliance?}): its French display,
// what decides it when it is not established, and a badge when it rests on a secondary source.
export function figure(f, options = {}) {
  if (!f) return el("span", { class: "aide", text: "sans objet" });
  const parts = [];
  if (f.open) {
    parts.push(el("span", { class: "non-etabli" },
      el("span", { class: "connu", text: f.display }),
      el("span", { class: "raison", text: f.depends })));
  } else if (f.value === null || f.value === undefined) {
    // what the rules leave empty for now, said in words (« à déterminer »), or nothing to say
    const words = f.display && f.display !== "—" ? f.display : "sans objet";
    parts.push(el("span", { class: f.pending ? "a-determiner" : "aide", text: words }));
  } else {
    parts.push(el("span", { class: options.plain ? "valeur" : "montant", text: f.display }));
  }
  const b = badge(f.reliance);
  if (b) parts.push(b);
  return el("span", { class: "figure" }, parts);
}

// ------------------------------------------------------------------ « pourquoi ? »

// A « pourquoi ? » whose tree is fetched by `load` (a function returning a promise of a tree, or of
// {error}) the first time it is opened.
export function why(load, label) {
  const body = el("div", { class: "pourquoi-corps", "aria-live": "polite" });
  const details = el("details", { class: "pourquoi" },
    el("summary", { text: "pourquoi ?", "aria-label": label ? `pourquoi ? (${label})` : null }), body);
  let started = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || started) return;
    started = true;
    details.dataset.etat = "chargement";
    body.replaceChildren(el("p", { class: "aide", text: "Chargement de l'explication…" }));
    let tree;
    try { tree = await load(); } catch (e) { tree = { error: "le serveur n'a pas répondu" }; }
    if (!tree || tree.error) {
      body.replaceChildren(el("p", { class: "erreur", text: `Explication indisponible : ${tree ? tree.error : "—"}` }));
      started = false;
    } else {
      body.replaceChildren(el("ul", { class: "arbre" }, whyNode(tree)));
    }
    details.dataset.etat = "pret";
  });
  return details;
}

function whyNode(node) {
  const li = el("li", {}, el("span", { text: `${node.label} = ` }), el("span", { class: "valeur", text: node.display }));
  if (node.grade && GRADES[node.grade]) li.append(" ", el("span", { class: `badge ${node.grade}`, text: GRADES[node.grade] }));
  if (node.see_above) { li.append(" (voir plus haut)"); return li; }
  if (node.note) li.append(el("span", { class: "note", text: "→ " + node.note }));
  if (node.expression) li.append(el("span", { class: "formule", text: "formule : " + node.expression }));
  for (const s of node.sources || []) {
    const text = s.instrument + (s.article ? `, art. ${s.article}` : "");
    li.append(el("span", { class: "source raison" }, "Source : ",
      s.url ? el("a", { href: s.url, rel: "noopener noreferrer", text }) : text,
      s.quote ? ` : « ${s.quote} »` : ""));
  }
  if (node.inputs && node.inputs.length) li.append(el("ul", {}, node.inputs.map(whyNode)));
  return li;
}

// ------------------------------------------------------------------ numbers in text, exactly

// Moves the decimal point of a decimal written in text by `places` (exact: no float arithmetic).
export function shift(text, places) {
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

// Whole euros of a money string ("38000.00" → 38000), for drawing only: an integer, exact.
export function wholeEuros(text) {
  return parseInt(String(text).split(".")[0], 10);
}

// "38 000,00 €" → "38 000 €": a bar's label, from the server's own text.
export function shortDisplay(display) {
  return display.replace(/,00(?=\s*€)/, "");
}

// Simulateur Millésime — les résultats des deux parcours, tels que le serveur les établit : aucun calcul
// juridique ni monétaire ici (les totaux, les fourchettes et leur mise en forme viennent du serveur ;
// les barres des graphiques sont tracées en euros entiers, pour l'œil seulement).
"use strict";

import { el, figure, frenchDate, shortDisplay, wholeEuros, why } from "./figures.js";

// ------------------------------------------------------------------ eligibility

export function eligibility(eligible, reasons, whyEligible) {
  const value = eligible && typeof eligible === "object" && "value" in eligible ? eligible.value : eligible;
  let verdict;
  if (value !== null && typeof value === "object") {
    verdict = el("p", { class: "verdict ne", id: "verdict" }, "Éligibilité non établie : ",
      el("span", { text: value.not_established }));
  } else {
    verdict = el("p", { class: "verdict " + (value ? "oui" : "non"), id: "verdict",
      text: value ? "Éligible à l'aide." : "Non éligible à l'aide." });
  }
  const parts = [el("h3", { text: "Éligibilité" }), verdict];
  if (Array.isArray(reasons) && reasons.length) {
    parts.push(el("p", { text: "Motifs :" }), el("ul", { class: "motifs", id: "motifs" },
      reasons.map((m) => el("li", { "data-requirement": m.requirement }, el("span", { text: m.label }),
        m.source ? el("span", { class: "source raison", text: "Source : " + m.source }) : null))));
  }
  if (whyEligible) parts.push(whyEligible);
  return parts;
}

// ------------------------------------------------------------------ « Je compte signer »

export function plan(data, loadWhy) {
  const out = [];
  if (data.options !== null && typeof data.options === "object" && !Array.isArray(data.options)) {
    out.push(el("h3", { text: "Options" }), el("p", { class: "non-etabli" }, "Options non établies",
      el("span", { class: "raison", text: data.options.not_established })));
    return out;
  }
  if (!data.options.length) {
    out.push(el("h3", { text: "Options" }), el("p", {
      text: data.eligible === false ? "Aucune option : les conditions d'éligibilité ne sont pas remplies."
        : "Aucune option ouverte à cette date." }));
    return out;
  }
  out.push(el("h3", { text: "Options" }), optionsTable(data, loadWhy), charts(data.options));
  return out;
}

function optionsTable(data, loadWhy) {
  const options = data.options;
  const years = Math.max(...options.map((o) => o.amounts.length));
  const head = el("tr", {}, el("td"), options.map((o) => el("th", { scope: "col", text: o.label })));
  const rows = [];
  for (let y = 0; y < years; y++) {
    rows.push(el("tr", {}, el("th", { scope: "row", text: `Année ${y + 1}` }),
      options.map((o) => el("td", { "data-option": o.option, "data-annee": String(y + 1) },
        figure(o.figures.amounts[y]), why(() => loadWhy(o.option, "amounts", y), `${o.label}, année ${y + 1}`)))));
  }
  rows.push(el("tr", { class: "total" }, el("th", { scope: "row", text: "Total sur cinq ans" }),
    options.map((o) => el("td", { "data-option": o.option, "data-figure": "total" }, figure(o.figures.total)))));
  const extra = [["additional_patients_mt", "Patients médecin traitant à ajouter"],
                 ["additional_file_active", "Patients de file active à ajouter"]];
  for (const [key, title] of extra) {
    if (options.every((o) => !o.figures[key])) continue;
    rows.push(el("tr", {}, el("th", { scope: "row", text: title }),
      options.map((o) => el("td", { "data-option": o.option, "data-figure": key },
        figure(o.figures[key], { plain: true }), o.figures[key] ? why(() => loadWhy(o.option, key), `${o.label}, ${title}`) : null))));
  }
  return el("div", { class: "tableau" }, el("table", { id: "tableau-options" },
    el("caption", { text: `Aide maximale par année de contrat et objectifs, options ouvertes le ${frenchDate(data.date)}` }),
    el("thead", {}, head), el("tbody", {}, rows)));
}

// ------------------------------------------------------------------ « J'ai un contrat »

const STATUS = { running: "en cours", not_started: "pas encore en vigueur", ended: "arrivé à son terme" };

export function contract(data, loadWhy) {
  const out = [];
  const year = data.contract_year;
  const summary = [
    ["Contrat", `du ${frenchDate(data.contract_start)} au ${frenchDate(data.contract_end)} (${STATUS[data.status] || data.status})`],
    ["Année de contrat au " + frenchDate(data.date), data.status === "running" ? `${year}e année`.replace(/^1e/, "1re") : "—"],
    ["Texte qui régit le contrat", data.governing_ruleset ? data.governing_ruleset.title : "non établi"],
  ];
  out.push(el("h3", { text: "Votre contrat" }), el("dl", { class: "resume", id: "resume-contrat" },
    summary.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])));

  const current = [["annual_aid", "Aide maximale de l'année en cours"], ["aid_due", "Aide due pour l'année en cours"],
                   ["achievement_rate", "Taux d'atteinte des objectifs"]];
  out.push(el("h3", { text: "Cette année" }), el("table", { class: "figures", id: "annee-en-cours" },
    el("tbody", {}, current.map(([key, title]) => el("tr", { "data-figure": key },
      el("th", { scope: "row", text: title }),
      el("td", {}, figure(data.current[key], { plain: key === "achievement_rate" }),
        why(() => loadWhy(data.date, key), title)))))));

  const targets = [["target_patients_mt", "Objectif de patientèle médecin traitant"],
                   ["target_file_active", "Objectif de file active"],
                   ["additional_patients_mt", "Patients médecin traitant à ajouter"],
                   ["additional_file_active", "Patients de file active à ajouter"]];
  out.push(el("h3", { text: "Objectifs" }), el("table", { class: "figures", id: "objectifs" },
    el("tbody", {}, targets.filter(([key]) => data.targets[key] && data.targets[key].value !== null).map(([key, title]) =>
      el("tr", { "data-figure": key }, el("th", { scope: "row", text: title }),
        el("td", {}, figure(data.targets[key], { plain: true }), why(() => loadWhy(data.date, key), title)))))));

  if (data.readings && data.readings.length) out.push(readingsChoice(data.readings));
  out.push(el("h3", { text: "Année par année" }), yearsTable(data, loadWhy), chartOfYears(data));
  out.push(el("h3", { text: "Calendrier des versements" }), paymentsTable(data));
  out.push(el("p", { class: "totaux", id: "totaux" },
    el("span", {}, "Déjà versé au ", frenchDate(data.date), " : ", figure(data.paid), pendingNote(data.paid)),
    el("span", {}, "À venir : ", figure(data.to_come), pendingNote(data.to_come)),
    el("span", {}, "Total maximal sur cinq ans : ", figure(data.total))));
  if (data.next_anniversary) {
    const n = data.next_anniversary;
    out.push(el("section", { class: "anniversaire", id: "prochain-anniversaire", "aria-labelledby": "anniv-titre" },
      el("h3", { id: "anniv-titre", text: `À la prochaine date anniversaire (${frenchDate(n.date)})` }),
      el("ul", {}, n.changes.map((c) => el("li", { text: c })))));
  }
  return out;
}

// Where the texts read admit several readings of a rule, each figure that depends on it is a range
// (every reading at once); the physician may retain one: the page sends it back as a hypothesis
// (« lecture-choisie » → app.js), and the figures that rest on it say so in the printable summary.
function readingsChoice(readings) {
  return el("section", { class: "lectures", id: "lectures", "aria-labelledby": "lectures-titre" },
    el("h3", { id: "lectures-titre", text: "Lectures des textes" }),
    el("p", { text: "Les textes consultés admettent plusieurs lectures de ce qui suit : les chiffres qui en " +
      "dépendent sont donnés pour toutes à la fois (une fourchette). Vous pouvez en retenir une, comme hypothèse." }),
    readings.map((r) => {
      const id = `lecture-${r.name}`;
      const select = el("select", { id, "data-name": r.name },
        el("option", { value: "", text: "Toutes les lectures (fourchette)", selected: !r.chosen }),
        r.readings.map((x) => el("option", { value: x.name, text: x.label, selected: r.chosen === x.name })));
      select.addEventListener("change", () => document.dispatchEvent(
        new CustomEvent("lecture-choisie", { detail: { name: r.name, reading: select.value } })));
      return el("p", { class: "lecture" }, el("label", { for: id, text: r.label + " : " }), select);
    }));
}

function pendingNote(sum) {
  return sum.pending ? el("span", { class: "raison", text: `sans ${sum.pending} solde${sum.pending > 1 ? "s" : ""} à déterminer` }) : null;
}

function yearsTable(data, loadWhy) {
  const head = el("tr", {}, ["Année", "Début", "Barème appliqué", "Aide maximale", "Aide due", "Atteinte des objectifs"]
    .map((t) => el("th", { scope: "col", text: t })));
  const rows = data.years.map((y) => el("tr", { "data-annee": String(y.year), class: y.year === data.contract_year ? "courante" : null },
    el("th", { scope: "row", text: y.year === data.contract_year ? `${y.year} (en cours)` : String(y.year) }),
    el("td", { text: frenchDate(y.starts_on) }),
    el("td", { text: y.ruleset ? y.ruleset.title : "—" }),
    el("td", { "data-figure": "amount" }, figure(y.amount), why(() => loadWhy(y.starts_on, "annual_aid"), `année ${y.year}`)),
    el("td", { "data-figure": "due" }, figure(y.due)),
    el("td", { "data-figure": "achievement" }, figure(y.achievement_rate, { plain: true }))));
  return el("div", { class: "tableau" }, el("table", { id: "annees" },
    el("caption", { text: "Chaque année prend les montants du texte en vigueur à la date anniversaire qui l'ouvre" }),
    el("thead", {}, head), el("tbody", {}, rows),
    el("tfoot", {}, el("tr", {}, el("th", { scope: "row", colspan: "3", text: "Total sur cinq ans" }),
      el("td", { "data-figure": "total" }, figure(data.total)), el("td"), el("td")))));
}

function paymentsTable(data) {
  const head = el("tr", {}, ["Date", "Année", "Nature", "Montant", "Situation"].map((t) => el("th", { scope: "col", text: t })));
  const rows = data.payments.map((p) => el("tr", { "data-statut": p.status },
    el("td", { text: frenchDate(p.date) }), el("td", { text: String(p.year) }), el("td", { text: p.kind_label }),
    el("td", {}, figure(p.amount)),
    el("td", { text: p.status === "paid" ? "échu (versé selon les règles)" : "à venir" })));
  return el("div", { class: "tableau" }, el("table", { id: "versements" },
    el("caption", { text: `Versements prévus par les textes, situés par rapport au ${frenchDate(data.date)}` }),
    el("thead", {}, head), el("tbody", {}, rows)));
}

// ------------------------------------------------------------------ charts (inline SVG), for the eye only

function charts(options) {
  return el("div", { class: "graphes", "aria-hidden": null }, options.map((o) =>
    barChart(`Aide maximale par année, ${o.label}`, o.figures.amounts, `graphe-${o.option}`, { "data-option": o.option })));
}

function chartOfYears(data) {
  return el("div", { class: "graphes" }, barChart("Aide maximale par année du contrat", data.years.map((y) => y.amount),
    "graphe-contrat", {}));
}

function bounds(f) {
  // [low, high] in whole euros for drawing; null when nothing bounds the figure
  if (!f || f.value === null || f.value === undefined) return null;
  if (typeof f.value === "string") { const v = wholeEuros(f.value); return [v, v]; }
  const between = f.value.between;
  if (!between) return null;
  return [between[0] === null ? 0 : wholeEuros(between[0]), between[1] === null ? null : wholeEuros(between[1])];
}

function niceCeiling(v) {  // integers only: 4 × 10^k, 8 × 10^k, … so that quarters are whole euros
  let p = 1;
  while (p * 10 <= v) p *= 10;
  for (const m of [1, 2, 4, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frenchInteger(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
}

function barChart(title, figures, id, attrs) {
  const W = 340, H = 200, left = 50, right = 8, topPad = 18, bottom = 28;
  const plotW = W - left - right, plotH = H - topPad - bottom;
  const spans = figures.map(bounds);
  const top = niceCeiling(Math.max(4, ...spans.flatMap((s) => (s ? s.filter((x) => x !== null) : []))));
  const n = figures.length, slot = plotW / n, barW = slot * 0.6;
  const desc = figures.map((f, i) => `année ${i + 1} : ${f ? f.display : "sans objet"}`).join(" ; ");
  const svg = el("svg", { svg: true, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-titre ${id}-desc` },
    el("title", { svg: true, id: `${id}-titre`, text: title }), el("desc", { svg: true, id: `${id}-desc`, text: desc }));
  const y = (v) => topPad + plotH - (plotH * v) / top;
  for (let t = 0; t <= 4; t++) {
    const v = (top / 4) * t;  // top is a multiple of 4: whole euros
    svg.append(el("line", { svg: true, class: t ? "grille" : "axe", x1: left, x2: W - right, y1: y(v), y2: y(v) }),
      el("text", { svg: true, class: "etiquette", x: left - 4, y: y(v) + 3, "text-anchor": "end", text: `${frenchInteger(v)} €` }));
  }
  figures.forEach((f, i) => {
    const x = left + slot * i + (slot - barW) / 2;
    const s = spans[i];
    if (!s) {
      svg.append(el("rect", { svg: true, class: "barre inconnue", x, y: y(0) - 20, width: barW, height: 20 }),
        el("text", { svg: true, x: x + barW / 2, y: y(0) - 24, "text-anchor": "middle", text: "?" }));
    } else {
      const [lo, hi] = s;
      svg.append(el("rect", { svg: true, class: "barre", x, y: y(lo), width: barW, height: y(0) - y(lo) }));
      if (hi !== lo) {  // a range: the part that may be added, dashed
        const h = hi === null ? top : hi;
        svg.append(el("rect", { svg: true, class: "barre inconnue", x, y: y(h), width: barW, height: y(lo) - y(h) }));
      }
      svg.append(el("text", { svg: true, x: x + barW / 2, y: y(hi === null ? top : hi) - 4, "text-anchor": "middle",
        class: "valeur-barre", text: f.open ? "?" : shortDisplay(f.display) }));
    }
    svg.append(el("text", { svg: true, class: "etiquette", x: x + barW / 2, y: H - bottom + 14, "text-anchor": "middle",
      text: `an ${i + 1}` }));
  });
  return el("figure", attrs, el("figcaption", { text: title }), svg);
}

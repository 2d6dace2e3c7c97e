// Simulateur Millésime : deux parcours sur une page — « Je compte signer » (POST /options) et « J'ai un
// contrat » (POST /contract). Le formulaire est posé par les règles (POST /questions, form.js) ; les
// explications ne sont chargées que lorsqu'on ouvre « pourquoi ? » (POST /options avec explain, POST /why).
// Aucun calcul juridique ni monétaire ici : la page affiche ce que le moteur établit.
"use strict";

import { $, el, frenchDate, getJson, postJson, why } from "./figures.js";
import { caseFromForm, fieldId, form, labelOf, refreshQuestions } from "./form.js";
import { contract, eligibility, plan } from "./results.js";

const state = { journey: "signer", shown: false, computed: 0, whyOptions: null, request: null, references: {},
  readings: {} };

const JOURNEYS = {
  signer: { date: "Date de signature envisagée",
            help: "Les options, montants et objectifs sont ceux du texte en vigueur ce jour-là." },
  contrat: { date: "Date d'évaluation",
             help: "L'année de contrat, ce qui est déjà versé et ce qui reste à venir se lisent à cette date." },
};

function todayIso() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

const officialOnly = () => $("#officiel").checked;

// The readings the physician retained (« Lectures des textes »), as one hypothesis file for the server.
function assumed() {
  const picked = Object.entries(state.readings).filter(([, reading]) => reading);
  if (!picked.length) return [];
  return ['hypotheses "Lectures retenues sur la page du simulateur"\n' + picked.map(([name, reading]) =>
    `assume ${name} reading ${reading} because "lecture retenue par l'utilisateur de la page"\n`).join("")];
}

async function ask() {
  await refreshQuestions(state.journey, $("#on").value || undefined, officialOnly());
}

function setJourney(journey) {
  state.journey = journey;
  document.body.dataset.parcours = journey;
  $("#on-label").textContent = JOURNEYS[journey].date;
  $("#on-aide").textContent = JOURNEYS[journey].help;
  state.readings = {};
  clearResults();
}

// ------------------------------------------------------------------ errors

function clearErrors() {
  const box = $("#erreurs");
  box.hidden = true;
  box.replaceChildren();
  for (const i of document.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
}

// The server's problems, each at its field (a link to it); `fromQuestions`: found while the form was
// being filled, shown without taking the focus from the field being typed.
function showErrors(body, fromQuestions = false) {
  const box = $("#erreurs");
  const list = el("ul");
  for (const problem of body.problems || []) {
    const at = problem.indexOf(": ");
    let path = at > 0 ? problem.slice(0, at) : "";
    path = path.replace(/^case\./, "");
    const target = path === "on" ? $("#on") : document.getElementById(fieldId(path));
    const message = at > 0 ? problem.slice(at + 2) : problem;
    const label = path === "on" ? "Date" : labelOf(path);
    if (target) {
      target.setAttribute("aria-invalid", "true");
      list.append(el("li", {}, el("a", { href: "#" + target.id, text: `${label || path} — ${message}` })));
    } else {
      list.append(el("li", { text: label ? `${label} — ${message}` : problem }));
    }
  }
  box.replaceChildren(el("p", { text: fromQuestions ? "Donnée à corriger :" : `Le calcul n'a pas pu être fait : ${body.error}` }), list);
  box.hidden = false;
  if (!fromQuestions) box.focus();
}

// ------------------------------------------------------------------ results

function clearResults() {
  state.shown = false;
  $("#resultats").hidden = true;
  $("#eligibilite").replaceChildren();
  $("#details").replaceChildren();
  $("#impression").replaceChildren();
}

async function compute(event) {
  if (event) event.preventDefault();
  clearErrors();
  const section = $("#resultats");
  const statut = $("#statut");
  section.hidden = false;
  section.dataset.etat = "calcul";
  statut.textContent = "Calcul en cours…";
  const on = $("#on").value || undefined;
  const c = caseFromForm(state.journey);
  const common = { on, partial: true, official_only: officialOnly(), assume: assumed() };
  let r;
  if (state.journey === "signer") {
    state.request = { physician: c.physician, ...common };
    r = await postJson("/options", { ...state.request, explain: false });
  } else {
    state.request = { case: c, ...common };
    r = await postJson("/contract", state.request);
  }
  state.whyOptions = null;
  if (!r.ok) {
    statut.textContent = "";
    $("#eligibilite").replaceChildren();
    $("#details").replaceChildren();
    section.hidden = true;
    section.dataset.etat = "erreur";
    showErrors(r.body);
    return;
  }
  const data = r.body;
  if (state.journey === "signer") {
    $("#eligibilite").replaceChildren(...eligibility(data.figures.eligible, data.ineligibility_reasons,
      why(() => loadWhy(state.request.on, "eligible", { physician: state.request.physician }), "éligibilité")));
    $("#details").replaceChildren(...plan(data, loadOptionWhy));
  } else {
    if (data.contract_duration) form.contractYears = data.contract_duration;
    $("#eligibilite").replaceChildren(...eligibility(data.eligible, data.ineligibility_reasons,
      why(() => loadWhy(data.date, "eligible"), "éligibilité")));
    $("#details").replaceChildren(...contract(data, (day, output) => loadWhy(day, output)));
  }
  await printable(data);
  state.shown = true;
  state.computed += 1;
  statut.textContent = `Résultats au ${frenchDate(data.date)}, selon « ${data.ruleset.title} ».`;
  section.dataset.etat = "pret";
  section.dataset.calcul = String(state.computed);
  section.focus();
}

// « pourquoi ? » of a figure of /options: the whole answer with explanations, fetched once
async function loadOptionWhy(option, key, year) {
  if (!state.whyOptions) {
    state.whyOptions = postJson("/options", { ...state.request, explain: true });
  }
  const r = await state.whyOptions;
  if (!r.ok) { state.whyOptions = null; return { error: r.body.error }; }
  const offer = r.body.options.find((o) => o.option === option);
  if (!offer) return { error: "option introuvable" };
  return key === "amounts" ? offer.why.amounts[year] : offer.why[key];
}

// « pourquoi ? » of one output on one date (POST /why)
async function loadWhy(day, output, caseOverride) {
  const body = { case: caseOverride || state.request.case, on: day, output, partial: true,
    official_only: state.request.official_only, assume: state.request.assume };
  const r = await postJson("/why", body);
  return r.ok ? r.body.why : { error: r.body.error };
}

// ------------------------------------------------------------------ the printable summary

async function printable(data) {
  const box = $("#impression");
  const id = data.ruleset.id;
  if (!state.references[id]) {
    const r = await getJson(`/rulesets/${encodeURIComponent(id)}`);
    state.references[id] = r.ok ? r.body.references : [];
  }
  const given = [];
  for (const path of form.shown) {
    const input = form.inputs[path];
    if (input.fields || form.values[path] === undefined || form.values[path] === "") continue;
    let value = form.values[path];
    if (input.members) value = (input.members.find((m) => m.name === value) || {}).label || value;
    if (input.type === "date") value = frenchDate(value);
    given.push(el("li", { text: `${input.label} : ${value}` }));
  }
  const rests = new Map();
  const collect = (o) => {
    if (Array.isArray(o)) o.forEach(collect);
    else if (o && typeof o === "object") {
      if (Array.isArray(o.reliance)) for (const r of o.reliance) rests.set(`${r.name}|${r.source}`, r);
      Object.values(o).forEach(collect);
    }
  };
  collect(data);
  box.replaceChildren(
    el("h2", { text: "Résumé imprimable" }),
    el("p", { text: `Calcul au ${frenchDate(data.date)} selon « ${data.ruleset.title} » (${id}), empreinte ${data.fingerprint}` +
      (data.assumptions && data.assumptions.official_only ? " ; sources secondaires écartées" : "") + "." }),
    el("h3", { text: "Données saisies" }), el("ul", {}, given),
    el("h3", { text: "Chiffres reposant sur des sources secondaires ou des hypothèses" }),
    rests.size ? el("ul", {}, [...rests.values()].map((r) =>
      el("li", { text: `${r.name} (${r.grade === "hypothesis" ? "hypothèse" : "source secondaire"}) : ${r.source}` })))
      : el("p", { text: "Aucun : tous les chiffres reposent sur des sources officielles." }),
    el("h3", { text: "Sources du texte" }),
    el("ul", {}, (state.references[id] || []).map((r) => el("li", {}, r.title, r.url ? ` — ${r.url}` : ""))));
}

// ------------------------------------------------------------------ start

async function start() {
  const params = new URLSearchParams(location.search);
  const on = $("#on");
  on.value = params.get("on") || todayIso();
  const journey = params.get("parcours") === "contrat" ? "contrat" : "signer";
  for (const radio of document.querySelectorAll("input[name=parcours]")) {
    radio.checked = radio.value === journey;
    radio.addEventListener("change", async () => { setJourney(radio.value); await ask(); });
  }
  setJourney(journey);
  const again = async () => { await ask(); if (state.shown) await compute(); };
  on.addEventListener("change", again);
  $("#officiel").addEventListener("change", again);
  document.addEventListener("champ-modifie", () => { clearErrors(); ask(); });
  document.addEventListener("questions-erreur", (event) => showErrors(event.detail, true));
  document.addEventListener("lecture-choisie", async (event) => {
    state.readings[event.detail.name] = event.detail.reading;
    await compute();
    const again = document.getElementById(`lecture-${event.detail.name}`);  // the results are drawn anew
    if (again) again.focus();
  });
  $("#simulateur").addEventListener("submit", compute);
  $("#imprimer").addEventListener("click", () => window.print());
  await ask();
}

document.addEventListener("DOMContentLoaded", start);

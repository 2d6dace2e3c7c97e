// Simulateur Millésime — le formulaire, posé par les règles : à chaque réponse, la page demande au
// serveur (POST /questions) quelles données l'évaluation de ce cas, à cette date, lit encore, et
// n'affiche que celles-là, dans l'ordre où les règles les lisent. Un champ qui n'est plus lu disparaît
// (sa valeur est gardée, et revient avec lui) ; un champ facultatif n'est proposé que s'il peut changer
// un chiffre, ou s'il décrit le contrat.
"use strict";

import { $, el, frenchDate, postJson, shift } from "./figures.js";

export const form = {
  values: {},        // path → what was typed or chosen (text), kept when a field is hidden
  inputs: {},        // path → its description by /questions (label, type, bounds, members…)
  shown: [],         // the paths shown, in the rules' order
  seq: 0,            // questions asked so far; an answer to an older one is ignored
  ready: false,      // the last answer: no required input missing
  ruleset: null,     // the ruleset in force on the date, as /questions gives it
  contractYears: 5,  // rows of the observed-patients table (the contract's duration, once known)
};

const GROUPS = { physician: "#champs-medecin", contract: "#champs-contrat" };

export function fieldId(path) { return "f-" + path.replace(/\./g, "-"); }

// ------------------------------------------------------------------ the case the form describes

function typed(input, raw) {
  const text = String(raw).trim();
  if (text === "") return undefined;
  const type = input.type;
  if (type === "bool") return text === "oui" ? true : text === "non" ? false : text;
  if (type === "int") return /^-?\d{1,15}$/.test(text) ? Number(text) : text;
  const decimal = text.replace(",", ".").replace(/\s/g, "");
  if (type === "percent") return /^-?\d+(\.\d+)?$/.test(decimal) ? shift(decimal, -2) : text;
  if (["decimal", "money"].includes(type)) return decimal;  // decimals travel as text: read exactly
  return text;
}

function observedOf(input, complete) {
  const out = {};
  for (let year = 1; year <= form.contractYears; year++) {
    const record = {};
    for (const f of input.fields || []) {
      const raw = form.values[`${input.path}.${year}.${f.name}`];
      const value = raw === undefined ? undefined : typed({ type: f.type }, raw);
      if (value !== undefined) record[f.name] = value;
    }
    const filled = Object.keys(record).length;
    // while questions are asked, a row half typed is left out (the next answer will complete it); the
    // calculation sends it, and the server names the field missing
    if (filled && (!complete || filled === (input.fields || []).length)) out[String(year)] = record;
  }
  return Object.keys(out).length ? out : undefined;
}

// The case to send: the fields shown, with what they hold; `contract` present in the contract journey.
export function caseFromForm(journey, forQuestions = false) {
  const c = { physician: {} };
  if (journey === "contrat") c.contract = {};
  for (const path of form.shown) {
    const input = form.inputs[path];
    const [group, name] = path.split(".");
    if (!c[group]) continue;
    const value = input.fields ? observedOf(input, forQuestions) : form.values[path] === undefined ? undefined :
      typed(input, form.values[path]);
    if (value !== undefined) c[group][name] = value;
  }
  return c;
}

// ------------------------------------------------------------------ asking the rules

// Asks the rules what this case still needs on this date, then shows those fields. Resolves once the
// form matches the answer (tests wait on body[data-questions] and body[data-pret]).
export async function refreshQuestions(journey, on, officialOnly) {
  const seq = ++form.seq;
  document.body.dataset.pret = "non";
  const r = await postJson("/questions", { case: caseFromForm(journey, true), on, official_only: officialOnly });
  if (seq !== form.seq) return null;  // a later question was asked meanwhile: its answer prevails
  const texte = $("#texte");
  if (!r.ok) {
    form.ready = false;
    const problems = r.body.problems || [];
    if (!problems.length || problems.some((p) => p.startsWith("on:"))) {
      // no ruleset that day (or the server could not answer): said where the ruleset is named
      form.ruleset = null;
      texte.replaceChildren(el("span", { class: "erreur", role: "alert", text: r.body.error || "erreur du serveur" }));
      texte.dataset.etat = "erreur";
    } else {  // a value the rules cannot read: named at its field (the form stays as it was)
      document.dispatchEvent(new CustomEvent("questions-erreur", { detail: r.body }));
    }
  } else {
    const q = r.body;
    form.ready = q.ready;
    form.ruleset = q.ruleset;
    const span = q.ruleset.effective_until ? `du ${frenchDate(q.ruleset.effective_from)} au ${frenchDate(q.ruleset.effective_until)}`
      : `depuis le ${frenchDate(q.ruleset.effective_from)}`;
    texte.textContent = `Texte en vigueur le ${frenchDate(q.date)} : ${q.ruleset.title} (${span}).`;
    texte.dataset.etat = "pret";
    texte.dataset.ruleset = q.ruleset.id;
    showFields(q, journey);
    const left = q.missing.filter((m) => m.required).length;
    const stops = Object.values(q.errors || {});
    $("#reste").textContent = stops.length ? `Le calcul ne peut pas aboutir : ${stops[0]}.`
      : left ? `Encore ${left} donnée${left > 1 ? "s" : ""} obligatoire${left > 1 ? "s" : ""} à renseigner.`
      : "Toutes les données obligatoires sont renseignées.";
  }
  document.body.dataset.questions = String(seq);
  document.body.dataset.pret = "oui";
  return r;
}

function showFields(q, journey) {
  const asked = new Set(q.missing.map((m) => m.path));
  const wanted = [];
  for (const item of q.read) {
    const group = item.path.split(".")[0];
    if (group === "contract" && journey !== "contrat") continue;
    // the contract's own facts are all offered (copied from the contract); the physician's when the
    // rules need them, or already given
    if (group === "contract" || item.given || asked.has(item.path)) {
      form.inputs[item.path] = { ...item, asked: asked.has(item.path) };
      wanted.push(item.path);
    }
  }
  form.shown = wanted;
  for (const [group, sel] of Object.entries(GROUPS)) {
    const box = $(sel);
    const paths = wanted.filter((p) => p.startsWith(group + "."));
    const existing = new Map([...box.querySelectorAll(":scope > [data-field]")].map((n) => [n.dataset.field, n]));
    for (const [path, node] of existing) if (!paths.includes(path)) node.remove();
    // add the new fields where the rules put them; never move one already there (it may have the focus)
    let next = null;
    for (let i = paths.length - 1; i >= 0; i--) {
      const path = paths[i];
      let node = existing.get(path);
      if (node && node.isConnected) { updateField(node, form.inputs[path]); next = node; continue; }
      node = fieldFor(form.inputs[path]);
      box.insertBefore(node, next);
      next = node;
    }
    const empty = box.parentElement.querySelector(".vide");
    if (empty) empty.hidden = paths.length > 0;
  }
  $("#groupe-contrat").hidden = journey !== "contrat";
}

// ------------------------------------------------------------------ one field

function helpText(input) {
  const help = [input.required ? "obligatoire" : "facultatif"];
  const percent = input.type === "percent";
  const scale = (v) => (v === undefined ? undefined : percent ? shift(v, 2) : v);
  if (input.min !== undefined && input.max !== undefined) help.push(`de ${scale(input.min)} à ${scale(input.max)}`);
  else if (input.min !== undefined) help.push(`au moins ${scale(input.min)}`);
  if (!input.required && input.asked) help.push("peut préciser un chiffre non établi");
  return help.join(" · ");
}

function updateField(node, input) {
  const help = node.querySelector(".aide");
  if (help) help.textContent = helpText(input);
  node.classList.toggle("demande", Boolean(input.asked));
}

function remember(control, path) {
  control.addEventListener("change", () => {
    form.values[path] = control.value;
    control.removeAttribute("aria-invalid");
    document.dispatchEvent(new CustomEvent("champ-modifie", { detail: path }));
  });
}

function fieldFor(input) {
  if (input.fields) return observedTable(input);
  const id = fieldId(input.path);
  const helpId = id + "-aide";
  const common = { id, name: input.path, "data-path": input.path, "data-type": input.type,
    "aria-describedby": helpId, required: input.required };
  let control;
  let label = input.label;
  const previous = form.values[input.path];
  const none = input.required ? "— choisir —" : "— non renseigné —";
  if (input.members || input.type === "bool" ||
      (input.type === "int" && input.min !== undefined && input.max !== undefined &&
       Number(input.max) - Number(input.min) <= 4)) {
    control = el("select", common, el("option", { value: "", text: none }));
    const choices = input.members ? input.members.map((m) => [m.name, m.label])
      : input.type === "bool" ? [["oui", "Oui"], ["non", "Non"]]
      : Array.from({ length: Number(input.max) - Number(input.min) + 1 }, (_, i) => String(Number(input.min) + i))
        .map((v) => [v, v]);
    for (const [value, text] of choices) control.append(el("option", { value, text }));
  } else if (input.type === "date") {
    control = el("input", { ...common, type: "date" });
  } else {
    if (input.type === "percent") label += " (%)";
    control = el("input", { ...common, type: "text", inputmode: input.type === "int" ? "numeric" : "decimal",
      autocomplete: "off", spellcheck: "false" });
  }
  if (previous !== undefined) control.value = previous;
  remember(control, input.path);
  return el("div", { class: "field" + (input.asked ? " demande" : ""), "data-field": input.path },
    el("label", { for: id, text: label }), control, el("p", { id: helpId, class: "aide", text: helpText(input) }));
}

// The patients observed, by contract year: a row a year, a column a field (a map of records).
function observedTable(input) {
  const rows = [];
  for (let year = 1; year <= form.contractYears; year++) {
    rows.push(el("tr", {}, el("th", { scope: "row", text: `Année ${year}` }),
      input.fields.map((f) => {
        const path = `${input.path}.${year}.${f.name}`;
        const id = fieldId(path);
        const control = el("input", { id, type: "text", inputmode: "numeric", autocomplete: "off", "data-path": path,
          "aria-label": `${f.label}, année ${year}` });
        if (form.values[path] !== undefined) control.value = form.values[path];
        remember(control, path);
        return el("td", {}, control);
      })));
  }
  return el("div", { class: "field observe", "data-field": input.path },
    el("table", { class: "saisie" },
      el("caption", { text: `${input.label} (facultatif : sert à l'aide due quand les objectifs sont vérifiés)` }),
      el("thead", {}, el("tr", {}, el("td"), input.fields.map((f) => el("th", { scope: "col", text: f.label })))),
      el("tbody", {}, rows)));
}

// The label of a field, for messages: « Spécialité », « File active (…) — année 3 ».
export function labelOf(path) {
  const input = form.inputs[path];
  if (input) return input.label;
  const m = path.match(/^(contract\.observed)\.(\d+)\.(\w+)/);
  if (m && form.inputs[m[1]]) {
    const f = (form.inputs[m[1]].fields || []).find((x) => x.name === m[3]);
    return `${form.inputs[m[1]].label} — année ${m[2]}${f ? `, ${f.label}` : ""}`;
  }
  return null;
}

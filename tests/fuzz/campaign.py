"""A fuzzing campaign with a fresh seed, and the figures of docs/fiabilite.md (issue 16).

    make fuzz-campaign                                  # the same as the first line below
    .venv/bin/python tests/fuzz/campaign.py             # fresh seed, budgets × 10: run, record, render
    .venv/bin/python tests/fuzz/campaign.py --seed N    # replay the campaign of seed N
    .venv/bin/python tests/fuzz/campaign.py --render    # the page again, from tests/fuzz/campaign.json
    .venv/bin/python tests/fuzz/campaign.py --check     # exit 1 if the page is not what campaign.json says

A campaign runs tests/fuzz twice with pytest: in the CI regime (derandomized: the examples CI
replays every time) and in the campaign regime (MILLESIME_FUZZ_EXAMPLES=1000: ten times every
budget; MILLESIME_FUZZ_FRESH=1 with a fresh `--hypothesis-seed`: examples no earlier run tried).
Both report what they tried and what failed (tests/fuzz/conftest.py); tests/fuzz/campaign.json
keeps the two reports with the seed, and the section of docs/fiabilite.md between the
`campagne` markers is rewritten from that file — its figures are never written by hand
(tests/fuzz/test_campaign.py checks that the page says what the file says).

The exit status is 1 when the campaign found a failure. Each is printed with its falsifying
example and the seed that replays it. Turn each into a fixed example in
tests/fuzz/test_regressions.py (its expected outcome worked out by hand, failing before the
fix), fix it, replay the campaign with `--seed N`, then run a fresh one and commit the page
with tests/fuzz/campaign.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "tests" / "fuzz" / "campaign.json"
PAGE = ROOT / "docs" / "fiabilite.md"
BEGIN, END = "<!-- campagne: début -->", "<!-- campagne: fin -->"
SCALE = 1000  # MILLESIME_FUZZ_EXAMPLES of a campaign: each budget × 10

# (domain, what is tried, counter of tests/fuzz, counter of a detail shown in parentheses, its words)
ROWS = [
    ("Textes de règles", "accords abîmés (lecture)", "grammar: mutated agreements (parse)", None, None),
    ("", "accords abîmés (chargement, calcul, `millesime check`)",
     "grammar: mutated agreements (registry, evaluation, CLI)", None, None),
    ("", "soupe de mots-clés et de symboles", "grammar: token soup", None, None),
    ("", "texte Unicode arbitraire", "grammar: arbitrary Unicode", None, None),
    ("", "fichiers non UTF-8", "grammar: invalid UTF-8 files", None, None),
    ("Cas", "cas abîmés (`evaluate`)", "cases: mutated cases", None, None),
    ("", "dates antérieures au premier accord", "cases: dates before 2019-08-21", None, None),
    ("", "contrats signés avant le premier accord", "cases: contracts signed before 2019-08-21", None, None),
    ("", "fichiers de cas abîmés (`millesime eval`)", "cases: mutated case files through `millesime eval`",
     None, None),
    ("Propriétés", "aide ≤ montant de 1re année", "properties: aid ≤ year-1 amount",
     "properties: aid ≤ year-1 amount (amounts with cents)", "avec centimes"),
    ("", "inéligible → 0 € et un motif", "properties: ineligible → 0 € and a reason",
     "properties: ineligible → 0 € and a reason (ineligible cases)", "inéligibles"),
    ("", "aide due croissante avec l'atteinte", "properties: aid_due monotone in achievement", None, None),
    ("", "aide due proratisée au centime, calculée à la main", "properties: aid due prorated to the cent",
     "properties: aid due prorated to the cent (amounts with cents)", "avec centimes"),
    ("", "déterminisme", "properties: determinism", None, None),
    ("", "un accord ne remonte pas dans le temps", "properties: amendments never reach back", None, None),
    ("API", "requêtes schemathesis (spec OpenAPI, valides et invalides)", "api: schemathesis requests", None, None),
    ("", "cas valides (`/evaluate` = moteur, `/options`)", "api: valid cases (/evaluate, /options)", None, None),
    ("", "cas abîmés (`/evaluate`)", "api: mutated cases (/evaluate)", None, None),
    ("", "médecins abîmés (`/options`)", "api: mutated physicians (/options)", None, None),
    ("", "enveloppes de toute forme", "api: envelopes of any shape", None, None),
    ("", "JSON abîmé octet par octet", "api: broken JSON text", None, None),
    ("", "identifiants d'accord quelconques", "api: ruleset ids", None, None),
    ("Lots", "fichiers mêlant lignes valides et abîmées", "batch: files", None, None),
    ("", "fichiers abîmés octet par octet", "batch: damaged files", None, None),
    ("", "exécutions interrompues", "batch: interrupted runs", "batch: interrupted runs → stopped", "arrêtées"),
]


def n(value: int) -> str:
    """A count the French way: 28 894."""
    return f"{value:,}".replace(",", " ")


# ---------------------------------------------------------------- running

def run_pytest(env_extra: dict, args: list[str]) -> tuple[dict, int, float]:
    """One pytest run of tests/fuzz: (its report, exit status, seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = dict(os.environ, MILLESIME_FUZZ_REPORT=str(report), **env_extra)
        start = time.monotonic()
        status = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz",
                                  "--ignore=tests/fuzz/test_campaign.py", *args], cwd=ROOT, env=env)
        seconds = time.monotonic() - start
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {"tried": {}, "failures": []}
    return data, status, seconds


def campaign(seed: int) -> dict:
    print("CI regime (derandomized) …", flush=True)
    ci, ci_status, ci_seconds = run_pytest({}, [])
    print(f"campaign: seed {seed}, budgets × {SCALE // 100} …", flush=True)
    long, status, seconds = run_pytest({"MILLESIME_FUZZ_EXAMPLES": str(SCALE), "MILLESIME_FUZZ_FRESH": "1"},
                                       [f"--hypothesis-seed={seed}"])
    import hypothesis
    return {"date": dt.date.today().isoformat(), "seed": seed, "scale": SCALE,
            "python": sys.version.split()[0], "hypothesis": hypothesis.__version__,
            "ci": {"seconds": round(ci_seconds), "status": ci_status, **ci},
            "campaign": {"seconds": round(seconds), "status": status, **long}}


# ---------------------------------------------------------------- the page

def render(record: dict) -> str:
    """The campaign section of docs/fiabilite.md, from a campaign record."""
    ci, long = record["ci"]["tried"], record["campaign"]["tried"]
    scale = record["scale"] // 100
    out = [BEGIN,
           "<!-- Section écrite par tests/fuzz/campaign.py à partir de tests/fuzz/campaign.json : "
           "ne pas la modifier à la main. -->",
           "",
           f"Deux régimes. L'intégration continue rejoue à chaque fois les mêmes exemples (tirage "
           f"déterministe), en {n(record['ci']['seconds'])} s sur la machine de la campagne. Une "
           f"**campagne** (`make fuzz-campaign`, voir `tests/fuzz/campaign.py`) multiplie chaque budget "
           f"par {scale} et tire ses exemples d'une graine neuve : elle essaie ce qu'aucune exécution "
           f"n'a essayé, et la même graine les rejoue. Chaque défaillance qu'elle trouve devient un "
           f"exemple fixe de `tests/fuzz/test_regressions.py`, que la CI rejoue ensuite à chaque fois.",
           "",
           f"Dernière campagne : le {record['date']}, graine {record['seed']}, en {n(record['campaign']['seconds'])} s "
           f"(Python {record['python']}, Hypothesis {record['hypothesis']}). Les chiffres ci-dessous sont "
           f"ceux de ses deux exécutions, recopiés par le script.",
           "",
           "| Domaine | Ce qui est essayé | CI | Campagne |",
           "|---|---|---:|---:|"]
    shown, total_ci, total_long = set(), 0, 0
    for domain, label, key, detail, words in ROWS:
        shown.update({key, detail})
        out.append(f"| {domain} | {label} | {_count(ci, key, detail, words)} | {_count(long, key, detail, words)} |")
        total_ci, total_long = total_ci + ci.get(key, 0), total_long + long.get(key, 0)
    others = sorted(k for k in set(ci) | set(long) if k not in shown and "→" not in k)
    for key in others:  # a fuzzer this page does not name yet: shown under its own name
        out.append(f"| Autres | `{key}` | {n(ci.get(key, 0))} | {n(long.get(key, 0))} |")
        total_ci, total_long = total_ci + ci.get(key, 0), total_long + long.get(key, 0)
    out += [f"| **Total** | | **{n(total_ci)}** | **{n(total_long)}** |", ""]
    out += _outcomes(long)
    out += _failures(record)
    out.append(END)
    return "\n".join(out) + "\n"


def _count(tried: dict, key: str, detail: str | None, words: str | None) -> str:
    text = n(tried.get(key, 0))
    if detail is not None:
        text += f" ({n(tried.get(detail, 0))} {words})"
    return text


def _statuses(tried: dict, prefix: str) -> list[tuple[int, int]]:
    found = []
    for key, count in tried.items():
        m = re.fullmatch(re.escape(prefix) + r" → (\d{3})", key)
        if m:
            found.append((int(m.group(1)), count))
    return sorted(found)


def _outcomes(t: dict) -> list[str]:
    lines = []
    cases = t.get("cases: mutated cases", 0)
    if cases:
        lines.append(f"Sur les {n(cases)} cas abîmés de la campagne : "
                     f"{n(t.get('cases: mutated cases → invalid', 0))} refusés avec le champ nommé, "
                     f"{n(t.get('cases: mutated cases → no ruleset', 0))} sans texte en vigueur (dates avant 2019), "
                     f"{n(t.get('cases: mutated cases → out of range', 0))} chiffres hors de mesure refusés avec "
                     f"leur place, {n(t.get('cases: mutated cases → result', 0))} calculés.")
        lines.append("")
    api = _statuses(t, "api: schemathesis") + _statuses(t, "api: own bodies")
    if api:
        server_errors = sum(c for s, c in api if s >= 500)
        lines.append(
            f"Sur l'API, la campagne a envoyé {n(t.get('api: schemathesis requests', 0))} requêtes schemathesis ("
            + ", ".join(f"{n(c)} × {s}" for s, c in _statuses(t, "api: schemathesis"))
            + f") et {n(sum(c for _, c in _statuses(t, 'api: own bodies')))} corps à nous ("
            + ", ".join(f"{n(c)} × {s}" for s, c in _statuses(t, "api: own bodies")) + ") : "
            + ("**aucune réponse 5xx**." if not server_errors else f"**{n(server_errors)} réponses 5xx**."))
        lines.append("")
    if t.get("batch: files", 0):
        computed, failed = t.get("batch: rows → computed", 0), t.get("batch: rows → in error", 0)
        lines.append(
            f"Sur les lots : {n(computed + failed)} lignes, {n(computed)} calculées avec les valeurs du moteur "
            f"(dont {n(t.get('batch: rows → computed (aid with cents)', 0))} avec une aide due en centimes), "
            f"{n(failed)} signalées sous leur numéro ; sur {n(t.get('batch: damaged files', 0))} fichiers abîmés, "
            f"{n(t.get('batch: damaged files → computed', 0))} calculés et "
            f"{n(t.get('batch: damaged files → refused whole', 0))} refusés en entier ; "
            f"{n(t.get('batch: interrupted runs → stopped', 0))} exécutions arrêtées en cours de route, "
            f"toutes sans trace sur le disque.")
        lines.append("")
    return lines


def _failures(record: dict) -> list[str]:
    found = record["campaign"]["failures"]
    if not found and record["campaign"]["status"] == 0 and record["ci"]["status"] == 0:
        return ["**Aucune défaillance** : aucun cas perdu, aucune trace, aucun blocage.", ""]
    lines = [f"**{n(len(found))} défaillance(s)** (code de sortie de pytest : CI {record['ci']['status']}, "
             f"campagne {record['campaign']['status']}), à rejouer avec `--seed {record['seed']}` :", ""]
    lines += [f"- `{f['test']}`" for f in found]
    return lines + [""]


def write_page(record: dict) -> bool:
    """Rewrite the campaign section of the page; True if it changed."""
    text = PAGE.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END) + 1
    new = text[:start] + render(record) + text[end:]
    if new != text:
        PAGE.write_text(new, encoding="utf-8")
    return new != text


def page_is_current(record: dict) -> bool:
    text = PAGE.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END) + 1
    return text[start:end] == render(record)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="replay the campaign of this seed")
    parser.add_argument("--render", action="store_true", help="rewrite the page from tests/fuzz/campaign.json")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page differs from campaign.json")
    args = parser.parse_args(argv)
    if args.render or args.check:
        record = json.loads(RECORD.read_text(encoding="utf-8"))
        if args.check:
            current = page_is_current(record)
            print(f"{PAGE.relative_to(ROOT)}: " + ("up to date" if current else "not what campaign.json says"))
            return 0 if current else 1
        write_page(record)
        return 0
    seed = args.seed if args.seed is not None else secrets.randbelow(2 ** 32)
    record = campaign(seed)
    RECORD.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_page(record)
    print(f"wrote {RECORD.relative_to(ROOT)} and {PAGE.relative_to(ROOT)}")
    failures = record["campaign"]["failures"] + record["ci"]["failures"]
    for failure in failures:
        print(f"\nFAILED {failure['test']} (replay: tests/fuzz/campaign.py --seed {seed})\n{failure['example']}")
    if failures or record["campaign"]["status"] or record["ci"]["status"]:
        print(f"\n{len(failures)} failure(s): make each a fixed example in tests/fuzz/test_regressions.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

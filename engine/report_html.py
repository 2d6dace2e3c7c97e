"""The report page of `millesime compare`: one self-contained French HTML file with charts.

The charts are drawn by Apache ECharts (engine/charts/, inlined: the page works offline, from a
file or an e-mail). The exact figures are in the page's tables, as summary.json writes them; the
charts plot them as numbers. The data each chart draws is also in `window.MILLESIME_REPORT`,
which the browser test reads (tests/test_compare_report.py).
"""
from __future__ import annotations

import html
import json
from decimal import Decimal
from importlib import resources

from .values import display

ECHARTS = "echarts.common.min.js"
SIDE_LABELS = {"baseline": "Référence", "reform": "Réforme", "difference": "Écart"}


def _echarts() -> str:
    return resources.files("engine.charts").joinpath(ECHARTS).read_text(encoding="utf-8")


def euros(value) -> str:
    """A money string of the summary (or a figure not established) in French words and figures."""
    from dsl import types as T
    if value is None:
        return "—"
    if isinstance(value, dict):
        low, high = value["between"]
        if low is None and high is None:
            known = "montant non borné"
        elif low is None:
            known = f"au plus {euros(high)}"
        elif high is None:
            known = f"au moins {euros(low)}"
        else:
            known = f"entre {euros(low)} et {euros(high)}"
        rows = value["rows_not_established"]
        return (f"{known} (non établi pour {_count(rows)} ligne{'s' if rows > 1 else ''} ; "
                f"lignes établies : {euros(value['established_rows_sum'])})")
    return display(Decimal(value), T.MONEY)


def _number(value) -> float | None:
    """A figure for a chart: established → its amount; not established → the established rows' sum."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value["established_rows_sum"]
    return float(Decimal(value))  # drawn only: the exact figures are in the tables


def _count(n) -> str:
    return display(int(n)) if isinstance(n, int) else display(Decimal(n))


def chart_data(summary: dict) -> dict:
    years = list(summary["by_year"])
    data = {
        "years": years,
        "baseline": [_number(summary["by_year"][y]["baseline"]) for y in years],
        "reform": [_number(summary["by_year"][y]["reform"]) for y in years],
        "distribution": {"labels": [_bin_label(b) for b in summary.get("distribution", [])],
                         "rows": [float(Decimal(b["rows"])) for b in summary.get("distribution", [])]},
    }
    groups = summary.get("groups") or {}
    data["groups"] = {"labels": list(groups), "difference": [_number(g["total"]["difference"]) for g in groups.values()]}
    return data


def _bin_label(b: dict) -> str:
    if b["from"] == b["to"]:
        return "aucun écart"
    return f"{_short(b['from'])} à {_short(b['to'])}"


def _short(value: str) -> str:
    from dsl import types as T
    return display(Decimal(value), T.MONEY).replace(",00 €", " €")


def render(summary: dict) -> str:
    e = html.escape
    reform = summary.get("reform", {})
    baseline = summary.get("baseline", {})
    reform_titles = [r["title"] for r in reform.get("timeline", []) if r["id"] in reform.get("reforms", [])]
    base_titles = [r["title"] for r in baseline.get("timeline", []) if r["id"] in baseline.get("reforms", [])]
    period = summary["period"]
    when = (f"versements des années {period['years'][0]} à {period['years'][1]}" if "years" in period
            else f"versements connus au {period['on'][8:10]}/{period['on'][5:7]}/{period['on'][:4]}, par année")
    weighted = summary.get("weight")
    rows = [f"<tr><th scope=\"row\">{e(y)}</th>" + "".join(f"<td>{e(euros(f[s]))}</td>" for s in SIDE_LABELS)
            + "</tr>" for y, f in summary["by_year"].items()]
    total = summary["total"]
    rows.append("<tr class=\"total\"><th scope=\"row\">Total</th>"
                + "".join(f"<td>{e(euros(total[s]))}</td>" for s in SIDE_LABELS) + "</tr>")
    counts = [("Gagnants (total en hausse)", summary["winners"]), ("Perdants (total en baisse)", summary["losers"]),
              ("Inchangés", summary["unchanged"]), ("Indéterminés (montants non établis)", summary["undetermined"]),
              ("Nouvellement éligibles", summary["newly_eligible"]), ("Devenus inéligibles", summary["no_longer_eligible"]),
              ("Lignes en erreur (non comptées)", summary["errors"])]
    count_rows = "".join(f"<tr><th scope=\"row\">{e(label)}</th><td>{e(_count(n))}</td></tr>" for label, n in counts)
    groups = summary.get("groups") or {}
    group_rows = "".join(
        f"<tr><th scope=\"row\">{e(name)}</th><td>{e(_count(g['rows']))}</td>"
        + "".join(f"<td>{e(euros(g['total'][s]))}</td>" for s in SIDE_LABELS)
        + f"<td>{e(_count(g['winners']))}</td><td>{e(_count(g['losers']))}</td></tr>" for name, g in groups.items())
    data = json.dumps(chart_data(summary), ensure_ascii=False).replace("</", "<\\/")
    group_section = "" if not groups else f"""
<h2>Par groupe ({e(", ".join(summary.get("by", [])))})</h2>
<div id="chart-groups" class="chart" role="img" aria-label="Écart total par groupe"></div>
<table><thead><tr><th scope="col">Groupe</th><th scope="col">Lignes</th><th scope="col">Référence</th>
<th scope="col">Réforme</th><th scope="col">Écart</th><th scope="col">Gagnants</th><th scope="col">Perdants</th></tr></thead>
<tbody>{group_rows}</tbody></table>"""
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coût de la réforme — Millésime</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1b1b1b; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .3rem .8rem; text-align: right; }}
th[scope=row], thead th:first-child {{ text-align: left; }}
tr.total {{ font-weight: bold; }}
.chart {{ width: 100%; height: 360px; }}
.note {{ color: #555; font-size: .9rem; }}
</style>
</head>
<body>
<h1>Coût de la réforme</h1>
<p>Réforme : <strong>{e(" ; ".join(reform_titles) or "—")}</strong>.
Référence : {e(" ; ".join(base_titles) or "les textes en vigueur")}. Période : {e(when)}.
{e(_count(summary["rows"]))} ligne{"s" if summary["rows"] > 1 else ""}{e(f", pondérées par la colonne « {weighted} »") if weighted else ""}.</p>

<h2>Coût par année</h2>
<div id="chart-years" class="chart" role="img" aria-label="Coût par année, référence et réforme"></div>
<table><thead><tr><th scope="col">Année</th><th scope="col">Référence</th><th scope="col">Réforme</th>
<th scope="col">Écart</th></tr></thead><tbody>{"".join(rows)}</tbody></table>
<p class="note">Le chiffre d'une année est la somme des versements datés de cette année. Un montant non
établi est donné par ses bornes ; le graphique ne porte que la somme des lignes dont le montant est établi.
Les versements sans montant (le solde d'une année dont la patientèle n'est pas encore observée) ne sont pas
comptés :
{e(_count(summary["payments_without_amount"]["baseline"]))} pour la référence,
{e(_count(summary["payments_without_amount"]["reform"]))} pour la réforme.</p>

<h2>Gagnants et perdants</h2>
<table><tbody>{count_rows}</tbody></table>
<div id="chart-distribution" class="chart" role="img" aria-label="Répartition des écarts sur la période"></div>
<p class="note">Répartition des écarts totaux sur la période, ligne par ligne{", pondérée" if weighted else ""}
(lignes dont l'écart est établi).</p>
{group_section}
<script>{_echarts()}</script>
<script>
window.MILLESIME_REPORT = {data};
(function () {{
  var d = window.MILLESIME_REPORT;
  var count = function (v) {{ return v.toLocaleString('fr-FR'); }};
  var euro = function (v) {{ return v.toLocaleString('fr-FR', {{ style: 'currency', currency: 'EUR', maximumFractionDigits: 0 }}); }};
  var draw = function (id, option) {{
    var el = document.getElementById(id);
    if (!el) return;
    var chart = echarts.init(el, null, {{ renderer: 'svg' }});
    option.animation = false;
    chart.setOption(option);
    window.addEventListener('resize', function () {{ chart.resize(); }});
  }};
  draw('chart-years', {{
    tooltip: {{ trigger: 'axis', valueFormatter: euro }}, legend: {{ data: ['Référence', 'Réforme'] }},
    xAxis: {{ type: 'category', data: d.years }}, yAxis: {{ type: 'value', axisLabel: {{ formatter: euro }} }},
    series: [{{ name: 'Référence', type: 'bar', data: d.baseline }}, {{ name: 'Réforme', type: 'bar', data: d.reform }}]
  }});
  draw('chart-distribution', {{
    tooltip: {{ trigger: 'axis' }}, xAxis: {{ type: 'category', data: d.distribution.labels, axisLabel: {{ rotate: 30 }} }},
    yAxis: {{ type: 'value', name: 'lignes', axisLabel: {{ formatter: count }} }},
    series: [{{ name: 'Lignes', type: 'bar', data: d.distribution.rows }}]
  }});
  draw('chart-groups', {{
    tooltip: {{ trigger: 'axis', valueFormatter: euro }},
    xAxis: {{ type: 'category', data: d.groups.labels, axisLabel: {{ rotate: 30, interval: 0 }} }},
    grid: {{ bottom: 120 }},
    yAxis: {{ type: 'value', axisLabel: {{ formatter: euro }} }},
    series: [{{ name: 'Écart', type: 'bar', data: d.groups.difference }}]
  }});
  document.body.setAttribute('data-charts', 'ready');
}})();
</script>
</body>
</html>
"""

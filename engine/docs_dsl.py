"""dsl.md: the rules language for analysts, each construction shown with the first place a
shipped ruleset uses it."""
from __future__ import annotations

from pathlib import Path

from dsl import ast
from dsl.names import FUNCTIONS
from dsl.walk import walk

from .docs_text import BANNER, contains, decl_exprs, decl_text, inline_code, md, table


# -- the language
def page(site) -> str:
    """dsl.md: the rules language for analysts, each construction with an example from the shipped rulesets."""
    files = []
    for m in site.timeline:
        if m.file not in files:
            files.append(m.file)
    out = [BANNER, "# Le langage des règles (DSL)\n\n", _DSL_INTRO]
    for title, text, finder in _DSL_SECTIONS:
        out.append(f"\n## {title}\n\n{text}\n")
        found = _find_example(files, finder)
        if found is not None:
            f, loc = found
            out.append(f"\nDans `{Path(f.path).name}` (ligne {loc.line}) :\n\n```text\n"
                       f"{_header_text(f) if loc is f.header.loc else decl_text(f, loc)}\n```\n")
        elif finder != "prose":
            out.append("\n*Aucun des textes livrés n'utilise encore cette construction.*\n")
    out.append("\n## Fonctions\n\n")
    rows = []
    for name in sorted(FUNCTIONS):
        words = _FUNCTION_DOC.get(name, "")
        rows.append([inline_code(name + "(…)"), md(words)])
    out.append(table(["Fonction", "Ce qu'elle donne"], rows))
    out.append(_DSL_OPERATORS)
    return "".join(out)


def _find_example(files: list[ast.RulesetFile], finder):
    for f in files:
        if finder == "prose":
            return None
        if finder == "header":
            return f, f.header.loc
        if finder == "reference":
            if f.references:
                return f, f.references[0].loc
            continue
        for decl in f.declarations:
            if finder(decl):
                return f, decl.loc
    return None


def _unknown_with_bounds(d) -> bool:
    if isinstance(d, ast.ParameterDecl) and isinstance(d.value, ast.Unknown):
        return True
    return isinstance(d, ast.TableDecl) and any(c.kind == "unknown" and (c.expr.low is not None or c.expr.high is not None)
                                                 for row in d.cells for c in row)


def _bounds_clause(d) -> bool:
    if isinstance(d, ast.ParameterDecl):
        return bool(d.bounds)
    return isinstance(d, ast.TableDecl) and any(c.bounds for c in d.cell_clauses)


def _header_text(f: ast.RulesetFile) -> str:
    starts = [d.loc.line for d in f.declarations] + [r.loc.line for r in f.references]
    end = min(starts) - 1 if starts else len(f.text.split("\n"))
    lines = f.text.split("\n")[f.header.loc.line - 1:end]
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    return "\n".join(lines)


def _has_expr(cls):
    return lambda d: any(contains(e, cls) for e in decl_exprs(d))


def _has_call(names):
    return lambda d: any(isinstance(x, ast.Call) and x.function in names for e in decl_exprs(d) for x in walk(e))


_DSL_INTRO = (
    "Chaque texte (accord, avenant, règlement) est un fichier `.mil` du dossier `rulesets/`. Un fichier "
    "commence par un en-tête (identité, dates, texte modifié) suivi de déclarations. Une déclaration commence par "
    "un mot-clé (`input`, `parameter`, `table`, `rule`, `condition`, …) et va jusqu'au mot-clé suivant : "
    "la mise en page sert au lecteur, pas à la machine. Les commentaires commencent par `#`.\n\n"
    "Toutes les déclarations qui comptent (règles, barèmes, paramètres, exigences) citent leur source juridique : "
    "`source REF article \"…\" quote \"…\"`. `millesime check` refuse une règle sans source.\n\n"
    "Les exemples ci-dessous sont tirés des textes livrés.\n")

_DSL_SECTIONS = [
    ("En-tête", "`ruleset ID \"Titre\"`, puis l'instrument, la publication, les dates d'effet "
     "(`effective from … until …`, bornes incluses) et, pour un texte modificatif, `amends ID`.", "header"),
    ("Références", "`reference NOM \"Titre\" url \"…\" grade official` déclare un texte que les sources citent par "
     "son nom, et sa force (voir plus bas).",
     "reference"),
    ("Listes de valeurs", "`enum NOM \"Libellé\":` suivi des valeurs, chacune avec son libellé.",
     lambda d: isinstance(d, ast.EnumDecl)),
    ("Données du dossier", "`input chemin : type \"Libellé\"` : ce que le dossier doit fournir. `group` regroupe "
     "des données, `optional` en permet l'absence, `between … and …` / `at least` / `at most` bornent un nombre.",
     lambda d: isinstance(d, ast.InputDecl) and bool(d.bounds)),
    ("Paramètres", "`parameter NOM \"Libellé\" : type = valeur` : une valeur fixée par le texte.",
     lambda d: isinstance(d, ast.ParameterDecl)),
    ("Barèmes", "`table NOM \"Libellé\" : type`, ses en-têtes de lignes (`rows`) et de colonnes (`columns`), puis "
     "les lignes du barème telles que le texte les présente. En-têtes : une valeur exacte, `3+` (3 et plus), "
     "`90..95` (de 90 inclus à 95 exclu), `< 30`. Cases : un montant, `—` (pas de montant), `?` (non établi).",
     lambda d: isinstance(d, ast.TableDecl)),
    ("Conditions", "`condition NOM \"Libellé\"` suivie d'exigences `require NOM \"Libellé\" : test`. La condition "
     "est remplie quand toutes ses exigences le sont ; `unless \"…\" : test` écarte une exigence ; `failed(NOM)` "
     "donne les exigences non remplies, avec leur source.", lambda d: isinstance(d, ast.ConditionDecl)),
    ("Règles", "`rule NOM \"Libellé\" : type = expression`. Les règles sont évaluées à la demande, chacune une fois.",
     lambda d: isinstance(d, ast.RuleDecl)),
    ("Exceptions", "`exception \"Libellé\" when test then valeur` : une exception prévue par le texte ; deux "
     "exceptions qui s'appliqueraient en même temps sont une erreur.",
     lambda d: isinstance(d, ast.RuleDecl) and bool(d.exceptions)),
    ("Si … alors … sinon", "`if test then a else b`.", _has_expr(ast.If)),
    ("Lire un barème", "`barème[ligne, colonne]` donne la case dont les en-têtes correspondent aux valeurs.",
     _has_expr(ast.Index)),
    ("Donnée absente", "`x is set` / `x is not set` teste la présence d'une donnée facultative ; `none` est "
     "l'absence de valeur.", _has_expr(ast.IsSet)),
    ("Selon le texte en vigueur à une autre date", "`expression as of date` calcule l'expression selon le texte "
     "en vigueur à cette date : c'est ainsi que s'écrivent les dispositions transitoires (un contrat en cours garde "
     "les montants de son texte jusqu'à une date donnée).", _has_expr(ast.AsOf)),
    ("Arrondis", "`round x to euro` (ou `cent`, `unit`), `round up` / `round down` : aucun arrondi n'est implicite.",
     _has_expr(ast.Round)),
    ("Listes", "`[expression for x in liste if test]`, `1..5` (de 1 à 5 inclus), `x in {a, b}`.",
     _has_expr(ast.Comprehension)),
    ("Non établi", "`not established \"raison\"` : le texte ne permet pas de conclure ; le résultat le dit au lieu "
     "de deviner.", _has_expr(ast.NotEstablished)),
    ("Ce que le texte laisse ouvert : une valeur inconnue", "`?` tient la place d'une valeur qu'aucune source lue "
     "n'établit — comme valeur d'un paramètre (`parameter p \"…\" : int = ?`) ou dans une case de barème. "
     "`? between A and B`, `? at least A`, `? at most B` disent ce que l'on en sait ; A et B sont des nombres ou "
     "d'autres déclarations (`? at least gp_threshold[50]`).", _unknown_with_bounds),
    ("Bornes d'un chiffre", "`bounds at least A` (ou `between A and B`, `at most B`) sous un chiffre connu dit ce "
     "qui vaut quelle que soit la force de sa source, avec sa propre source : avec `--official-only`, un chiffre "
     "qui repose sur une source secondaire devient inconnu dans ces bornes.", _bounds_clause),
    ("Lectures", "`= readings` puis des lignes `reading NOM \"Libellé\" : expression` (chacune avec ses notes et "
     "ses sources) : les lectures qu'admettent les sources, pour une règle, un paramètre ou une case écrite "
     "`readings`. La valeur est établie quand toutes les lectures donnent la même ; sinon elle est donnée avec "
     "ce que l'on en sait, et `millesime explain` montre le résultat selon chaque lecture.",
     lambda d: isinstance(d, ast.RuleDecl) and bool(d.readings)),
    ("Ordre d'un barème", "`increasing along NOM` (ou `decreasing along`) sous un barème : ses valeurs croissent "
     "(décroissent) le long de cet en-tête, comme les seuils d'une même distribution ; une case `?` est alors "
     "bornée par ses voisines connues.", lambda d: isinstance(d, ast.TableDecl) and bool(d.orders)),
    ("Ce qu'une case a de propre", "`cell [ligne, colonne]` sous un barème, suivi de notes, de sources, de bornes "
     "ou de lectures : ce sur quoi repose une case quand ce n'est pas ce sur quoi repose le barème.",
     lambda d: isinstance(d, ast.TableDecl) and bool(d.cell_clauses)),
    ("Force des sources", "Chaque référence se termine par `grade official` (les textes, le Journal officiel, les "
     "pages de l'Assurance Maladie), `grade secondary` (presse, syndicats, thèses, sites privés, copies non "
     "officielles) ou `grade hypothesis` ; une source écrite en toutes lettres peut porter son propre `grade`. "
     "Une déclaration vaut sa source la plus forte ; sans source graduée, elle compte comme secondaire "
     "(`millesime check` le signale). Chaque résultat dit ce sur quoi il repose (`reliance`).", "reference"),
    ("Calculer avec ce qui n'est pas établi", "Un résultat qui dépend d'une inconnue est calculé pour toutes les "
     "possibilités admises à la fois. Pour un nombre, un montant ou une date, on obtient un intervalle « entre … "
     "et … » ; pour un booléen, une liste de valeurs ou un texte, l'ensemble des valeurs possibles (au plus 32, "
     "au-delà : non établi). Un `if` dont la condition n'est pas établie donne ce que donnent ses deux branches ; "
     "une exception qui peut s'appliquer, ce que donnent elle et la règle ; un barème lu avec une clé incertaine, "
     "ce que donnent les cases qu'elle peut atteindre ; une comparaison est tranchée quand les intervalles ne se "
     "recouvrent pas (et dans chaque branche, le paramètre comparé est restreint à ce que la condition permet). "
     "Une possibilité dans laquelle les règles échouent (division par zéro, case `—`) est écartée ; si toutes "
     "échouent, l'erreur est signalée. Les intervalles sont sûrs mais pas toujours serrés : une même inconnue "
     "utilisée deux fois (x − x) peut élargir l'intervalle. Dans le JSON, une valeur non établie s'écrit "
     "`{\"not_established\": raison, \"between\": [bas, haut]}` (un côté non borné vaut `null`) ou "
     "`{\"not_established\": raison, \"one_of\": [...]}`, toujours avec `\"decided_by\"` : les inconnues qui la "
     "décideraient. `millesime explain` montre le résultat selon chaque lecture, jusqu'à 16 combinaisons de "
     "lectures ; au-delà, il faut en fixer par hypothèse.", "prose"),
    ("Hypothèses et sources officielles seules", "Un fichier d'hypothèses (`--assume FICHIER`, répétable ; champ "
     "`assume` de l'API) choisit une lecture ou fixe une valeur inconnue, avec sa justification :\n\n"
     "```text\nhypotheses \"Chiffrage 2027\"\n"
     "assume combined_rate reading lowest because \"lecture prudente pour le budget\"\n"
     "assume gp_threshold[70] in reglement_arbitral_2023 = 1 250 because \"interpolation entre P50 et P90\"\n"
     "  source \"Note de la direction, mars 2026\"\n```\n\n"
     "Sans `in TEXTE`, une hypothèse vaut pour tous les textes où ce qu'elle nomme est ouvert. Une hypothèse qui ne "
     "nomme rien d'ouvert, ou une valeur hors de ses bornes ou du mauvais type, est une erreur située (fichier, "
     "ligne, colonne). Les résultats qui en dépendent la citent (`reliance`, force `hypothesis`) et leur empreinte "
     "en tient compte. `--official-only` (champ `official_only` de l'API) tient pour inconnu tout ce qui repose "
     "sur une source secondaire, dans les bornes que des sources officielles lui donnent.", "prose"),
    ("Résultats", "`output a, b` : ce que le calcul produit.", lambda d: isinstance(d, ast.OutputDecl)),
    ("Modifier un texte : remplacer", "`replace rule|table|parameter|…` redéclare en entier ce que le texte "
     "modificatif change ; le reste est repris du texte modifié. Une règle reprise lit les barèmes et paramètres "
     "modifiés.", lambda d: isinstance(d, ast.Replace)),
    ("Modifier un texte : exigences", "`add requirement condition.nom …` ajoute une exigence, "
     "`replace requirement condition.nom …` la remplace.", lambda d: isinstance(d, ast.RequirementChange)),
    ("Modifier un texte : supprimer", "`remove rule|table|requirement|… NOM because \"motif\"` supprime une "
     "déclaration du texte modifié, avec son motif et sa source.", lambda d: isinstance(d, ast.Remove)),
    ("Modifier un texte : étendre une liste", "`extend enum NOM:` ajoute des valeurs à une liste.",
     lambda d: isinstance(d, ast.ExtendEnum)),
    ("Modifier une case d'un barème", "`replace cell barème[ligne, colonne] = valeur`, sur une seule ligne, "
     "change une case d'un barème hérité, suivie de ses notes et de sa source ; les autres cases, non établies "
     "comprises, sont reprises telles quelles. Les en-têtes s'écrivent comme dans le barème (les espaces ne "
     "comptent pas) ; la valeur peut être `?`, `? between A and B` ou `readings` (avec ses lignes `reading`). "
     "La case remplacée repose sur sa propre source, jamais sur celle du barème copié. Exemple : "
     "`replace cell aid_amount[3+, full] = 24 000`.", lambda d: isinstance(d, ast.CellReplacement)),
    ("Une réforme est un fichier", "`millesime … --reform FICHIER.mil` (ou un dossier de fichiers) pose une "
     "réforme sur le calendrier des textes livrés, sans en modifier aucun : un texte de la réforme modifie "
     "(`amends`) un texte livré à compter de sa propre date, et le texte en vigueur ce jour-là prend fin la veille, "
     "pour ce calcul seulement. Une réforme sans date de fin s'arrête la veille du texte livré suivant ; une "
     "réforme qui prend fin (`until`) rend la main au texte qu'elle interrompt : dès le lendemain de sa fin, "
     "un texte sans changement qui modifie le texte interrompu s'applique, nommé d'après les deux (par exemple "
     "`convention_2024_reprise_2028_01_01`, « … (reprise après « reforme_2027 ») »), jusqu'au texte suivant ; "
     "un texte de la réforme qui prend effet ce jour-là le remplace, et rien ne reprend avant un texte qui "
     "déclare un vide (`after gap`). Les hypothèses écrites pour le texte interrompu (`in …`) valent pour sa "
     "reprise. Ses sources peuvent être des références `grade hypothesis`. "
     "`millesime check --reform FICHIER.mil` vérifie l'ensemble ; `millesime compare` chiffre la réforme "
     "(docs/batch.md).", lambda d: False),
]

_FUNCTION_DOC = {
    "min": "le plus petit de ses arguments (ou des éléments d'une liste)",
    "max": "le plus grand de ses arguments (ou des éléments d'une liste)",
    "abs": "la valeur absolue",
    "sum": "la somme des éléments d'une liste",
    "count": "le nombre d'éléments d'une liste",
    "any": "vrai si au moins un élément est vrai",
    "all": "vrai si tous les éléments sont vrais",
    "years_between": "années entières écoulées entre deux dates (un anniversaire compte le jour même)",
    "months_between": "mois entiers écoulés entre deux dates",
    "days_between": "jours entre deux dates",
    "add_years": "la même date, n ans plus tard",
    "add_months": "la même date, n mois plus tard (le 31 devient le dernier jour du mois s'il n'en a pas)",
    "add_days": "la date n jours plus tard",
    "first_day_of_next_month": "le premier jour du mois suivant",
    "date": "la date d'une année, d'un mois et d'un jour",
    "year": "l'année d'une date",
    "failed": "les exigences non remplies d'une condition, avec leur libellé et leur source",
}

_DSL_OPERATORS = """
## Opérateurs et valeurs

| Écriture | Sens |
| --- | --- |
| `+ - * /` (ou `×`) | opérations ; une division garde 28 chiffres significatifs, sans arrondi implicite |
| `= != < <= > >=` (ou `≠ ≤ ≥`) | comparaisons |
| `and`, `or`, `not` | et, ou, non |
| `x in liste`, `x not in liste` | appartenance |
| `36 000 €`, `20 %`, `2024-06-22`, `"texte"` | un montant, un pourcentage, une date, un texte |
| `true`, `false`, `none` | vrai, faux, aucune valeur |
| `on` | la date du calcul |
| `ruleset_id` | l'identifiant du texte en vigueur |

Types : `int`, `decimal`, `money`, `percent`, `bool`, `date`, `text`, une liste de valeurs (`enum`), `optional T`,
`list of T`, `set of T`, `map K to T`, `{champ: T, …}`.
"""

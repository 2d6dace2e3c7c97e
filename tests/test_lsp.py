"""`millesime lsp` over the real protocol: a real `millesime lsp` subprocess, driven by pytest-lsp.

Each test copies the shipped rulesets to a temporary folder and opens files of it, as an editor
would. Places are 0-based (line, character), as the protocol counts; the line numbers of the
rulesets below are those of `grep -n` minus one. Waits are on conditions (the diagnostics the
server publishes), never on time; the long timeout only stops a test that would otherwise hang.
"""
import asyncio
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from engine.registry import shipped_rulesets_dir  # noqa: E402

WAIT = 60  # seconds: a failsafe against a hang, not a measure


@pytest.fixture
def folder(tmp_path) -> Path:
    target = tmp_path / "rulesets"
    target.mkdir()
    for path in shipped_rulesets_dir().glob("*.mil"):
        shutil.copy(path, target / path.name)
    return target


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "engine.cli", "lsp"]))
async def client(lsp_client: LanguageClient):
    # the values in force are those of 1 September 2025 (convention_2024), whatever today is
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities(),
                                                             initialization_options={"date": "2025-09-01"}))
    yield
    await lsp_client.shutdown_session()


def uri(path: Path) -> str:
    return path.as_uri()


def open_file(client: LanguageClient, path: Path) -> str:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri(path), language_id="millesime", version=1,
                             text=path.read_text(encoding="utf-8"))))
    return path.read_text(encoding="utf-8")


def change(client: LanguageClient, path: Path, version: int, text: str):
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri(path), version=version),
        [lsp.TextDocumentContentChangeWholeDocument(text=text)]))


async def diagnostics(client: LanguageClient, path: Path, condition) -> list[lsp.Diagnostic]:
    """The diagnostics of `path` once `condition` holds of them (waiting for the server's)."""
    async def wait():
        while uri(path) not in client.diagnostics or not condition(list(client.diagnostics[uri(path)])):
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return list(client.diagnostics[uri(path)])
    return await asyncio.wait_for(wait(), WAIT)


def at(line: int, character: int) -> lsp.Position:
    return lsp.Position(line=line, character=character)


def span(line: int, start: int, end: int) -> lsp.Range:
    return lsp.Range(at(line, start), at(line, end))


@pytest.mark.asyncio
async def test_errors_as_the_analyst_types_and_the_quick_fix(client, folder):
    path = folder / "convention_2024.mil"
    text = open_file(client, path)
    assert await diagnostics(client, path, lambda ds: True) == []  # the shipped file is clean
    # line 64 (0-based 63) is `  aid_amount[year, o]`: a typo, not saved
    typo = text.replace("  aid_amount[year, o]\n", "  aid_amuont[year, o]\n", 1)
    change(client, path, 2, typo)
    d, unused = await diagnostics(client, path, lambda ds: len(ds) == 2)
    # …and the 2024 table, read by nothing else, is unused (line 35: `replace table aid_amount …`)
    assert (unused.range.start, unused.severity) == (at(34, 8), lsp.DiagnosticSeverity.Warning)
    assert unused.message == "le barème `aid_amount` n'est utilisé par aucun résultat"
    assert d.range == span(63, 2, 12)
    assert d.message == "nom inconnu `aid_amuont`\nvouliez-vous dire `aid_amount` ?"
    assert (d.severity, d.code, d.source) == (lsp.DiagnosticSeverity.Error, "name", "millesime")
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri(path)), range=d.range,
        context=lsp.CodeActionContext(diagnostics=[d])))
    [fix] = actions
    assert fix.title == "Remplacer « aid_amuont » par « aid_amount »"
    assert fix.kind == lsp.CodeActionKind.QuickFix
    assert list(fix.edit.changes) == [uri(path)]
    assert list(fix.edit.changes[uri(path)]) == [lsp.TextEdit(range=span(63, 2, 12), new_text="aid_amount")]
    change(client, path, 3, text)  # the fix applied
    assert await diagnostics(client, path, lambda ds: ds == []) == []
    assert path.read_text(encoding="utf-8") == text  # nothing was written to disk


@pytest.mark.asyncio
async def test_unsaved_buffers_make_the_chain(client, folder):
    base, amending = folder / "avenant7_2019.mil", folder / "reglement_arbitral_2023.mil"
    base_text, text = open_file(client, base), open_file(client, amending)
    await diagnostics(client, amending, lambda ds: ds == [])
    # the règlement arbitral's cap (line 74, `parameter ccam_cap … = 20 %`) now reads a parameter
    # that no file declares…
    edited = text.replace(': percent = 20 %\n', ': percent = ccam_ceiling\n', 1)
    assert edited != text
    change(client, amending, 2, edited)
    [d] = await diagnostics(client, amending, lambda ds: len(ds) == 1)
    assert d.message.startswith("nom inconnu `ccam_ceiling`")
    # …until the avenant 7's buffer, not saved, declares it: the règlement is checked against it
    declared = base_text + ('\nparameter ccam_ceiling "Plafond CCAM" : percent = 20 %\n'
                            '  source AMELI_AIDE quote "représentent moins de 20 % de leurs honoraires totaux"\n')
    change(client, base, 2, declared)
    assert await diagnostics(client, amending, lambda ds: ds == []) == []
    assert base.read_text(encoding="utf-8") == base_text


@pytest.mark.asyncio
async def test_hover_gives_label_type_sources_grade_and_value_in_force(client, folder):
    av7, conv = folder / "avenant7_2019.mil", folder / "convention_2024.mil"
    open_file(client, av7)
    open_file(client, conv)
    doc = lsp.TextDocumentIdentifier

    # a parameter: `contract_duration` (avenant 7, line 104), 5 years, on ameli.fr (official)
    h = await client.text_document_hover_async(lsp.HoverParams(text_document=doc(uri(av7)), position=at(103, 12)))
    assert h.range == span(103, 10, 27)
    value = h.contents.value
    assert value.startswith("**paramètre** `contract_duration` : `int`\n\nDurée du contrat (années)\n\nValeur : `5`")
    assert ("- *officielle* — ameli.fr, « L'aide à l'emploi d'assistants médicaux dans les cabinets libéraux » : "
            "« Cette aide est pérenne et renouvelable à l'échéance du contrat de 5 ans signé avec la caisse. »") in value

    # a table cell: `18 000` in row 1 of the avenant 7's aid_amount (line 242) is aid_amount[1, half];
    # on 1 September 2025 the 2024 convention's table is in force, where that cell is 19 000
    h = await client.text_document_hover_async(lsp.HoverParams(text_document=doc(uri(av7)), position=at(241, 20)))
    assert h.range == span(241, 18, 24)
    value = h.contents.value
    assert value.startswith("**case** `aid_amount[1, half]` du barème `aid_amount`")
    assert "En-têtes : contract_year `1`, option `half`" in value
    assert "Valeur : **18 000**" in value
    assert "**Sources** (la plus forte : secondaire) :" in value
    assert "**En vigueur le 01/09/2025** (`convention_2024`, convention_2024.mil, ligne 40" in value
    assert value.endswith(": **19 000**")

    # a table by its name, where the 2024 convention looks it up (line 64): its rows, its source
    h = await client.text_document_hover_async(lsp.HoverParams(text_document=doc(uri(conv)), position=at(63, 4)))
    value = h.contents.value
    assert value.startswith("**barème** `aid_amount` : `money`\n\nMontant maximal de l'aide par année de contrat (euros)")
    assert "| 1 | ? | 19 000 | 38 000 | ? | ? |" in value
    assert "**Sources** (la plus forte : officielle) :" in value

    # a removal, in the règlement arbitral (line 38: `remove requirement eligibility.group_practice`)
    ra = folder / "reglement_arbitral_2023.mil"
    open_file(client, ra)
    h = await client.text_document_hover_async(lsp.HoverParams(text_document=doc(uri(ra)), position=at(37, 30)))
    assert h.range == span(37, 19, 45)
    assert h.contents.value == (
        "**Suppression** de l'exigence `eligibility.group_practice` — Exercer de manière regroupée (cabinet d'au "
        "moins deux médecins)\n\nMotif : Le règlement arbitral supprime la condition d'exercice regroupé.\n\n"
        "Déclaration supprimée : avenant7_2019.mil, ligne 181 — *Avenant n°7 à la convention médicale de 2016 — "
        "assistants médicaux*")

    # a reference, in a `source` line of the 2024 convention (line 22: `  source AMELI_2024 quote …`)
    h = await client.text_document_hover_async(lsp.HoverParams(text_document=doc(uri(conv)), position=at(21, 12)))
    assert h.contents.value.startswith("**référence** `AMELI_2024` — ameli.fr, « Aide à l'emploi d'un assistant "
                                       "médical : ce qui change dès juin 2024 »\n\nSource *officielle*.")


@pytest.mark.asyncio
async def test_definition_across_amends_and_back(client, folder):
    av7, conv = folder / "avenant7_2019.mil", folder / "convention_2024.mil"
    open_file(client, av7)
    open_file(client, conv)
    doc = lsp.TextDocumentIdentifier

    async def definition(path, line, character):
        return await client.text_document_definition_async(lsp.DefinitionParams(text_document=doc(uri(path)),
                                                                                     position=at(line, character)))

    # `replace rule amount` (2024, line 63) → the avenant 7's `rule amount` (line 261) it replaces
    assert await definition(conv, 62, 15) == [lsp.Location(uri(av7), span(260, 5, 11))]
    # …and back
    assert await definition(av7, 260, 7) == [lsp.Location(uri(conv), span(62, 13, 19))]
    # a use in the 2024 convention (line 67) → the table as the 2024 convention replaces it (line 47)
    assert await definition(conv, 66, 60) == [lsp.Location(uri(conv), span(46, 14, 36))]
    # a reference name → its `reference` line, in the règlement arbitral (line 21)
    assert await definition(conv, 21, 12) == [
        lsp.Location(uri(folder / "reglement_arbitral_2023.mil"), span(20, 10, 20))]


@pytest.mark.asyncio
async def test_references_of_a_name(client, folder):
    av7 = folder / "avenant7_2019.mil"
    open_file(client, av7)
    found = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=lsp.TextDocumentIdentifier(uri(av7)), position=at(103, 12),
        context=lsp.ReferenceContext(include_declaration=True)))
    # its declaration (line 104) and its three uses (lines 132, 457, 468), by grep
    assert list(found) == [lsp.Location(uri(av7), span(103, 10, 27)), lsp.Location(uri(av7), span(131, 64, 81)),
                     lsp.Location(uri(av7), span(456, 62, 79)), lsp.Location(uri(av7), span(467, 50, 67))]


@pytest.mark.asyncio
async def test_completion_of_members_names_and_keywords(client, folder):
    conv = folder / "convention_2024.mil"
    text = open_file(client, conv)
    last = len(text.split("\n"))  # the line added after the file's last line
    line = 'rule demo "Démo" : bool = contract.option = option.'
    change(client, conv, 2, text + "\n" + line)
    items = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri(conv)), position=at(last, len(line))))
    # the 2024 convention extends `option` with two second-assistant options
    assert [(i.label, i.detail) for i in items.items] == [
        ("third", "1/3 ETP"), ("half", "1/2 ETP"), ("full", "1 ETP"),
        ("one_and_half", "1,5 ETP (second assistant)"), ("double", "2 ETP (second assistant)")]
    line = 'rule demo "Démo" : money = a'
    change(client, conv, 3, text + "\n" + line)
    items = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri(conv)), position=at(last, len(line))))
    labels = {i.label: i for i in items.items}
    assert labels["aid_amount"].detail == "Montant maximal de l'aide par année de contrat (euros) : money"
    assert labels["aid_amount"].kind == lsp.CompletionItemKind.Struct
    assert labels["exception"].kind == lsp.CompletionItemKind.Keyword
    assert labels["physician"].kind == lsp.CompletionItemKind.Field


@pytest.mark.asyncio
async def test_document_outline(client, folder):
    conv = folder / "convention_2024.mil"
    open_file(client, conv)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
        text_document=lsp.TextDocumentIdentifier(uri(conv))))
    assert [(s.name, s.kind) for s in symbols] == [
        ("aid_amount", lsp.SymbolKind.Struct), ("high_patientele_amount", lsp.SymbolKind.Struct),
        ("amount", lsp.SymbolKind.Function), ("ccam_capped_specialties", lsp.SymbolKind.Constant),
        ("eligibility.technical_acts", lsp.SymbolKind.Property), ("option_allowed", lsp.SymbolKind.Function),
        ("target_table", lsp.SymbolKind.Struct), ("qualification_delay", lsp.SymbolKind.Constant)]
    amount = symbols[2]
    assert amount.detail == ("remplace Montant maximal de l'aide pour une option, une année de contrat et un "
                             "percentile de départ")
    assert [c.name for c in amount.children] == ["exception « Patientèle d'au moins P95 : montant fixe quelle que "
                                                 "soit l'année »", "exception « Patientèle de P90 à P94 : montant "
                                                 "majoré à partir de la 3e année »"]
    assert amount.selection_range == span(62, 13, 19)
    # the avenant 7: a condition with its requirements, a rule with its readings
    av7 = folder / "avenant7_2019.mil"
    open_file(client, av7)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
        text_document=lsp.TextDocumentIdentifier(uri(av7))))
    by_name = {s.name: s for s in symbols}
    assert [c.name for c in by_name["eligibility"].children] == [
        "eligibility.sector", "eligibility.specialty", "eligibility.patientele", "eligibility.group_practice",
        "eligibility.coordinated_practice", "eligibility.option_open", "eligibility.switch_date"]
    assert [c.name for c in by_name["combined_rate"].children] == [
        "combined_rate.lowest", "combined_rate.product", "combined_rate.mean"]


@pytest.mark.asyncio
async def test_formatting_a_buffer(client, folder):
    conv = folder / "convention_2024.mil"
    text = open_file(client, conv)
    messy = text.replace("parameter qualification_delay \"Délai laissé à l'assistant pour obtenir sa qualification "
                         "(années)\" : int = 2", "parameter   qualification_delay \"Délai laissé à l'assistant pour "
                         "obtenir sa qualification (années)\":int=2")
    assert messy != text
    change(client, conv, 2, messy)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=lsp.TextDocumentIdentifier(uri(conv)),
        options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)))
    [edit] = edits
    assert edit.new_text == text


@pytest.mark.asyncio
async def test_a_buffer_that_does_not_parse_still_answers(client, folder):
    av7 = folder / "avenant7_2019.mil"
    text = open_file(client, av7)
    # a declaration being typed, after line 103 (0-based), shifts the rest of the file down by one line
    lines = text.split("\n")
    typing = "\n".join(lines[:103] + ['parameter cap "Plafond" : int = (1 +'] + lines[103:])
    change(client, av7, 2, typing)
    [d] = await diagnostics(client, av7, lambda ds: len(ds) == 1)
    # the parser reads `parameter` of the next line (now 105) as a name in the sum, then stops at
    # `contract_duration`
    assert d.range == span(104, 10, 27)
    assert d.message.startswith("élément inattendu : le nom `contract_duration`")
    # names written before and after the change still answer, from the last text that parsed
    h = await client.text_document_hover_async(lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri(av7)),
                                                               position=at(104, 12)))
    assert h.contents.value.startswith("**paramètre** `contract_duration` : `int`")
    assert h.range == span(104, 10, 27)


@pytest.mark.asyncio
async def test_a_percent_cell_without_its_sign_gets_it_as_a_quick_fix(client, folder):
    av7 = folder / "avenant7_2019.mil"
    text = open_file(client, av7)
    # line 303: `  | 30..50 | 20 %  | 25 % | 35 %     |`; `20 %` becomes `20` (the cell at character 13)
    edited = text.replace("  | 30..50 | 20 %  | 25 % |", "  | 30..50 | 20    | 25 % |", 1)
    change(client, av7, 2, edited)
    [d] = await diagnostics(client, av7, lambda ds: len(ds) == 1)
    assert d.message == "la case `20` du barème de pourcentages `target_table` doit porter un `%`\nécrivez `20 %`"
    assert d.range == span(302, 13, 15)
    [fix] = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri(av7)), range=d.range, context=lsp.CodeActionContext(diagnostics=[d])))
    assert fix.title == "Écrire « 20 % »"
    assert list(fix.edit.changes[uri(av7)]) == [lsp.TextEdit(range=span(302, 13, 15), new_text="20 %")]

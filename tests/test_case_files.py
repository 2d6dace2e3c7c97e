"""Case files (engine/files.py, issue 16): a number means what it shows, a date that does not
exist is an error naming its field and line, and no file — however built — makes a traceback
or a message of megabytes."""
import datetime as dt
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner

from engine import evaluate
from engine.case import CaseError
from engine.cli import main
from engine.files import FileError, load_data

CASE = """physician:
  specialty: medecine_generale
  sector: 1
  optam: false
  patients_mt: 1150
  file_active: 1650
  percentile: {percentile}
contract:
  signed_on: {signed_on}
  option: full
  initial_patients_mt: 980
  initial_file_active: 1500
"""


def case_file(tmp_path, percentile="55", signed_on="2023-06-15", name="case.yaml"):
    path = tmp_path / name
    path.write_text(CASE.format(percentile=percentile, signed_on=signed_on), encoding="utf-8")
    return path


def error(path) -> str:
    with pytest.raises(FileError) as info:
        load_data(path)
    return str(info.value)


def test_a_date_that_does_not_exist_names_its_field_and_line(tmp_path):
    # was: ValueError traceback from YAML's timestamp constructor
    path = case_file(tmp_path, signed_on="2023-02-30")
    assert error(path) == (f"{path}:9:14: contract.signed_on: 2023-02-30 n'est pas une date (ce jour n'existe pas "
                           "dans ce mois)")


@pytest.mark.parametrize("written, why", [
    ("1:30", "YAML 1.1 le lit en base 60, comme 90"),          # was silently 90
    ("1:30.5", "YAML 1.1 le lit en base 60, comme 90.5"),      # was InvalidOperation traceback
    ("0x1F", "YAML le lit en base 16, comme 31"),              # was silently 31
    ("0b101", "YAML 1.1 le lit en base 2, comme 5"),           # was silently 5
    ("0o17", "YAML 1.2 le lit en base 8, comme 15"),
    ("-0x10", "YAML le lit en base 16, comme -16"),
])
def test_a_number_not_written_in_decimal_is_refused_with_its_field_and_line(tmp_path, written, why):
    path = case_file(tmp_path, percentile=written)
    assert error(path) == (f"{path}:7:15: physician.percentile: « {written} » n'est pas un nombre décimal ({why}) ; "
                           "écrivez-le en chiffres décimaux, ou entre guillemets si c'est un texte")


@pytest.mark.parametrize("written, value", [
    ("55", 55), ("017", 17),            # YAML 1.1 read 017 in base 8, as 15: the digits say 17
    ("+5", 5), ("1_000", 1000), ("55.5", Decimal("55.5")), ("1e2", Decimal("1E+2")), ("5.5e1", Decimal("55")),
    (".5", Decimal("0.5")), ("'1:30'", "1:30"), ('"0x1F"', "0x1F"),
])
def test_a_decimal_number_means_what_it_shows(tmp_path, written, value):
    data = load_data(case_file(tmp_path, percentile=written))
    assert data["physician"]["percentile"] == value and type(data["physician"]["percentile"]) is type(value)


def test_the_quoted_forms_still_reach_validation_as_text(tmp_path):
    with pytest.raises(CaseError, match=r"physician.percentile: un nombre est attendu \(décimales séparées par un point\) "
                                        r"\(reçu : '1:30'\)"):
        evaluate(load_data(case_file(tmp_path, percentile="'1:30'")), dt.date(2025, 9, 1))


def test_dates_and_booleans_read_as_before(tmp_path):
    data = load_data(case_file(tmp_path))
    assert data["contract"]["signed_on"] == dt.date(2023, 6, 15) and data["physician"]["optam"] is False


def test_the_cli_prints_the_error_without_a_traceback(tmp_path):
    path = case_file(tmp_path, signed_on="2023-02-30")
    result = CliRunner().invoke(main, ["eval", str(path), "--on", "2025-09-01"])
    assert result.exit_code == 1
    assert result.output == (f"erreur : {path}:9:14: contract.signed_on: 2023-02-30 n'est pas une date (ce jour "
                             "n'existe pas dans ce mois)\n")


BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
physician: {specialty: *i}
"""


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    # 600 bytes that expand to 9⁹ strings: the validation message quoting them was 722 MB
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    assert len(BOMB) < 600
    message = error(path)
    assert message == (f"{path}:6:4: ses alias portent le fichier au-delà de 100\u202f000 valeurs (une « bombe "
                       "d'alias » ?) ; écrivez les valeurs en entier")
    assert len(message) < 300


def test_aliases_within_reason_still_read(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text("base: &p {sector: 1, optam: false}\nphysician: *p\n", encoding="utf-8")
    assert load_data(path)["physician"] == {"sector": 1, "optam": False}


def test_a_value_quoted_in_a_validation_error_is_cut_short():
    nested = ["lol"] * 9
    for _ in range(5):
        nested = [nested] * 9  # shared, as aliases build it: 9⁶ strings when written out
    with pytest.raises(CaseError) as info:
        evaluate({"physician": {"specialty": nested, "sector": "z" * 5000}}, dt.date(2025, 9, 1))
    assert len(str(info.value)) < 3000
    assert "z" * 100 not in str(info.value)


@pytest.mark.parametrize("name, text, said", [
    ("deep.yaml", "physician: " + "[" * 100_000 + "\n", r":1:\d+: YAML invalide : imbrication trop profonde"),
    ("deep.json", '{"physician": ' + "[" * 100_000 + "]" * 100_000 + "}", " : JSON invalide : imbrication trop profonde"),
    ("digits.json", '{"physician": {"patients_mt": ' + "9" * 5000 + "}}",
     r" : JSON invalide : un nombre de plus de \d+ chiffres"),
    ("digits.yaml", "physician: {patients_mt: " + "9" * 5000 + "}\n",
     r":1:26: physician.patients_mt: un nombre de 5000 chiffres ; au plus \d+ sont lus"),
])
def test_a_file_nested_too_deep_or_with_an_endless_number_is_an_error(tmp_path, name, text, said):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    message = error(path)
    assert re.fullmatch(re.escape(str(path)) + said, message), message
    assert len(message) < 300

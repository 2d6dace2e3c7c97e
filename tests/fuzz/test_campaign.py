"""docs/fiabilite.md's figures are those of the last campaign (tests/fuzz/campaign.json), written
by tests/fuzz/campaign.py, never by hand (issue 16)."""
import json

from . import campaign


def test_the_page_says_what_the_last_campaign_recorded():
    record = json.loads(campaign.RECORD.read_text(encoding="utf-8"))
    assert campaign.page_is_current(record), "run: .venv/bin/python tests/fuzz/campaign.py --render"


def test_a_fuzzer_the_page_does_not_name_and_a_failure_are_shown():
    record = {"date": "2030-01-01", "seed": 7, "scale": 1000, "python": "3", "hypothesis": "6",
              "ci": {"seconds": 30, "status": 0, "tried": {"new: fuzzer": 5}, "failures": []},
              "campaign": {"seconds": 300, "status": 1, "tried": {"new: fuzzer": 50, "batch: files": 2},
                           "failures": [{"test": "tests/fuzz/x.py::test_y", "when": "call", "example": "…"}]}}
    page = campaign.render(record)
    assert "| Autres | `new: fuzzer` | 5 | 50 |" in page
    assert "| **Total** | | **5** | **52** |" in page
    assert "**1 défaillance(s)**" in page and "`tests/fuzz/x.py::test_y`" in page and "--seed 7" in page

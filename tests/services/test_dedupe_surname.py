"""Similar names are one person's only when their family names agree too:
`crm dedupe` and the likely-duplicate check of `crm add`."""

import importlib.util
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicrm.errors import DuplicateError
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.likely_duplicates import find_likely_duplicates
from minicrm.services.contacts.name_match import family_word, surnames_agree
from minicrm.services.dedupe.contacts import SIMILAR_NAME, find_duplicate_groups
from minicrm.text import fold

ROOT = Path(__file__).resolve().parents[2]


def add(session, name, **fields):
    return add_contact(session, ContactInput(name=name, **fields), force=True)


def grouped_names(session, threshold=90):
    return [sorted(c.name for c in g.contacts) for g in find_duplicate_groups(
        session, threshold=threshold)]  # fmt: skip


# ------------------------------------------------------------------ crm dedupe


def test_persian_namesakes_with_different_surnames_are_not_grouped(session):
    add(session, "امیر رحیمی", email="rahimi@example.ir", phone="+989121234567")
    add(session, "امیر کریمی", email="karimi@example.ir", phone="+989127654321")
    assert grouped_names(session) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("María Rodríguez", "Maria Rodriguez"),  # the same once folded
        ("María Rodríguez", "Maria Rodrigues"),  # one letter changed
        ("Γιώργος Παπαδόπουλος", "Γιωργος Παπαδοπουλος"),
        ("Γιώργος Παπαδόπουλος", "Γιώργος Παπαδόπολος"),  # one letter dropped
        ("Heather Rawlings", "Heather Rawilngs"),  # two neighbours swapped
        ("Lucy Morrison", "Lucy Morruson"),  # ratio 87.5 on the surname alone
        ("امیر رحیمی", "امیر رحیمي"),  # Arabic yeh typed: the same once folded
        ("Maria Rodrigues", "Rodriguez Maria"),  # word order ignored
    ],
)
def test_a_typo_in_the_surname_is_still_a_duplicate(session, first, second):
    add(session, first)
    add(session, second)
    groups = find_duplicate_groups(session)
    assert [sorted(c.name for c in g.contacts) for g in groups] == [sorted([first, second])]
    assert groups[0].reasons == [SIMILAR_NAME]


def test_single_word_names_keep_the_whole_name_score(session):
    add(session, "Michaela")
    add(session, "Micaela")  # ratio 93
    add(session, "Rahimi")
    add(session, "Karimi")  # ratio 67: never was a pair
    assert grouped_names(session) == [["Micaela", "Michaela"]]


def test_a_chain_keeps_only_the_links_whose_surnames_agree(session):
    add(session, "امیر رحیمی")
    add(session, "امیر رحیم")  # the last letter dropped: the same person
    add(session, "امیر کریمی")  # 90 with the first, but another family
    assert grouped_names(session) == [["امیر رحیم", "امیر رحیمی"]]


# ------------------------------------------------------------------ crm add


def test_crm_add_does_not_warn_about_a_namesake_with_another_surname(session):
    add(session, "امیر رحیمی", email="rahimi@example.ir")
    new = {"name": "امیر کریمی", "email": "karimi@example.ir"}
    assert find_likely_duplicates(session, new) == []
    added = add_contact(session, ContactInput(name="امیر کریمی", email="karimi@example.ir"))
    assert added.name == "امیر کریمی"


def test_crm_add_still_warns_about_a_typo_in_the_surname(session):
    first = add(session, "María Rodríguez")
    with pytest.raises(DuplicateError) as raised:
        add_contact(session, ContactInput(name="Maria Rodrigues"))
    assert [c.id for c in raised.value.duplicates] == [first.id]


# ------------------------------------------------------------------ the rule itself


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("maria lopez", "lopez"),
        ("lopez, maria", "lopez"),
        ("john smith jr", "smith"),
        ("dr. ann lee", "lee"),
        ("maria garcia lopez", "lopez"),
        ("jan van der berg", "berg"),
        ("امیر رحیمی", "رحیمی"),
    ],
)
def test_family_word(name, family):
    assert family_word(name) == family


@pytest.mark.parametrize(
    ("name", "other", "agree"),
    [
        ("امیر رحیمی", "امیر کریمی", False),  # two letters changed
        ("amir rahimi", "amir karimi", False),
        ("john smith", "john smyth", True),  # one letter changed: maybe one person
        ("lopez, maria", "maria lopes", True),  # "Family, Given"
        ("maria lopez", "lopez maria", True),
        ("ann lee", "lee", True),  # one word: left to the whole-name score
    ],
)
def test_surnames_agree(name, other, agree):
    assert surnames_agree(name, other) is agree


_words = st.text(alphabet="abcdeکرحیمیγιω", min_size=1, max_size=8)
_names = st.lists(_words, min_size=1, max_size=4).map(" ".join)


@given(_names, _names)
def test_the_rule_is_symmetric_and_reflexive(name, other):
    assert surnames_agree(name, other) == surnames_agree(other, name)
    assert surnames_agree(name, name)
    assert surnames_agree(fold(name), " ".join(reversed(fold(name).split())))


# ------------------------------------------------------------------ Febrl


def _accuracy_benchmark():
    path = ROOT / "benchmarks" / "dedupe_accuracy.py"
    spec = importlib.util.spec_from_file_location("dedupe_accuracy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Measured with the rule at threshold 90 (benchmarks/dedupe_accuracy.py,
# README "Duplicates"); floors a little below, so a change that costs real
# pairs or lets in wrong ones fails here. Without the rule dataset2 gives
# precision 0.785, recall 0.714.
FEBRL_FLOORS = {"dataset1": (0.98, 0.75), "dataset2": (0.78, 0.69), "dataset3": (0.91, 0.67)}


@pytest.mark.parametrize("dataset", sorted(FEBRL_FLOORS))
def test_febrl_precision_and_recall_stay_above_their_floors(dataset):
    bench = _accuracy_benchmark()
    with bench.febrl_database(bench.FEBRL / f"{dataset}.csv") as (session, people):
        figures = bench.measure(session, people, dataset=dataset, threshold=90,
                                surname_rule=True)  # fmt: skip
    precision_floor, recall_floor = FEBRL_FLOORS[dataset]
    assert figures.true_pairs > 400
    assert figures.precision >= precision_floor
    assert figures.recall >= recall_floor

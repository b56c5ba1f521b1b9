"""`headwater import hf-card` on model cards written to the shape of real ones (tests/fixtures/hf/README.md).

The cards are parsed by huggingface_hub's own ModelCard, offline: what the Hub would read from the
front matter is what becomes feeds, a base model and a licence.
"""

from __future__ import annotations

import json
from pathlib import Path

from catalog import service
from catalog.ids import NodeId
from catalog.store import Store
from tests.paths import FIXTURES

HF = FIXTURES / "hf"
DISTILBERT = "distilbert-base-uncased-finetuned-sst-2-english"
VERSION = f"model:huggingface:{DISTILBERT}@main"
BASE = "model:huggingface:distilbert-base-uncased@main"


def _import(headwater, db: str, *paths: Path | str, extra: tuple[str, ...] = ()):
    return headwater("import", "hf-card", *map(str, paths), "--format", "json", *extra, db=db)


def _model(db: str, node: str):
    return service.get_model(Store(db), NodeId.parse(node))


def _feeds(db: str, node: str) -> list[dict]:
    """The feeds of one model version, whatever their source (a GET's trained_on lists the catalog's only)."""
    return service.list_feeds(Store(db), model=node).items


def test_a_card_becomes_a_version_with_its_feeds_base_model_and_licence(headwater, sqlite_url):
    first = _import(headwater, sqlite_url, HF / "distilbert-sst2", HF / "acme-support-assistant" / "README.md")
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    # two cards, and the two base models they name so that the base edges have somewhere to land
    assert counts["versions"] == {"created": 4} and counts["datasets"] == {"created": 3}

    model = _model(sqlite_url, VERSION)
    assert model.licence == "apache-2.0"
    feeds = _feeds(sqlite_url, VERSION)
    assert {(f["dataset"], f["role"]) for f in feeds} == {
        ("dataset:huggingface:sst2", "training"),     # its only model-index result is on the train split
        ("dataset:huggingface:glue", "evaluation"),   # model-index reports results on glue/sst2 validation
    }
    assert all(f["fingerprint"] is None and f["consumed_at"] is None and f["source"] == "huggingface" for f in feeds)
    assert model.base_model == BASE
    assert model.tags == ["text-classification", "en"]
    assert model.description.startswith("Model Description: This model is a fine-tune checkpoint of "
                                         "DistilBERT-base-uncased, fine-tuned on SST-2.")
    assert model.source == "huggingface" and model.field_sources["licence"]["source"] == "huggingface"

    lineage = json.loads(headwater("lineage", DISTILBERT, "--format", "json", db=sqlite_url).stdout)
    assert {n["node"]["id"] for n in lineage["nodes"]} == {
        "dataset:huggingface:sst2", "dataset:huggingface:glue", BASE}
    base = _model(sqlite_url, BASE)
    assert _feeds(sqlite_url, BASE) == [] and base.licence is None

    acme = _model(sqlite_url, "model:huggingface:acme-support-assistant@main")  # no model-index: its folder's name
    assert acme.licence == "acme-community-licence"  # license: other, with license_name
    assert acme.base_model == "model:huggingface:Qwen/Qwen2.5-0.5B-Instruct@main"
    assert [(f["dataset"], f["role"]) for f in _feeds(sqlite_url, acme.id)] == [
        ("dataset:huggingface:HuggingFaceH4/ultrachat_200k", "training")]
    assert acme.tags == ["generated_from_trainer", "trl", "sft", "text-generation", "en", "fr"]
    assert "Model Card for" not in acme.description and acme.description.endswith("trained using TRL.")


def test_a_reimport_changes_nothing(headwater, sqlite_url):
    assert _import(headwater, sqlite_url, HF / "distilbert-sst2", HF / "acme-support-assistant").returncode == 0
    store = Store(sqlite_url)
    revision = store.revision()
    again = _import(headwater, sqlite_url, HF / "distilbert-sst2", HF / "acme-support-assistant")
    assert again.returncode == 0, again.stderr
    counts = json.loads(again.stdout)
    assert counts["versions"] == {"unchanged": 2} and counts["datasets"] == {"unchanged": 3}
    assert counts["feeds_changed"] == 0 and store.revision() == revision


def test_a_base_model_imported_from_its_own_card_keeps_its_feeds(headwater, sqlite_url, tmp_path):
    base = tmp_path / "distilbert-base-uncased"
    base.mkdir()
    (base / "README.md").write_text("---\nlanguage: en\nlicense: apache-2.0\ndatasets:\n- bookcorpus\n- wikipedia\n---\n\n"
                                    "# DistilBERT base model (uncased)\n\nA distilled version of the BERT base model.\n")
    assert _import(headwater, sqlite_url, base).returncode == 0
    assert _import(headwater, sqlite_url, HF / "distilbert-sst2").returncode == 0
    kept = _model(sqlite_url, BASE)
    assert {f["dataset"] for f in _feeds(sqlite_url, BASE)} == {"dataset:huggingface:bookcorpus",
                                                       "dataset:huggingface:wikipedia"}
    assert kept.licence == "apache-2.0" and _model(sqlite_url, VERSION).base_model == BASE
    upstream = json.loads(headwater("lineage", DISTILBERT, "--format", "json", db=sqlite_url).stdout)
    assert "dataset:huggingface:bookcorpus" in {n["node"]["id"] for n in upstream["nodes"]}  # through the base


def test_the_namespace_option_names_the_cards_models_only(headwater, sqlite_url):
    assert _import(headwater, sqlite_url, HF / "distilbert-sst2", extra=("--namespace", "acme")).returncode == 0
    model = _model(sqlite_url, f"model:acme:{DISTILBERT}@main")
    assert model.base_model == BASE and {f["dataset"] for f in _feeds(sqlite_url, model.id)} == {
        "dataset:huggingface:sst2", "dataset:huggingface:glue"}


def test_bad_input_is_exit_2_naming_the_file_and_writes_nothing(headwater, sqlite_url, tmp_path):
    plain = tmp_path / "plain" / "README.md"
    plain.parent.mkdir()
    plain.write_text("# A model\n\nA README without front matter.\n")
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    cases = [
        ((plain,), "no YAML front matter"),
        ((empty_folder,), "no README.md in this folder"),
        ((tmp_path / "missing",), "no such file or folder"),
        ((HF / "distilbert-sst2", plain), "no YAML front matter"),  # one bad card: the good one is not written either
    ]
    for paths, message in cases:
        result = _import(headwater, sqlite_url, *paths)
        assert result.returncode == 2, (paths, result.stdout, result.stderr)
        assert message in result.stderr and str(paths[-1]) in result.stderr
        assert "Traceback" not in result.stderr
    counts = Store(sqlite_url).counts()
    assert counts["datasets"] == 0 and counts["models"] == 0


def test_a_card_whose_front_matter_is_not_a_mapping_is_exit_2(headwater, sqlite_url, tmp_path):
    card = tmp_path / "README.md"
    card.write_text("---\n- just\n- a list\n---\n\nText.\n")
    result = _import(headwater, sqlite_url, card)
    assert result.returncode == 2 and "not a readable model card" in result.stderr and str(card) in result.stderr
    assert Store(sqlite_url).counts()["models"] == 0


def test_the_card_file_is_what_modelcard_loads_never_a_folder(headwater, sqlite_url, monkeypatch):
    """A folder given to ModelCard.load is taken for a Hub repo id and fetched: only files may reach it."""
    from huggingface_hub import ModelCard

    loaded: list[Path] = []
    real = ModelCard.load.__func__

    def spy(cls, repo_id_or_path, *args, **kwargs):
        loaded.append(repo_id_or_path)
        return real(cls, repo_id_or_path, *args, **kwargs)

    monkeypatch.setattr(ModelCard, "load", classmethod(spy))
    assert _import(headwater, sqlite_url, HF / "distilbert-sst2").returncode == 0
    assert len(loaded) == 1 and isinstance(loaded[0], Path) and loaded[0].is_file() and loaded[0].name == "README.md"


def test_without_huggingface_hub_the_error_says_which_extra_to_install(headwater, sqlite_url, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # `import huggingface_hub` now raises ImportError
    result = _import(headwater, sqlite_url, HF / "distilbert-sst2")
    assert result.returncode == 2 and "pip install 'headwater[huggingface]'" in result.stderr
    assert Store(sqlite_url).counts()["models"] == 0

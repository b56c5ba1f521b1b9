"""`headwater import hf-card PATH…`: what a Hugging Face model card says a model was trained on.

A model card is a README.md whose YAML front matter the Hub reads (https://huggingface.co/docs/hub/model-cards).
It is parsed with huggingface_hub's own `ModelCard` (the `headwater[huggingface]` extra), from the
file only: a folder name given to `ModelCard.load` is taken for a Hub repo id and fetched, so a
folder is resolved to its README.md here first. What becomes what:

- the card's model is a model version in `--namespace` (default `huggingface`): named by the
  card's `model_name` (the Hub writes it as `model-index[0].name`), else by the card's folder;
  versioned by the card's `version` when it has one, else `main` (the Hub's default revision);
- each `datasets:` entry is a dataset in namespace `huggingface` named by its Hub id (`imdb`,
  `HuggingFaceFW/fineweb`), fed to the version as `training`; a dataset the card's `model-index`
  reports results on is an `evaluation` feed instead, and so is one named only there
  (`results[].dataset.type`, the Hub id). A result on the `train` split is a score on the
  training data, not an evaluation set: it leaves a `datasets:` entry a training feed;
- `base_model:` is the version it was fine-tuned from: the Hub model of that id in namespace
  `huggingface`, version `main`, added to the catalog when it is not there (with no fields and no
  feeds). The store keeps one base per version, so of a merge's list the first is recorded;
- `license:` is the version's `licence` (`license: other` with `license_name`: the name);
  `tags`, `pipeline_tag` and `language` are its tags; the first paragraph of the card's text,
  at most 500 characters, its description.

A card records no content hash and no training time, so the feeds have neither: a high-risk
model's feed without a fingerprint is a `fingerprint_mismatch` finding until someone records one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalog.errors import ConfigurationError
from catalog.ids import ModelKey
from catalog.imports import ImportPlan, ImportedDataset, ImportedFeed, ImportedVersion, checked_name

SOURCE = "huggingface"
HUB = "huggingface"  # the namespace of the Hub's datasets and base models
DEFAULT_REVISION = "main"
CARD = "README.md"
DESCRIPTION_LIMIT = 500
TRAINING_SPLITS = ("train", "training")


def plan_import(paths: list[Path], *, namespace: str = HUB) -> ImportPlan:
    """One version per card; every card is read before anything is returned, so one bad card writes nothing."""
    cards = {card_file.resolve(): (card_file, card) for card_file, card in map(_load, paths)}  # named twice: once
    plan = ImportPlan(source=SOURCE)
    datasets: dict[str, ImportedDataset] = {}
    versions: dict[ModelKey, tuple[Path, ImportedVersion]] = {}
    for card_file, card in cards.values():
        version = _version(card_file, card, namespace, datasets)
        if version.key in versions:
            raise ConfigurationError(f"{card_file} and {versions[version.key][0]} both describe the model "
                                     f"{version.key[1]}@{version.key[2]}; import one of them")
        versions[version.key] = (card_file, version)
    bases = {v.base for _, v in versions.values() if v.base is not None}
    plan.versions = [v for _, v in versions.values()]
    plan.versions += [ImportedVersion(key=base) for base in sorted(bases - versions.keys())]
    plan.datasets = list(datasets.values())
    return plan


def without_stored_bases(plan: ImportPlan, stored: Callable[[ModelKey], bool]) -> ImportPlan:
    """Leave out the base models the catalog already holds.

    A base is in the plan only so that it exists; were a stored one kept, the import would replace
    its feeds from this source with none, and a base imported from its own card would lose them."""
    described = {v.key for v in plan.versions if v.fields or v.feeds}
    bases = {v.base for v in plan.versions if v.base is not None}
    plan.versions = [v for v in plan.versions
                     if v.key in described or v.key not in bases or not stored(v.key)]
    return plan


def _load(path: Path) -> tuple[Path, Any]:
    """The card file a PATH names, and the card read from it."""
    if not path.exists():
        raise ConfigurationError(f"{path}: no such file or folder; expected a model card (README.md) or its folder")
    card_file = path / CARD if path.is_dir() else path
    if not card_file.is_file():
        raise ConfigurationError(f"{path}: no {CARD} in this folder; expected a Hugging Face model card")
    try:
        from huggingface_hub import ModelCard
    except ImportError:
        raise ConfigurationError("huggingface_hub is not installed: pip install 'headwater[huggingface]'") from None
    import yaml

    repocard_log = logging.getLogger("huggingface_hub.repocard")
    level = repocard_log.level
    repocard_log.setLevel(logging.ERROR)  # its "metadata block was not found" is said below, as an error
    try:
        card = ModelCard.load(card_file.resolve())  # a Path, never a str: a str that is no file goes to the Hub
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{card_file}: not a readable model card: {_first_line(exc)}") from None
    finally:
        repocard_log.setLevel(level)
    if not card.data.to_dict():
        raise ConfigurationError(f"{card_file}: no YAML front matter (a block between '---' lines at the top); "
                                 "expected a Hugging Face model card")
    return card_file, card


def _version(card_file: Path, card: Any, namespace: str, datasets: dict[str, ImportedDataset]) -> ImportedVersion:
    data = card.data
    name = checked_name(card_file, data.model_name or card_file.resolve().parent.name, "the model's name")
    revision = data.get("version")
    revision = checked_name(card_file, str(revision), "version") if revision not in (None, "") else DEFAULT_REVISION
    key = (namespace, name, revision)
    trained = _ids(card_file, data.datasets, "datasets")
    evaluated: list[str] = []
    scored_on_training: set[str] = set()
    for result in data.eval_results or []:
        if result.dataset_type in (None, ""):
            continue
        hub_id = checked_name(card_file, str(result.dataset_type), "model-index dataset type")
        if (result.dataset_split or "").strip().lower() in TRAINING_SPLITS and hub_id in trained:
            scored_on_training.add(hub_id)
        elif hub_id not in evaluated:
            evaluated.append(hub_id)
    feeds = []
    for hub_id in [*trained, *(d for d in evaluated if d not in trained)]:
        datasets.setdefault(hub_id, ImportedDataset(handle=hub_id, key=(HUB, hub_id)))
        feeds.append(ImportedFeed(dataset=hub_id, role="evaluation" if hub_id in evaluated else "training",
                                  fingerprint=None, consumed_at=None))
    bases = _ids(card_file, data.base_model, "base_model")
    base = (HUB, bases[0], DEFAULT_REVISION) if bases else None
    if base == key:
        raise ConfigurationError(f"{card_file}: base_model names the card's own model {name}@{revision}")
    fields = {"licence": _licence(data), "tags": _tags(data), "description": _description(card.text)}
    return ImportedVersion(key=key, fields=fields, feeds=feeds, base=base)


def _ids(card_file: Path, value: Any, field: str) -> list[str]:
    """A front-matter entry that is one Hub id or a list of them, in order, each once."""
    if value in (None, "", []):
        return []
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise ConfigurationError(f"{card_file}: {field} holds {item!r}; expected a Hub id or a list of them")
        hub_id = checked_name(card_file, str(item).strip(), field)
        if hub_id not in found:
            found.append(hub_id)
    return found


def _licence(data: Any) -> str | None:
    licence = data.license
    if isinstance(licence, list):
        licence = " AND ".join(str(item).strip() for item in licence if str(item).strip())
    licence = str(licence).strip() if licence not in (None, "") else None
    if licence and licence.lower() == "other" and isinstance(data.license_name, str) and data.license_name.strip():
        licence = data.license_name.strip()
    return licence[:1000] if licence else None


def _tags(data: Any) -> list[str]:
    """The card's tags, its pipeline tag and its languages, as the Hub lists them: plain strings, each once."""
    tags: list[str] = []
    for value in (data.tags, data.pipeline_tag, data.language):
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.strip() and item.strip() not in tags:
                tags.append(item.strip())
    return tags


_SKIP = re.compile(r"^\s*(#|[-*+]\s|\d+[.)]\s|\||>|<|!\[|```|~~~|\[!\[|---|===)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"(\*\*|__|`)")


def _description(text: str) -> str | None:
    """The first paragraph of prose after the front matter: no heading, list, table, quote, HTML or code."""
    text = re.sub(r"<!--.*?-->", "", text or "", flags=re.S)
    paragraph: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        if not line.strip() or _SKIP.match(line):
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    prose = " ".join(_MARKS.sub("", _LINK.sub(r"\1", " ".join(paragraph))).split())
    if len(prose) > DESCRIPTION_LIMIT:
        prose = prose[:DESCRIPTION_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    return prose or None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

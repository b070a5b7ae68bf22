"""A bring-your-own folder's settings, derived from its data and written into params.yaml.

`solid download --dataset path/to/MyShop`, when the params file has no `data.myshop`, adds the
sections `data.myshop`, `embed.myshop` and `semantics.myshop` to it, so every later command and
every DVC stage reads the same settings and none has to be repeated with `-S`. ruamel's
round-trip loader says where each of those mappings ends, and the new section goes in there,
so every other byte of the file (comments, order, anchors, quotes) stays as it was. A section
the file already has is never touched (the user's word wins); with `data.<name>` present
nothing is written at all.

The rules, from the folder's files and the prepared data:

* `data`: `path` the folder, relative to the project (the working directory, where every
  command and DVC run) when inside it, else absolute; `eval_negatives` the configured default
  (99), or, when some valid/test user has fewer items they never interacted with (a small
  catalogue), the most that every user has; `category_prefix` null (categories come from
  `<stem>.item`).
* `embed`: shipped features first, named as MISSRec names them: `<stem>.feat1CLS` is text
  (`file:feat1CLS`), `<stem>.feat3CLS` image (`file:feat3CLS`); other `feat*CLS` files are
  left for the user to name. Otherwise text is `minilm` (encoded offline) when `<stem>.text`
  gives any item a text, else null; image is null: images referenced in `<stem>.item` need
  CLIP's weights from the hub, so turning them on is the user's step (a hint says how).
* `semantics`: `method` category when `<stem>.item` gives more than half the items a category,
  else kmeans; `k` = max(2, round(N / 3)) for N items, at most N - 1 and `K_MAX`: about a
  third of the items, as the authors' 550 for Scientific's 1,585; `modalities` the ones embed makes:
  [text], [text, image] or [image], and with neither [id] (the item table of the
  `id_semantics` baseline, which must be trained before `assign-semantics`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solidcli.errors import SolidError

if TYPE_CHECKING:
    from solidcli.data.atomic import AtomicDataset

SECTIONS = ("data", "embed", "semantics")
TEXT_FEATURES, IMAGE_FEATURES = "feat1CLS", "feat3CLS"  # MISSRec's file names
COMMENT_COLUMN = 24  # where params.yaml's end-of-line comments start


K_MAX = 8600  # the largest K of a registered dataset's section (Office full's)


def semantic_k(n_items: int) -> int:
    """K for k-means over `n_items` items: about a third of them (the authors' 550 for
    Scientific's 1,585 items), at least 2 and at most N - 1 (K = N would give every item its
    own code, so the semantic sequence would just repeat the item sequence), and at most
    `K_MAX`: k-means costs items x K per pass, so a third of a Douban-sized catalogue (71k
    codes for 213k items) would make it quadratic in the data; no dataset of the paper uses
    more (docs/scale.md)."""
    return max(1, min(max(2, round(n_items / 3)), n_items - 1, K_MAX))


def eval_negatives(default: int, fewest_free: int, dataset: str, n_items: int) -> int:
    """Sampled negatives per valid/test positive: `default`, or `fewest_free` (the fewest
    items a valid/test user never interacted with) when that is smaller."""
    if fewest_free < 1:
        raise SolidError(f"{dataset}: a valid/test user interacted with every one of the "
                         f"{n_items} items, so no item is left to rank against theirs; remove "
                         "that user or add items")
    return min(default, fewest_free)


@dataclass
class Derived:
    """The sections derived for one folder, and the lines that explain them."""

    sections: dict[str, dict[str, Any]]
    comments: dict[str, dict[str, str]] = field(default_factory=dict)  # section -> key -> text
    notes: list[str] = field(default_factory=list)  # one line each, printed after writing


def derive(dataset: str, folder: Path, stem: str, raw: AtomicDataset, negatives: int,
           default_negatives: int, batch_size: int, id_command: str) -> Derived:
    """`data`, `embed` and `semantics` sections for the folder (rules: module docstring).

    `raw` is its AtomicDataset, `negatives` the eval_negatives chosen by `eval_negatives`,
    `batch_size` the default embed batch size, `id_command` the command that trains the
    baseline the `id` modality reads."""
    n_items = len(raw.item_tokens)
    resolved = folder.resolve()
    try:
        path = resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        path = resolved.as_posix()
    feats = {p.name[len(stem) + 1:] for p in folder.glob(f"{stem}.feat*CLS") if p.is_file()}
    has_text = any(raw.texts or [])
    text = (f"file:{TEXT_FEATURES}" if TEXT_FEATURES in feats
            else "minilm" if has_text else None)
    image = f"file:{IMAGE_FEATURES}" if IMAGE_FEATURES in feats else None
    with_category = sum(bool(c) for c in raw.categories or [])
    modalities = [m for m, spec in (("text", text), ("image", image)) if spec] or ["id"]
    out = Derived(sections={
        "data": {"path": path, "eval_negatives": negatives, "category_prefix": None},
        "embed": {"text": text, "image": image, "dim": None, "batch_size": batch_size},
        "semantics": {"method": "category" if with_category > n_items / 2 else "kmeans",
                      "k": semantic_k(n_items), "modalities": modalities},
    })
    out.comments = {
        "data": {"eval_negatives": f"only {n_items} items: the most every user has"}
        if negatives < default_negatives else {},
        "embed": {"text": {f"file:{TEXT_FEATURES}": f"shipped <stem>.{TEXT_FEATURES}",
                           "minilm": "<stem>.text, encoded offline"}.get(text, "no item text"),
                  "image": (f"shipped <stem>.{IMAGE_FEATURES}" if image
                            else "clip: the .item's images" if any(raw.images or [])
                            else "no image features")},
        "semantics": {"method": f"{with_category} of {n_items} items have a category",
                      "k": (f"max(2, round(N / 3)) of N = {n_items} items, at most N - 1 and "
                            f"{K_MAX:,}"),
                      **({"modalities": "the item table of the id_semantics baseline"}
                         if modalities == ["id"] else {})},
    }
    if negatives < default_negatives:
        out.notes.append(f"{dataset}: only {n_items} items, so eval_negatives = {negatives} "
                         f"instead of {default_negatives}")
    unknown = sorted(feats - {TEXT_FEATURES, IMAGE_FEATURES})
    if unknown:
        out.notes.append(f"{dataset}: {', '.join(f'{stem}.{s}' for s in unknown)} left unused "
                         f"(feat1CLS is text, feat3CLS image); name one in embed.{dataset}."
                         "text or .image as file:<suffix> to use it")
    if image is None and any(raw.images or []):
        out.notes.append(f"{dataset}: {stem}.item names item images; to use them set embed."
                         f"{dataset}.image to clip (CLIP's weights: `hf download openai/"
                         f"clip-vit-base-patch32`) and add image to semantics.{dataset}."
                         "modalities")
    if modalities == ["id"]:
        out.notes.append(f"{dataset}: no item text or features, so its semantics come from "
                         f"item ids: train that baseline first, `{id_command}`")
    return out


# ---- the params file ------------------------------------------------------------------------


def _yaml():
    """ruamel in round-trip mode: None written as null, no line re-wrapped."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    yaml.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    return yaml


def load_document(path: Path):
    """(text, round-trip document) of the params file: the document knows each key's line."""
    from ruamel.yaml.error import YAMLError

    text = path.read_bytes().decode("utf-8")  # as it is, line endings included
    try:
        doc = _yaml().load(text)
    except YAMLError:
        raise SolidError(f"{path} is not valid YAML") from None
    for section in SECTIONS:
        if not isinstance(doc, dict) or not isinstance(doc.get(section), dict):
            raise SolidError(f"{path}: '{section}' must be a mapping of per-dataset sections")
    return text, doc


def missing(doc, dataset: str) -> list[str]:
    """Which of data/embed/semantics.<dataset> the document lacks."""
    return [s for s in SECTIONS if dataset not in doc[s]]


def add_sections(path: Path, text: str, doc, dataset: str, derived: Derived,
                 origin: str) -> list[str]:
    """Add the derived sections the document lacks, each at the end of its mapping, and write
    the file; returns the keys added.

    The round-trip document says where each mapping ends; the sections go in there as text,
    so every other byte stays as it was (dumping the whole document would also re-indent
    lists, rewrite `~`, and hand a trailing blank line or comment to the new last entry).
    The result is checked before it is written: the file as it was plus exactly these
    sections, and valid params."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    order = list(doc)
    inserts, added = [], []
    for section in missing(doc, dataset):
        table = doc[section]
        if not table or table.fa.flow_style():
            raise SolidError(f"{path}: '{section}' is written inline ({{...}}), so solid cannot "
                             f"add {section}.{dataset} to it; add it by hand (see README, "
                             "'Your own data')")
        nxt = order.index(section) + 1
        stop = doc.lc.key(order[nxt])[0] if nxt < len(order) else len(lines)
        indent = table.lc.key(next(iter(table)))[1]
        inserts.append((_block_end(lines, doc.lc.key(section)[0], stop),
                        _render(dataset, section, derived, indent, origin)))
        added.append(f"{section}.{dataset}")
    for at, block in sorted(inserts, reverse=True):
        lines[at:at] = [block.replace("\n", newline)]
    new = "".join(lines)
    _check(path, text, new, dataset, derived, added)
    from solidcli._io import write_text

    write_text(path, new)
    return added


def _block_end(lines: list[str], start: int, stop: int) -> int:
    """The line after a top-level mapping's last entry: before `stop` (the next top-level key)
    and the blank and comment lines that lead up to it."""
    end = stop
    while end > start + 1 and (not lines[end - 1].strip()
                               or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def _render(dataset: str, section: str, derived: Derived, indent: int, origin: str) -> str:
    """`<dataset>: {...}` of one section as block YAML, indented as the mapping's entries, with
    a comment on where it came from and on each derived value."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    body = CommentedMap()
    for key, value in derived.sections[section].items():
        if isinstance(value, list):
            value = CommentedSeq(value)
            value.fa.set_flow_style()
        body[key] = value
        note = derived.comments.get(section, {}).get(key)
        if note:
            body.yaml_add_eol_comment(f"# {note}", key, column=COMMENT_COLUMN - indent)
    top = CommentedMap([(dataset, body)])
    top.yaml_add_eol_comment(f"# by `solid download` from {origin}", dataset,
                             column=len(dataset) + 3)
    buffer = io.StringIO()
    _yaml().dump(top, buffer)
    return "".join(" " * indent + line for line in buffer.getvalue().splitlines(keepends=True))


def _check(path: Path, old: str, new: str, dataset: str, derived: Derived,
           added: list[str]) -> None:
    """`new` must read as `old` plus exactly the added sections, and load as valid params."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from solidcli.config import from_dict

    def read(text: str):
        return YAML(typ="safe", pure=True).load(text)

    before = read(old)
    try:
        after = read(new)
        for key in added:
            section, _ = key.split(".", 1)
            if after[section].pop(dataset, None) != derived.sections[section]:
                before = None
    except YAMLError:
        after = None
    if after is None or after != before:
        raise SolidError(f"could not add {', '.join(added)} to {path} as its layout is; add "
                         "them by hand (see README, 'Your own data')")
    try:
        from_dict(read(new))
    except SolidError as exc:
        raise SolidError(f"the sections derived for '{dataset}' do not fit {path}: {exc}; add "
                         "them by hand (see README, 'Your own data')") from None

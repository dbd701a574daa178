"""The committed report against its inputs: every settings key it reads exists, every figure
is shown and current, every caption says what the claims' conditions say."""

import hashlib
import json
import re
from pathlib import Path

from imbcl.core.glossary import deviations
from imbcl.core.params import read_yaml
from imbcl.core.report import markdown
from imbcl.core.summary import settings

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("data", "model", "train", "small", "sweep", "prune", "real")
LOCKS = ("dvc.lock", "study/dvc.lock", "sensitivity/dvc.lock")


class Reads(dict):
    """A params section that records every key read from it, as (section, key); a missing
    key reads None, so one run lists every missing key."""

    def __init__(self, d: dict, seen: set, name: str) -> None:
        super().__init__(d)
        self.seen, self.name = seen, name

    def __getitem__(self, k):
        self.seen.add((self.name, k))
        return super().get(k)

    def get(self, k, default=None):
        self.seen.add((self.name, k))
        return super().get(k, default)


def keys_read(params: dict) -> set:
    """(section, key) pairs the report's settings, deviations and page read from `params`."""
    seen: set = set()
    wrapped = {s: Reads(params.get(s) or {}, seen, s) for s in SECTIONS}
    rows = json.loads((ROOT / "reports" / "claims.json").read_text())
    biases = {"default": 0.3, "small": 0.3}
    settings(wrapped, biases)
    deviations(wrapped, biases)
    markdown(rows, [], [], wrapped, biases=biases)
    return seen


def test_every_settings_key_the_report_reads_is_in_params_yaml():
    params = read_yaml(ROOT / "params.yaml")
    seen = keys_read(params)
    assert ("real", "prune_alpha") in seen and ("prune", "rhos") in seen  # it reads keys
    missing = sorted((s, k) for s, k in seen if k not in (params.get(s) or {}))
    assert missing == [], f"the report reads keys params.yaml lacks: {missing}"
    # ... and a key renamed in params.yaml is caught
    renamed = {**params, "real": {**params["real"], "prune_ratio": 0.5}}
    del renamed["real"]["prune_alpha"]
    seen = keys_read(renamed)
    assert ("real", "prune_alpha") in {(s, k) for s, k in seen if k not in renamed[s]}


def locked_md5() -> dict[str, str]:
    out = {}
    for lock in LOCKS:
        for stage in read_yaml(ROOT / lock)["stages"].values():
            out |= {o["path"]: o.get("md5") for o in stage.get("outs", [])}
    return out


def test_every_figure_is_shown_and_is_the_one_its_stage_wrote():
    """A figure no page shows, or one that no stage of the three pipelines wrote (a stale
    figure from a removed stage, or one changed by hand), fails here."""
    pages = "".join((ROOT / "reports" / p).read_text() for p in ("README.md", "race.md"))
    md5 = locked_md5()
    figures = sorted((ROOT / "reports" / "figures").glob("*.png"))
    assert figures
    for png in figures:
        name = f"reports/figures/{png.name}"
        assert f"](figures/{png.name})" in pages, f"{name}: shown on no page of reports/"
        assert name in md5, f"{name}: written by no stage (dvc.yaml, study/, sensitivity/)"
        digest = hashlib.md5(png.read_bytes()).hexdigest()
        assert digest == md5[name], f"{name}: not the bytes its stage's lock records"


def test_no_page_of_reports_or_docs_mentions_issues():
    for path in [*ROOT.glob("reports/**/*"), *ROOT.glob("docs/**/*")]:
        if path.is_file() and path.suffix in (".md", ".json", ".csv", ".tex"):  # text pages
            assert "issue" not in path.read_text().lower(), f"{path.relative_to(ROOT)}"


VERDICT_AT_RHO = re.compile(r"\b(holds|reversed|underpowered|undecided|absent|present)\b[^.]*rho")


def test_figure_captions_state_the_regime_of_their_claim():
    """A caption that says where its claim holds or reverses quotes the claim's regime."""
    text = (ROOT / "reports" / "README.md").read_text()
    rows = {r["id"]: r for r in json.loads((ROOT / "reports" / "claims.json").read_text())}
    captions = re.findall(r"^\*\*\S+\.png\.\*\* (C\d)\. (.*)$", text, flags=re.M)
    assert captions
    for cid, caption in captions:
        if VERDICT_AT_RHO.search(caption):
            regime = rows[cid]["regime"].replace("_", r"\_")
            assert regime in caption, f"{cid} caption does not state its regime {regime!r}"

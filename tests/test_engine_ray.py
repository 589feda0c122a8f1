"""The Ray Data engine gives the same records as the local engine (on a local Ray instance)."""

from __future__ import annotations

import json

import pytest

from defsum.cli import EXIT_FAILED_RECORDS, main
from tests.test_io import ARTICLE

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'defsum[ray]'")


def test_ray_engine_matches_local(tmp_path, tiny_classifier_dir, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(7):
        (folder / f"a{i}.txt").write_text(f"Headline {i}\n\n{ARTICLE} {i}")
    (folder / "lines.jsonl").write_text(json.dumps({"id": "x", "text": ARTICLE}) + "\n{broken\n")
    (folder / "empty.txt").write_text("")
    common = ["score", str(folder), "--classifier", str(tiny_classifier_dir), "--no-summary", "-q", "--batch-size", "3"]
    assert main([*common, "-o", str(tmp_path / "local.jsonl")]) == EXIT_FAILED_RECORDS
    try:
        ray_args = [*common, "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray", "--ray-object-store-mb", "100"]
        assert main(ray_args) == EXIT_FAILED_RECORDS
        (folder / "a7.txt").write_text(f"Headline 7\n\n{ARTICLE} 7")
        capsys.readouterr()
        assert main([*ray_args, "--resume"]) == EXIT_FAILED_RECORDS  # the broken line's and empty.txt's records
        err = capsys.readouterr().err
        assert "1 scored" in err and "10 already done" in err and "2 failed earlier" in err
    finally:
        ray.shutdown()
    local = [json.loads(line) for line in (tmp_path / "local.jsonl").read_text().splitlines()]
    remote = [json.loads(line) for line in (tmp_path / "ray.jsonl").read_text().splitlines()]
    assert len(local) == 10 and len(remote) == 11 and remote[-1]["id"] == "a7"
    remote = remote[:10]
    for a, b in zip(local, remote, strict=True):
        assert {k: a[k] for k in ("path", "id", "labels", "primary", "error", "content_hash")} == \
               {k: b[k] for k in ("path", "id", "labels", "primary", "error", "content_hash")}
        if a["scores"]:
            assert all(abs(a["scores"][k] - b["scores"][k]) < 1e-3 for k in a["scores"])


def test_ray_actors_load_the_models_on_the_device(monkeypatch):
    from defsum.engine_ray import _Scorer
    from defsum.pipeline import Analyzer

    seen = {}
    monkeypatch.setattr(Analyzer, "from_pretrained", classmethod(lambda cls, *args, **kwargs: seen.update(kwargs)))
    _Scorer(None, None, summarize=False, extractive=False, backend="torch", batch_size=4, device="cuda:1", precision="bf16")
    assert seen["device"] == "cuda:1" and seen["precision"] == "bf16" and seen["token_pruning"] is True
    _Scorer(None, None, summarize=False, extractive=False, backend="torch", batch_size=4, token_pruning=False)
    assert seen["token_pruning"] is False


def test_ray_actors_on_cuda_ask_for_a_gpu_each():
    from defsum.engine_ray import actor_device

    assert actor_device("cuda:3") == ("cuda", 1) and actor_device("cuda") == ("cuda", 1)
    assert actor_device("cpu") == ("cpu", None)


def test_ray_actors_score_only_rows_not_done_and_pass_done_keys_through(monkeypatch):
    """Articles already in the output travel through the one pipeline as keys (so each file is read
    once: the pipeline has one read step; this test checks the actor's part, not a count of reads);
    the actor scores the rest and keeps every row's place."""
    from dataclasses import asdict

    from defsum import engine_ray
    from defsum.io import Article

    scored = []
    monkeypatch.setattr(engine_ray._Scorer, "__init__", lambda self, *a, **k: setattr(self, "batch_size", 2) or setattr(self, "analyzer", None))
    monkeypatch.setattr(engine_ray, "analyze_chunk", lambda analyzer, arts, bs: scored.extend(arts) or [{"id": a.id} for a in arts])
    arts = [Article(f"{i}.txt", str(i), None, f"text {i}") for i in range(4)]
    batch = {"article": [json.dumps(asdict(a)) if i % 2 else "" for i, a in enumerate(arts)],
             "key": [a.key for a in arts]}
    out = engine_ray._Scorer()(batch)
    assert [a.id for a in scored] == ["1", "3"]
    assert [json.loads(r)["id"] if r else None for r in out["record"]] == [None, "1", None, "3"]
    assert out["key"] == batch["key"]

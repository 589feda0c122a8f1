"""training/gpu_run.py: what a borrowed GPU machine's transfer limits need (pack, unpack, hide)."""

from __future__ import annotations

import json

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from defsum.summarizer import Summarizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))

import gpu_run  # noqa: E402

EMB = "encoder.embeddings.word_embeddings.weight"


@pytest.fixture()
def trained(tiny_summarizer_path: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The tiny summariser as a 'trained' folder, and a reference whose word embeddings differ
    from it by a fine-tuning-sized step in some rows only."""
    weights = load_file(str(tiny_summarizer_path / "model.safetensors"))
    torch.manual_seed(1)
    ref = weights[EMB].clone()
    moved = torch.arange(0, ref.shape[0], 7)
    ref[moved] += 0.01 * torch.randn(len(moved), ref.shape[1])
    reference = tmp_path / "minilm.safetensors"
    save_file({"embeddings.word_embeddings.weight": ref.half()}, str(reference))
    return tiny_summarizer_path, reference


def test_pack_and_unpack_give_back_the_model(trained, tmp_path: Path):
    model_dir, reference = trained
    packed = gpu_run.pack_weights(load_file(str(model_dir / "model.safetensors")), load_file(str(reference)))
    assert EMB not in packed and packed[EMB + "::q"].dtype == torch.int8  # the embeddings travel as int8
    assert {t.dtype for n, t in packed.items() if "::" not in n} == {torch.float16}
    manifest = gpu_run.pack(model_dir, tmp_path / "out", reference, chunk=400_000)
    assert len(manifest["parts"]) > 1 and all(p.stat().st_size <= 400_000 for p in (tmp_path / "out").glob("part-*.bin"))
    dest = gpu_run.unpack(tmp_path / "out", tmp_path / "back", reference)
    before, after = load_file(str(model_dir / "model.safetensors")), load_file(str(dest / "model.safetensors"))
    assert before.keys() == after.keys()
    for name, t in before.items():
        if name == EMB:  # int8 difference from the reference: within half a step of each row's largest change
            ref = load_file(str(reference))["embeddings.word_embeddings.weight"].float()
            step = (t.float() - ref).abs().amax(dim=1, keepdim=True) / 127
            assert ((after[name].float() - t.float()).abs() <= step / 2 + 1e-3 * t.float().abs() + 1e-6).all()
        else:
            assert torch.equal(after[name], t.half() if t.is_floating_point() else t), name
    for f in model_dir.iterdir():
        if f.name != "model.safetensors":
            assert (dest / f.name).read_bytes() == f.read_bytes(), f.name
    article = "North Korea fired two ballistic missiles into the sea on Tuesday, Japan's defence ministry said."
    assert isinstance(Summarizer.from_pretrained(dest).summarize(article, num_beams=2), str)


def test_unpack_refuses_damaged_parts_and_another_reference(trained, tmp_path: Path):
    model_dir, reference = trained
    out = tmp_path / "out"
    gpu_run.pack(model_dir, out, reference, chunk=400_000)
    other = tmp_path / "other.safetensors"
    save_file({"embeddings.word_embeddings.weight": torch.zeros(3, 2)}, str(other))
    with pytest.raises(SystemExit, match="not the reference the run packed against"):
        gpu_run.unpack(out, tmp_path / "a", other)
    part = out / "part-01.bin"
    part.write_bytes(part.read_bytes()[:-1] + b"x")
    with pytest.raises(SystemExit, match="sha256 differs"):
        gpu_run.unpack(out, tmp_path / "b", reference)
    part.unlink()
    with pytest.raises(SystemExit, match=r"missing \['part-01.bin'\]"):
        gpu_run.unpack(out, tmp_path / "c", reference)
    with pytest.raises(SystemExit, match="no manifest.json"):
        gpu_run.unpack(tmp_path, tmp_path / "d", reference)


def test_pack_refuses_what_the_device_tool_cannot_return(trained, tmp_path: Path):
    model_dir, reference = trained
    with pytest.raises(SystemExit, match="more than the device tool returns"):
        gpu_run.pack(model_dir, tmp_path / "out", reference, chunk=10_000)
    with pytest.raises(ValueError, match="the reference has no tensor"):
        gpu_run.pack_weights({EMB: torch.zeros(4, 3)}, {"embeddings.word_embeddings.weight": torch.zeros(4, 2)})


def _repo(tmp_path: Path, folder: str = "summarizer") -> Path:
    repo = tmp_path / "repo"
    (repo / "defsum" / "models" / folder).mkdir(parents=True)
    (repo / "defsum" / "models" / folder / "model.safetensors").write_bytes(b"w" * gpu_run.HIDE_MIN_BYTES)
    (repo / "defsum" / "models" / folder / "config.json").write_text("{}")
    for args in (["init", "-q"], ["add", "."], *_COMMIT):
        subprocess.run(["git", *args], cwd=repo, check=True)
    return repo


_COMMIT = (["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"],)


def test_hide_takes_big_weights_out_of_what_travels_and_restore_puts_them_back(tmp_path: Path):
    repo = _repo(tmp_path)
    weights = "defsum/models/summarizer/model.safetensors"
    full = gpu_run.travelling_bytes(repo)
    assert gpu_run.hide(repo) == [weights]
    assert (repo / weights).is_file()  # still on disk
    assert gpu_run.travelling_bytes(repo) == full - gpu_run.HIDE_MIN_BYTES
    assert weights not in gpu_run.git("ls-files", repo=repo)
    assert gpu_run.git("status", "--porcelain", repo=repo).split() == ["D", weights]  # staged, not deleted
    assert gpu_run.hide(repo) == []  # a second prepare hides nothing more
    assert gpu_run.restore(repo) == [weights]
    assert gpu_run.git("status", "--porcelain", repo=repo) == ""
    assert gpu_run.travelling_bytes(repo) == full
    assert "gpu_run" not in gpu_run.exclude_path(repo).read_text()
    assert gpu_run.restore(repo) == []


def test_hide_and_restore_keep_what_they_need_when_something_goes_wrong(tmp_path: Path, monkeypatch):
    repo = _repo(tmp_path, folder="s[1] x")  # glob characters and a space in the path
    weights = "defsum/models/s[1] x/model.safetensors"
    exclude = gpu_run.exclude_path(repo)
    exclude.write_text("/keep-me")  # no trailing newline
    assert gpu_run.hide(repo) == [weights]
    assert weights not in gpu_run.git("ls-files", repo=repo)
    assert gpu_run.git("status", "--porcelain", "--ignored", repo=repo).count("!!") == 1  # the file is ignored
    assert gpu_run.hidden_block(repo) == [weights]
    subprocess.run(["git", *_COMMIT[0]], cwd=repo, check=True)  # a commit made while hidden deletes the file from HEAD
    with pytest.raises(SystemExit, match="not back in git's index"):
        gpu_run.restore(repo)
    assert gpu_run.hidden_block(repo) == [weights]  # the block stays, so the paths are not forgotten
    subprocess.run(["git", "reset", "-q", "--soft", "HEAD~1"], cwd=repo, check=True)
    assert gpu_run.restore(repo) == [weights]
    assert exclude.read_text() == "/keep-me\n" and gpu_run.git("status", "--porcelain", repo=repo) == ""
    real_git = gpu_run.git
    monkeypatch.setattr(gpu_run, "git", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("rm failed"))
                        if "rm" in a else real_git(*a, **k))
    with pytest.raises(RuntimeError):
        gpu_run.hide(repo)  # the block is written before the index changes ...
    monkeypatch.setattr(gpu_run, "git", real_git)
    assert gpu_run.restore(repo) == [weights] and gpu_run.hidden_block(repo) is None  # ... so restore still runs
    exclude.write_text(gpu_run.BEGIN + "\n/x\n/.device/\n")  # a block with no end is not a block
    assert gpu_run.hidden_block(repo) is None and gpu_run.restore(repo) == []
    assert "/.device/" in exclude.read_text()


def test_doctests():
    import doctest

    assert doctest.testmod(gpu_run).failed == 0
    ts = _train_summarizer()
    args = __import__("argparse").Namespace(eval_every=100, eval_minutes=0.5, steps=1000)
    assert ts.evaluation_due(7, args, False, 0.6) and not ts.evaluation_due(7, args, False, 0.1)
    assert ts.evaluation_due(7, args, True, 0.1) and ts.evaluation_due(1000, args, False, 0.0)
    assert not ts.evaluation_due(7, __import__("argparse").Namespace(eval_every=100, eval_minutes=0, steps=1000), False, 99.0)


def _train_summarizer():
    import train_summarizer

    return train_summarizer


def test_the_device_script_passes_bash_syntax_check():
    subprocess.run(["bash", "-n", str(ROOT / "training" / "gpu_summarizer.sh")], check=True)


def test_help_lists_the_steps():
    out = subprocess.run([sys.executable, str(ROOT / "training" / "gpu_run.py"), "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert all(word in out for word in ("prepare", "pack", "restore", "unpack", "docs/gpu.md"))


def test_unpack_like_a_release_takes_its_ranker_and_gates(trained, tmp_path: Path):
    model_dir, reference = trained
    gpu_run.pack(model_dir, tmp_path / "out", reference)
    release = tmp_path / "release"
    release.mkdir()
    (release / "defsum_config.json").write_text(json.dumps({"max_source_tokens": 999, "fallback": "salient", "max_novel_trigrams": 0}))
    (release / "sentence_ranker.safetensors").write_bytes(b"ranker")
    dest = gpu_run.unpack(tmp_path / "out", tmp_path / "back", reference, like=release)
    cfg = json.loads((dest / "defsum_config.json").read_text())
    assert (cfg["fallback"], cfg["max_novel_trigrams"], cfg["max_source_tokens"]) == ("salient", 0, 128)
    assert (dest / "sentence_ranker.safetensors").read_bytes() == b"ranker"
    with pytest.raises(SystemExit, match="no defsum_config.json"):
        gpu_run.unpack(tmp_path / "out", tmp_path / "again", reference, like=tmp_path / "out")


FAKE_PY = '''#!{python}
"""Stands in for python3 on the GPU machine: -c and -m run for real; the training and pack scripts
are recorded, and a stage named in FAIL exits 1 without writing a model."""
import os, sys
args = sys.argv[1:]
if args[0] in ("-c", "-m"):
    os.execv(sys.executable, [sys.executable, *args])
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
if args[0].endswith("train_summarizer.py"):
    out = args[args.index("--out") + 1]
    if os.path.basename(out) in os.environ.get("FAIL", "").split():
        sys.exit(1)
    for name in ("final",) + (("best",) if "--dev-size" in args else ()):
        os.makedirs(os.path.join(out, name))
        open(os.path.join(out, name, "model.safetensors"), "w").close()
    open(os.path.join(out, "train.log"), "w").write("done: fake\\n")
'''


def _run_script(tmp_path: Path, fail: str = "") -> tuple[int, list[str]]:
    import gzip
    import os

    work = tmp_path / "checkout"
    if not work.exists():
        (work / ".device" / "minilm").mkdir(parents=True)
        (work / ".device" / "data").mkdir()
        with gzip.open(work / ".device" / "data" / "kcna_2024.jsonl.gz", "wt") as f:
            f.write("{}\n")
        (work / "data" / "corpus").mkdir(parents=True)
        for split in ("train", "validation"):
            (work / "data" / "corpus" / f"{split}.jsonl").write_text("{}\n")
        py = tmp_path / "fake_python"
        py.write_text(FAKE_PY.format(python=sys.executable))
        py.chmod(0o755)
    log = tmp_path / f"calls-{fail or 'none'}.log"
    log.unlink(missing_ok=True)
    env = dict(os.environ, OUT=str(tmp_path / "out"), PY=str(tmp_path / "fake_python"), DEVICE="cpu", BUDGET_S="200",
               WORK=str(tmp_path / "gpu_work"), FAKE_LOG=str(log), FAIL=fail)
    done = subprocess.run(["bash", str(ROOT / "training" / "gpu_summarizer.sh")], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)
    return done.returncode, log.read_text().splitlines() if log.exists() else []


def _base_of(calls: list[str], stage: str) -> str:
    args = next(c for c in calls if f"/{stage} " in c).split()
    return args[args.index("--base") + 1] if "--base" in args else "encoder"


def test_the_device_script_chains_its_stages_and_packs_the_best_model_there_is(tmp_path: Path):
    rc, calls = _run_script(tmp_path)
    assert rc == 0
    assert _base_of(calls, "2-pairs").endswith("1-gsg/final") and _base_of(calls, "3-corpus").endswith("2-pairs/best")
    assert calls[-1].split()[:3] == ["training/gpu_run.py", "pack", str(tmp_path / "gpu_work" / "run" / "3-corpus" / "best")]
    rc, calls = _run_script(tmp_path, fail="2-pairs")  # a failed stage: the next one starts from the newest model
    assert rc == 0 and _base_of(calls, "3-corpus").endswith("1-gsg/final") and calls[-1].split()[2].endswith("3-corpus/best")
    rc, calls = _run_script(tmp_path, fail="3-corpus")  # a rerun never packs the previous run's stage 3
    assert rc == 0 and calls[-1].split()[2].endswith("2-pairs/best")
    rc, calls = _run_script(tmp_path, fail="1-gsg 2-pairs 3-corpus")
    assert rc == 1 and not any("pack" in c for c in calls) and _base_of(calls, "3-corpus") == "encoder"
    assert "nothing to pack" in (tmp_path / "out" / "run.log").read_text()


def test_the_device_script_stops_at_once_when_its_inputs_did_not_travel(tmp_path: Path):
    import shutil

    _run_script(tmp_path)  # builds the fake checkout
    shutil.rmtree(tmp_path / "checkout" / ".device" / "minilm")
    rc, calls = _run_script(tmp_path)
    assert rc == 2 and calls == [] and "no .device/minilm" in (tmp_path / "out" / "run.log").read_text()
    (tmp_path / "checkout" / ".device" / "minilm").mkdir()
    (tmp_path / "checkout" / "data" / "corpus" / "train.jsonl").unlink()
    rc, calls = _run_script(tmp_path)
    assert rc == 2 and calls == [] and "no data/corpus/train.jsonl" in (tmp_path / "out" / "run.log").read_text()

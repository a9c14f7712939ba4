#!/usr/bin/env bash
# Writes a random-weight BLT model directory with the published blt-1b shapes (facebook/blt-1b), in the
# official release layout and stored in bf16 (about 9 GB), for the memory and bandwidth figures of issue 11.
# Never commit its output: the default lies under runs/ (git-ignored). --tiny writes the same configuration
# at a tiny size (what tests/tools/test_cli_init.cpp runs).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/make_blt1b_random.sh [--seed N] [--blt PATH] [--tiny] [OUT_DIR]
  OUT_DIR   directory to create (default runs/blt1b-random); an existing one is refused
  --seed N  random seed (default 0)
  --blt P   the blt binary (default build/blt)
  --tiny    every setting kept, widths, depths and the hash vocab shrunk (seconds to write)
Shapes: global 25 x 2048 (16 heads), local encoder 1 x 1024, local decoder 9 x 1024 (16 heads), cross_attn_k 2,
hash n-grams 3..8 with 500002 rows (1 function), entropy model 14 x 768 (12 heads, window 512), entropy patching.
USAGE
}

out=runs/blt1b-random seed=0 blt=build/blt tiny=0
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --seed) seed="$2"; shift 2 ;;
    --blt) blt="$2"; shift 2 ;;
    --tiny) tiny=1; shift ;;
    -*) echo "error: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) out="$1"; shift ;;
  esac
done
if [[ -e "$out" ]]; then echo "error: $out exists (remove it or pick another OUT_DIR)" >&2; exit 1; fi

# blt-1b (the transformers port's defaults and conversion script): sizes below; --tiny shrinks them.
gd=2048 gl=25 gh=16 ld=1024 el=1 dl=9 lh=16 hv=500002 ed=768 elay=14 eh=12 mo=256
if ((tiny)); then gd=64 gl=2 gh=4 ld=32 el=1 dl=2 lh=4 hv=509 ed=32 elay=2 eh=2 mo=16; fi

cfg=$(mktemp -d)
trap 'rm -rf "$cfg"' EXIT
cat > "$cfg/config.json" <<JSON
{"args": {
  "dim": $gd, "dim_global": $gd, "n_layers_global": $gl, "n_heads_global": $gh,
  "dim_local_encoder": $ld, "n_layers_local_encoder": $el, "n_heads_local_encoder": $lh,
  "dim_local_decoder": $ld, "n_layers_local_decoder": $dl, "n_heads_local_decoder": $lh,
  "multiple_of": $mo, "ffn_dim_multiplier": 1.0, "norm_eps": 1e-05, "rope_theta": 500000.0,
  "max_seqlen": 4096, "max_encoder_seq_length": 24576, "local_attention_window_len": 512,
  "attn_bias_type": "block_causal",
  "encoder_hash_byte_group_size": [3, 4, 5, 6, 7, 8],
  "encoder_hash_byte_group_vocab": $hv, "encoder_hash_byte_group_nb_functions": 1,
  "cross_attn_encoder": true, "cross_attn_decoder": true, "cross_attn_k": 2, "cross_attn_nheads": $lh,
  "cross_attn_all_layers_encoder": false, "cross_attn_all_layers_decoder": true,
  "cross_attn_init_by_pooling": true, "downsampling_by_pooling": "max",
  "patching_mode": "entropy", "patch_size": 4.5, "patching_threshold": 1.335442066192627
}}
JSON
cat > "$cfg/params.json" <<JSON
{"entropy_model": {
  "dim": $ed, "n_layers": $elay, "n_heads": $eh, "vocab_size": 260, "max_seqlen": 8192,
  "multiple_of": $mo, "ffn_dim_multiplier": 1.0, "norm_eps": 1e-05, "rope_theta": 10000.0,
  "attn_bias_type": "local_block_causal", "sliding_window": 512, "eos_id": 2, "weight_tying": false},
 "data": {"patcher_args": {"patching_mode": "entropy", "patch_size": 4.5, "threshold": 1.335442066192627,
  "max_patch_length": null, "monotonicity": false}}}
JSON
"$blt" init --config "$cfg/config.json" --entropy-config "$cfg/params.json" --dtype bf16 --seed "$seed" --out "$out"

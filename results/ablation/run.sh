#!/bin/bash
# The ablation of results/ablation/README.md: eight configurations trained side by side on
# one GPU, each for the same wall time (420 s), on the demo corpus.
#   bash results/ablation/run.sh OUT [SECONDS]
set -u
OUT=${1:?usage: run.sh OUT [SECONDS]}
SECONDS_EACH=${2:-420}
M=data/fillets/manifest.csv
COMMON="--gpu 0 --manifest $M --iterations 100000 --no-progress --log-interval 50i
        --snapshot-interval 150i --plot-interval 100000i --sample-interval 100000i"
ADAM="--optimizer adam --lr-gen 2e-4 --lr-dis 1e-4 --beta1 0.5"
BEST="$ADAM --label-conditioning cin --norm instance --lambda-fm 0 --lambda-id 5 --id-until 300"
declare -A CONF=(
  [seed_full]="--preset cfcefd21"
  [seed_small]="--preset small"
  [seed_adam]="--preset small $ADAM"
  [best]="--preset small $BEST"
  [best_rmsprop]="--preset small $BEST --optimizer rmsprop --lr-gen 1e-5 --lr-dis 1e-5"
  [best_bottleneck]="--preset small $BEST --label-conditioning bottleneck"
  [best_fm10]="--preset small $BEST --lambda-fm 10"
  [best_ndis1]="--preset small $BEST --n-dis 1"
)
mkdir -p "$OUT"
for name in "${!CONF[@]}"; do
  timeout -s KILL "$SECONDS_EACH" python train.py $COMMON ${CONF[$name]} --out "$OUT/$name" \
    > "$OUT/$name.out" 2>&1 &
done
wait

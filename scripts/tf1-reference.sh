#!/usr/bin/env bash
# Regenerates tests/fixtures/tf1/ from real TensorFlow 1 semantics (tf.compat.v1), in a throwaway
# environment that is deleted afterwards: TensorFlow is never a chainrule dependency.
# Usage: scripts/tf1-reference.sh [PROGRAM ...]
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir=${TF1_ENV:-$(mktemp -d)/tf1}
python=${PYTHON:-python3}
if [[ ! -x "$env_dir/bin/python" ]]; then
    echo "tf1-reference: making a throwaway environment with tensorflow-cpu in $env_dir"
    trap 'rm -rf "$env_dir"' EXIT
    "$python" -m venv "$env_dir"
    "$env_dir/bin/pip" install -q tensorflow-cpu==2.21.0 tf-keras==2.21.0
fi
TF_USE_LEGACY_KERAS=1 "$env_dir/bin/python" scripts/tf1_reference.py "$@"

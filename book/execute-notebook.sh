#!/usr/bin/env bash
# Execute notebooks/NAME.py (jupytext source) with papermill into book/notebooks/NAME.ipynb, the
# page the book renders and nbval checks. The kernel runs in book/notebooks/. A failed run leaves
# the previous page untouched.
# usage: book/execute-notebook.sh NAME [papermill options, e.g. -p epochs 2 -y "seeds: [1, 2]"]
set -euo pipefail
name=$1; shift
cd "$(dirname "$0")/.."
bin=${VENV:-.venv}/bin
mkdir -p .cache/notebooks book/notebooks
"$bin/jupytext" --quiet --to ipynb -o ".cache/notebooks/$name.ipynb" "notebooks/$name.py"
"$bin/papermill" ".cache/notebooks/$name.ipynb" ".cache/notebooks/$name.out.ipynb" --cwd book/notebooks \
  -k python3 --no-progress-bar "$@"
mv ".cache/notebooks/$name.out.ipynb" "book/notebooks/$name.ipynb"

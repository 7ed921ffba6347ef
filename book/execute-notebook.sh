#!/usr/bin/env bash
# Execute a page with papermill into book/notebooks/PAGE.ipynb, the page the book renders and nbval
# checks. PAGE is a notebook (notebooks/PAGE.py, a jupytext source, with its page's default parameters)
# or a variant of one in anl.pages.BOOK (benchmark-fashion-mnist runs notebooks/benchmark.py with the
# overrides of its page, written to a papermill parameter file). The kernel
# runs in book/notebooks/. A failed run leaves the previous page untouched. The page's H1 (and so its
# <title>) becomes its title in _toc.yml where it has one, so that two pages of one source (the
# benchmark on MNIST and on Fashion-MNIST) say which they are, and a cell tagged if:NAME is left out
# of the page when its parameter NAME is empty (book/finish_page.py). A parameter the page does not take
# (papermill would only warn and run the page with its default) stops the script first, named;
# IF_TAKEN (space-separated NAME=VALUE) gives each NAME=VALUE to the page only if it takes NAME.
# usage: book/execute-notebook.sh PAGE [papermill options, e.g. -p epochs 2 -y "seeds: [1, 2]"]
set -euo pipefail
page=$1; shift
cd "$(dirname "$0")/.."
bin=${VENV:-.venv}/bin
source=$page parameters=()
mkdir -p .cache/notebooks book/notebooks
if [[ ! -f "notebooks/$page.py" ]]; then
  # the variant's notebook on stdout, its overrides (JSON, which papermill reads as YAML) into the file
  source=$("$bin/python" -c 'import json, sys
from anl import pages
page = pages.BOOK.get(sys.argv[1])
if page is None:
    sys.exit(f"no page {sys.argv[1]}: neither notebooks/{sys.argv[1]}.py nor a page of anl.pages.BOOK")
json.dump(page.overrides(), open(sys.argv[2], "w"))
print(page.notebook)' "$page" ".cache/notebooks/$page.parameters.yml") || exit 2
  parameters=(-f ".cache/notebooks/$page.parameters.yml")
fi
"$bin/jupytext" --quiet --to ipynb -o ".cache/notebooks/$page.ipynb" "notebooks/$source.py"
known=$("$bin/python" -c 'import sys, papermill; print(" ".join(papermill.inspect_notebook(sys.argv[1])))' \
  ".cache/notebooks/$page.ipynb")
for pair in ${IF_TAKEN:-}; do
  if [[ " $known " == *" ${pair%%=*} "* ]]; then parameters+=(-p "${pair%%=*}" "${pair#*=}"); fi
done
# papermill parses the options and names each unknown parameter, without executing anything
log=".cache/notebooks/$page.parameters.log"
"$bin/papermill" ".cache/notebooks/$page.ipynb" ".cache/notebooks/$page.prepared.ipynb" --prepare-only \
  -k python3 --language python "${parameters[@]}" "$@" 2>"$log" || { cat "$log" >&2; exit 2; }
unknown=$(sed -n 's/.*Passed unknown parameter: //p' "$log" | paste -sd, - | sed 's/,/, /g')
rm -f "$log" ".cache/notebooks/$page.prepared.ipynb"
if [[ -n $unknown ]]; then
  echo "page $page: unknown parameter(s) $unknown; the page takes ${known// /, }" >&2
  exit 2
fi
"$bin/papermill" ".cache/notebooks/$page.ipynb" ".cache/notebooks/$page.out.ipynb" --cwd book/notebooks \
  -k python3 --no-progress-bar "${parameters[@]}" "$@"
"$bin/python" book/finish_page.py "book/notebooks/$page" ".cache/notebooks/$page.out.ipynb"
mv ".cache/notebooks/$page.out.ipynb" "book/notebooks/$page.ipynb"

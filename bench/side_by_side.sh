#!/usr/bin/env bash
# Run one bench script from two trees at the same time, one per core, so that a shared host's
# drift touches both alike (alternating runs in turn disagreed by up to 30 % here):
#   bench/side_by_side.sh OLD_TREE NEW_TREE bench/compare_chunks.py 32768 16384
# (e.g. OLD_TREE from `git worktree add /tmp/old <commit>`). The script is this tree's, the code each
# tree's own (PYTHONPATH). Each line of output names its tree.
set -euo pipefail
old=$(cd "$1" && pwd); new=$(cd "$2" && pwd); script=$(cd "$(dirname "$3")" && pwd)/$(basename "$3"); shift 3
python=${PYTHON:-$new/.venv/bin/python}
(cd "$old" && PYTHONPATH="$old" "$python" "$script" "$@" 2>&1 | sed "s|^|$old: |") &
(cd "$new" && PYTHONPATH="$new" "$python" "$script" "$@" 2>&1 | sed "s|^|$new: |") &
wait

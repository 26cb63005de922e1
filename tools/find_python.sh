#!/usr/bin/env bash
# Print the path of a Python interpreter of version $1 (e.g. 3.10), or nothing.
# Looks on PATH (python3.10), then in pyenv's versions folder, then asks uv.
# Used by the Makefile for test-lowest / test-newest; exits 0 either way.
want="${1:?usage: tools/find_python.sh 3.10}"
works() { [ -x "$1" ] && [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; }
candidate="$(command -v "python$want" 2>/dev/null)"
if [ -n "$candidate" ] && works "$candidate"; then echo "$candidate"; exit 0; fi
root="${PYENV_ROOT:-$HOME/.pyenv}"
for candidate in $(ls -d "$root"/versions/"$want".*/bin/python"$want" 2>/dev/null | sort -V -r); do
  if works "$candidate"; then echo "$candidate"; exit 0; fi
done
if command -v uv >/dev/null; then
  candidate="$(UV_PYTHON_DOWNLOADS=never uv python find "$want" 2>/dev/null)"
  if [ -n "$candidate" ] && works "$candidate"; then echo "$candidate"; exit 0; fi
fi
exit 0

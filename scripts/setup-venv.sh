# Sourced by run-shop.sh and run-tests.sh: a virtualenv ($VENV, default .venv) with fishchips and $EXTRAS installed,
# made once, refreshed when pyproject.toml changes.
python=${PYTHON:-python3}
venv=${VENV:-.venv}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "fishchips needs Python 3.11 or newer; found $("$python" --version 2>&1). Set PYTHON=/path/to/python3.11" >&2
    exit 1
}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
stamp="$venv/.installed-${EXTRAS:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "Installing fishchips and its dependencies into $venv ..." >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}"
    touch "$stamp"
fi

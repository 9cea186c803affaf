# Sourced by run-shop.sh and run-tests.sh: a virtualenv ($VENV, default .venv) with fishchips and $EXTRAS installed,
# made once, refreshed when pyproject.toml changes.
# uv (from PyPI) makes it in seconds: the one on PATH, or one pip puts in ~/.cache/fishchips/uv the first time.
# --seed puts pip in the venv all the same, so `.venv/bin/pip install ...` works as in any venv.
# Where uv cannot be had (no pip, no network), the standard venv and pip do it, as before, only slower.
# fishchips's own modules are compiled to bytecode at every setup (quick once done): where PYTHONDONTWRITEBYTECODE is
# set (CI images often), Python would otherwise compile them again in every process it starts, and the shop starts a
# process per role (docs/performance.md). uv's --compile-bytecode would do the same for the dependencies, but it doubled
# a fresh install's time here, so it is left to whoever sets that variable.
python=${PYTHON:-python3}
venv=${VENV:-.venv}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "fishchips needs Python 3.11 or newer; found $("$python" --version 2>&1). Set PYTHON=/path/to/python3.11" >&2
    exit 1
}

install_with_uv() {
    local home=${XDG_CACHE_HOME:-$HOME/.cache}/fishchips/uv uv
    uv=$(command -v uv || echo "$home/bin/uv")
    [ -x "$uv" ] || "$python" -m pip install --quiet --disable-pip-version-check --target "$home" uv >/dev/null 2>&1 || return 1
    { [ -x "$venv/bin/python" ] || "$uv" venv --quiet --seed --python "$python" "$venv"; } &&
        "$uv" pip install --quiet --python "$venv/bin/python" -e ".${EXTRAS:+[$EXTRAS]}"
}

install_with_pip() {
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}"
}

stamp="$venv/.installed-${EXTRAS:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "Installing fishchips and its dependencies into $venv ..." >&2
    install_with_uv || {
        echo "uv could not install them: using pip, which takes longer" >&2
        install_with_pip
    }
    touch "$stamp"
fi
"$venv/bin/python" -m compileall -q -j 0 src >/dev/null

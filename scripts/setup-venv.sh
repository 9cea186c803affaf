# Sourced by run-shop.sh and run-tests.sh: a virtualenv ($VENV, default .venv) with fishchips and $EXTRAS installed,
# made once, refreshed when pyproject.toml changes.
# uv (from PyPI) makes it in seconds: the one on PATH, or one pip puts in ~/.cache/fishchips/uv the first time.
# --seed puts pip in the venv all the same, so `.venv/bin/pip install ...` works as in any venv.
# Where uv cannot be had (no pip, no network), the standard venv and pip do it, as before, only slower.
# fishchips's own modules are compiled to bytecode at every setup (quick once done): where PYTHONDONTWRITEBYTECODE is
# set (CI images often), Python would otherwise compile them again in every process it starts, and the shop starts a
# process per role (docs/performance.md). With COMPILE_DEPENDENCIES=1 (run-tests.sh: the suite starts hundreds of
# processes) the dependencies are compiled there too, once after each install, 3 s on two cores: a role process then
# imports in 0.2 s instead of 0.5, the live app in 0.6 s instead of 1.3. run-shop.sh does not: a fresh clone's first
# start would wait those 3 s (or, compiling meanwhile, share the two cores), which is most of what a start saves.
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
compiled="$venv/.compiled-${EXTRAS:-base}"
if [ -n "${COMPILE_DEPENDENCIES:-}" ] && [ -n "${PYTHONDONTWRITEBYTECODE:-}" ] && [ ! "$compiled" -nt "$stamp" ]; then
    # a few packages ship files for other Pythons, which do not compile: compileall says so (not shown) and goes on
    "$venv/bin/python" -m compileall -q -j 0 "$venv/lib" >/dev/null 2>&1 || true
    touch "$compiled"
fi
"$venv/bin/python" -m compileall -q -j 0 src >/dev/null

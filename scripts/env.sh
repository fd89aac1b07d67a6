# Sourced by the scripts: the environment for running this checkout through qgis_process and pytest.
LCB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LCB_STATE="$LCB_ROOT/.lcb"
export LCB_ROOT LCB_STATE
export LCB_PLUGINS="$LCB_STATE/plugins"
export QGIS_PLUGINPATH="$LCB_PLUGINS"
export XDG_DATA_HOME="$LCB_STATE/xdg" XDG_CONFIG_HOME="$LCB_STATE/config"
export XDG_RUNTIME_DIR="$LCB_STATE/runtime"; mkdir -p -m 700 "$XDG_RUNTIME_DIR"
export PROJ_DATA=/usr/share/proj QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
if [ -x "$LCB_STATE/venv/bin/python" ]; then
  LCB_SITE=$("$LCB_STATE/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  case ":${PYTHONPATH:-}:" in *":$LCB_SITE:"*) ;; *) export PYTHONPATH="$LCB_SITE${PYTHONPATH:+:$PYTHONPATH}";; esac
fi
export LCB_PY="$LCB_STATE/venv/bin/python"

"""Kill safety tests: a merge or an apply run in a child Python that stops inside its transaction (the LCB_TEST_PAUSE
hook of core/merge.py), so a test can kill it there."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import PLUGINS


def start_paused(statement, args, paused, env=None, point="before_commit", waits=1200):
    """Start `statement` (Python using `merge` or `apply_changes`, reading sys.argv[1:] = `args`) with
    LCB_TEST_PAUSE=`point`; return the process once `paused` (a marker Path, or a function returning True) says it
    stopped there, or once it exited (the caller asserts which)."""
    code = (f"import sys; sys.path.insert(0, {str(PLUGINS)!r}); from land_contract_bridge.core import merge; "
            f"from land_contract_bridge.core.changes import apply_changes; {statement}")
    if isinstance(paused, Path):
        paused.unlink(missing_ok=True)
    arrived = paused.exists if isinstance(paused, Path) else paused
    p = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], env=dict(env or os.environ, LCB_TEST_PAUSE=point))
    for _ in range(waits):
        if arrived() or p.poll() is not None:
            break
        time.sleep(0.05)
    return p


def kill(p):
    """SIGKILL: no handler, no cleanup in the process itself."""
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
    p.wait()

"""Files holding personal data that must not outlive the process that writes them, even when it is killed."""
import os
import subprocess


class Guard:
    """Deletes paths (folders or files) when this process ends, however it ends (SIGKILL included): a small child
    process blocks reading a pipe whose only writer is this process; the kernel closes that pipe when this process
    dies, and the child then deletes the paths. A normal end deletes or moves them first and then lets the child go
    (deleting what no longer exists is harmless).

    Used for the merge's staging folder and for a new registration database while it is being built: both hold
    names and ID numbers."""

    def __init__(self, *paths):
        self.proc = self.w = None
        r, w = os.pipe()
        try:
            if os.name == "nt":  # untested here: cmd waits for end-of-input, then removes the folder
                rm = " & ".join(f'(if exist "{p}\\*" (rmdir /s /q "{p}") else (del /f /q "{p}"))' for p in paths)
                args = ["cmd", "/d", "/q", "/c", f"set /p _= & {rm}"]
                kw = dict(creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0) | subprocess.CREATE_NEW_PROCESS_GROUP)
            else:
                args = ["/bin/sh", "-c", 'read _ignored; exec rm -rf -- "$@"', "lcb-guard", *map(str, paths)]
                kw = dict(start_new_session=True)  # not killed with this process's group
            self.proc = subprocess.Popen(args, stdin=r, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True, **kw)
            self.w = w
        except OSError:  # no shell: the next run's sweep removes what a kill leaves
            os.close(w)
        finally:
            os.close(r)

    def release(self):
        if self.w is not None:
            os.close(self.w)
            self.w = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

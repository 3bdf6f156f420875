"""Whether this machine can compile the per-event modules (setup.py)."""

import shutil
import sysconfig


def c_compiler_missing() -> str | None:
    """Why the install leaves the per-event modules as pure Python here, or None."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler}) here: the modules stay pure Python"
    return None

import os
import tempfile
from pathlib import Path

# Hypothesis caches data (Unicode tables, constants found in the source) in a .hypothesis
# folder of the working directory even with database=None; keep it out of the repository.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "heap-destination-hypothesis")
)

"""Large arrays come from the heap once the model's arrays are large (``tuopin.sim.heap``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FAULTS = """
import json, resource, sys
import numpy as np
from tuopin.sim import heap
kept = heap.keep_in_heap(int(sys.argv[1]))
np.ones(2**23).sum()  # 64 MiB: mapped, touched, freed
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    np.ones(2**23).sum()  # the same again: fresh pages each time, unless the heap kept them
print(json.dumps([kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before]))
"""


def faults(array_bytes: int) -> tuple[bool, int]:
    done = subprocess.run([sys.executable, "-c", FAULTS, str(array_bytes)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    kept, n = json.loads(done.stdout)
    return kept, n


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_large_temporaries_reuse_heap_pages_instead_of_faulting_fresh_ones():
    small_kept, small_faults = faults(2**16)  # a small model (8,192 households): glibc's defaults
    big_kept, big_faults = faults(2**21)  # Shangluo at full scale: arrays of 2 MB
    assert not small_kept and big_kept
    # five 64 MiB arrays: mapped afresh each time (4 KiB or 2 MiB pages), or from the kept heap
    assert big_faults < 100
    assert small_faults > 10 * max(big_faults, 10)

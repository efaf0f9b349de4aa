"""Run by the tests as a separate process: start loading a region, stop half-way, wait.

``python _slow_load.py KIND WHERE PICKLE``: KIND is ``file`` or ``postgis``, WHERE the store's
folder or URL, PICKLE a pickled :class:`livingcircle.geo.store.RegionData`. The load pauses after
the store
has written most of the new version (printing ``HALFWAY``) until the test kills the process.
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path
from typing import Any


def main() -> None:
    kind, where, pickled = sys.argv[1:4]
    region = pickle.loads(Path(pickled).read_bytes())
    if kind == "file":
        import livingcircle.data.embedded as module  # noqa: PLC0415
        from livingcircle.data.embedded import FileStore  # noqa: PLC0415

        store: Any = FileStore(Path(where))
        hook = "write_json"
    else:
        import livingcircle.data.pg.store as module  # noqa: PLC0415
        from livingcircle.data.postgis import PostgisStore  # noqa: PLC0415

        store = PostgisStore(where)
        hook = "_replace_network"
    original = getattr(module, hook)

    def halfway(*args: Any, **kwargs: Any) -> Any:
        done = original(*args, **kwargs)
        print("HALFWAY", flush=True)
        time.sleep(600)
        return done

    setattr(module, hook, halfway)
    store.save_region(region)
    print("FINISHED", flush=True)


if __name__ == "__main__":
    main()

"""Work done by a forked process while this one goes on: the front matter measured while the
body is laid out (layout/paginate.py), the web edition built while the PDF is
(builders/forked.py). Its answer comes back as JSON through a pipe: data, never code."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
from collections.abc import Callable
from typing import Any

from chapbook.limits import die_with_parent


class Elsewhere:
    """`work` run in a forked process from now on; answer() waits for what it returned. A
    context manager: a build that fails meanwhile stops it. (No gc.freeze() around the fork,
    as the layout workers have: the fork lives too short a time to collect its old objects,
    and the unfreeze here kept the young garbage to the end of the build, 1.5 MiB.) The fork
    itself may raise OSError (no memory for a process)."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.answered: Any = None
        readable, writable = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(readable)
            os.close(writable)
            raise
        if pid == 0:
            status = 1
            try:
                os.close(readable)
                die_with_parent()  # a killed build takes it with it
                progress = logging.getLogger("weasyprint.progress")
                progress.handlers.clear()  # the pages it lays out are not the build's
                progress.propagate = False
                data = json.dumps(work()).encode("utf-8")
                while data:
                    data = data[os.write(writable, data):]
                status = 0
            except BaseException:  # (no answer: the caller does the work, and reports it)
                pass
            finally:
                os._exit(status)
        os.close(writable)
        self.pid: int | None = pid
        self.readable = readable

    def __enter__(self) -> Elsewhere:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ready(self) -> bool:
        """Whether answer() has what it needs without waiting."""
        return self.pid is None or bool(select.select([self.readable], [], [], 0)[0])

    def answer(self) -> Any:
        """What `work` returned, once the fork has sent it; None if it ended without."""
        if self.pid is not None:
            data = b""
            while chunk := os.read(self.readable, 65536):
                data += chunk
            self.close()
            with contextlib.suppress(ValueError):
                self.answered = json.loads(data)
        return self.answered

    def close(self) -> None:
        """The fork stopped, if it still runs, and waited for."""
        if self.pid is None:
            return
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)
        os.close(self.readable)
        self.pid = None

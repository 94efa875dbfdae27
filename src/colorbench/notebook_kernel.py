"""The Jupyter kernel that ``colorbench notebooks`` starts: ipykernel itself, minus two pieces of misleading noise.

jupyter_client connects a local kernel over TCP on 127.0.0.1, every message signed with the connection file's
key, so ipykernel's "Kernel is running over TCP without encryption ... susceptible to eavesdropping" warning speaks
of a network this kernel is not on; printed under every notebook of a run, it read as something gone wrong. Only that
line is dropped; every other log line of the kernel is kept.

Nor does it print a zmq traceback when the suite is interrupted: Ctrl-C (or ``timeout -s INT``) reaches the kernel
too, and the reply to the interrupted cell then goes to sockets already closed, which ipykernel logged as
"Exception in message handler" with 20 lines of ``zmq.error.ZMQError: Socket operation on non-socket`` above the
suite's own line "interrupted; finished outputs are kept — rerun the same command to resume".
"""

from __future__ import annotations

import errno
import logging

#: the start of the one line dropped (ipykernel's kernelapp.py, ``init_sockets``)
TCP_WARNING = "Kernel is running over TCP without encryption"


class DropTcpWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(TCP_WARNING)


class DropClosedSocketError(logging.Filter):
    """A reply that fails because the kernel's sockets are closed (ENOTSOCK: the suite is gone) is no news."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (type(error).__name__ == "ZMQError" and getattr(error, "errno", None) == errno.ENOTSOCK)


def main() -> None:
    from ipykernel import kernelapp

    # traitlets names an application's logger after its class: the records reach it before any handler
    logger = logging.getLogger(kernelapp.IPKernelApp.__name__)
    logger.addFilter(DropTcpWarning())
    logger.addFilter(DropClosedSocketError())
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()

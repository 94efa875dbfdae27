"""The Jupyter kernel that ``colorbench notebooks`` starts: ipykernel itself, minus one misleading warning.

jupyter_client connects a local kernel over TCP on 127.0.0.1, every message signed with the connection file's
key, so ipykernel's "Kernel is running over TCP without encryption ... susceptible to eavesdropping" warning speaks
of a network this kernel is not on; printed under every notebook of a run, it read as something gone wrong. Only that
line is dropped; every other log line of the kernel is kept.
"""

from __future__ import annotations

import logging

#: the start of the one line dropped (ipykernel's kernelapp.py, ``init_sockets``)
TCP_WARNING = "Kernel is running over TCP without encryption"


class DropTcpWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(TCP_WARNING)


def main() -> None:
    from ipykernel import kernelapp

    # traitlets names an application's logger after its class: the records reach it before any handler
    logging.getLogger(kernelapp.IPKernelApp.__name__).addFilter(DropTcpWarning())
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()

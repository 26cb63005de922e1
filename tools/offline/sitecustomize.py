"""Network guard for test runs: refuse every connection that leaves this machine.

`make test` puts this folder on PYTHONPATH and sets COURSE_OFFLINE_GUARD=1, so every
Python process of the run (pytest, each notebook kernel, torchrun's workers) imports
it at start-up. Loopback stays allowed: Jupyter kernels and torch.distributed talk
over 127.0.0.1. Anything else raises OSError at once, which proves that no lesson or
helper reaches the internet unless `full=True` is asked for.
"""

import ipaddress
import os
import socket

if os.environ.get("COURSE_OFFLINE_GUARD") == "1":
    _real_connect = socket.socket.connect
    _real_connect_ex = socket.socket.connect_ex
    _real_getaddrinfo = socket.getaddrinfo

    def _is_local(host) -> bool:
        if host in (None, "", "localhost") or str(host).endswith(".localhost"):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False  # a host name other than localhost

    def _refuse(host):
        raise OSError(f"offline guard: connection to {host!r} refused (COURSE_OFFLINE_GUARD=1)")

    def _connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            _refuse(address[0])
        return _real_connect(self, address)

    def _connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            _refuse(address[0])
        return _real_connect_ex(self, address)

    def _getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            _refuse(host)
        return _real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.getaddrinfo = _getaddrinfo

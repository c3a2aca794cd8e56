"""A listening port for a service under test that other traffic on this
machine cannot take: outside the ephemeral range (32768-60999 on Linux), so
no outgoing connection uses it as its local port, and free on the wildcard
address, which is where the service binds (a port free on 127.0.0.1 alone
can still be held on 127.0.0.44 by another test's connection)."""

import random
import socket


def service_port():
    for _ in range(500):
        port = random.randint(20000, 32000)
        with socket.socket(socket.AF_INET6) as s:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            try:
                s.bind(("::", port))
                return port
            except OSError:
                continue
    raise OSError("no free port in 20000-32000")

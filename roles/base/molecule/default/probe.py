"""Lab probe (test only): probe.py HOST PORT... prints {port: first bytes of the answer | "closed: why"}.

Each connect has a 3 s timeout. Port 22 answers with the SSH banner; other ports get an HTTP/1.0
request (the lab's listeners are python3 -m http.server)."""
import json
import socket
import sys


def probe(host: str, port: int) -> str:
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        if port != 22:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return s.recv(16).decode(errors="replace")
    except OSError as e:
        return "closed: %s" % e
    finally:
        s.close()


print(json.dumps({p: probe(sys.argv[1], int(p)) for p in sys.argv[2:]}))

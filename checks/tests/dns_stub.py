"""A DNS server on 127.0.0.1 (UDP) answering from a fixed table: {(name, type): [record text, ...]}."""

import socket
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsStub:
    def __init__(self, records: dict[tuple[str, str], list[str]], *, silent: bool = False):
        self.records = {(name.lower().rstrip("."), rdtype): values for (name, rdtype), values in records.items()}
        self.silent = silent  # receive and never answer (a resolver that times out)
        self.queries: list[tuple[str, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while True:
            try:
                data, client = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            question = query.question[0]
            name = question.name.to_text().lower().rstrip(".")
            rdtype = dns.rdatatype.to_text(question.rdtype)
            self.queries.append((name, rdtype))
            if self.silent:
                continue
            response = dns.message.make_response(query)
            values = self.records.get((name, rdtype))
            if values:
                response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", rdtype, values))
            elif not any(known == name for known, _type in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), client)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self.sock.close()

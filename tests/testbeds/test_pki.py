"""The throw-away PKI: a CA that signed a server certificate valid for 127.0.0.1 and localhost."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from testbeds.pki import write_test_pki


def test_server_certificate_is_signed_by_the_ca_for_loopback(tmp_path: Path) -> None:
    ca_file, cert_file, key_file = write_test_pki(tmp_path / "pki")
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert key_file.stat().st_mode & 0o777 == 0o600

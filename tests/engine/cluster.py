"""A throwaway Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager.

No kubelet and no scheduler: objects are created, validated (server-side schema, PodSecurity
admission, RBAC), garbage-collected and finalized as on a real cluster, but no pod ever runs.
Certificates are made per run; nothing outside the run's folder is written.
"""

import datetime
import ipaddress
import json
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _cert(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOCALHOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _name(common: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


@dataclass
class Certificates:
    directory: Path

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        ca_key = _key()
        ca_name = _name("spark-doks-engine-test-ca")
        self._write("ca", _cert(ca_name, ca_key, ca_name, ca_key, ca=True), ca_key)
        server_key = _key()
        server = _cert(_name("kube-apiserver"), server_key, ca_name, ca_key, server=True)
        self._write("apiserver", server, server_key)
        admin_key = _key()
        admin = _cert(_name("admin", "system:masters"), admin_key, ca_name, ca_key)
        self._write("admin", admin, admin_key)
        (self.directory / "service-account.key").write_bytes(_pem_key(_key()))

    def _write(self, name: str, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> None:
        (self.directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (self.directory / f"{name}.key").write_bytes(_pem_key(key))

    def path(self, name: str) -> str:
        return str(self.directory / name)


@dataclass
class ControlPlane:
    """Start with ``start()``; ``stop()`` ends every process it started."""

    directory: Path
    bin_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> None:
        self.certs = Certificates(self.directory / "pki")
        self.port = free_port()
        self.server = f"https://{LOCALHOST}:{self.port}"
        etcd_port, peer_port = free_port(), free_port()
        etcd_url = f"http://{LOCALHOST}:{etcd_port}"
        peer_url = f"http://{LOCALHOST}:{peer_port}"
        self._run(
            "etcd",
            "--data-dir",
            str(self.directory / "etcd"),
            "--listen-client-urls",
            etcd_url,
            "--advertise-client-urls",
            etcd_url,
            "--listen-peer-urls",
            peer_url,
            "--initial-advertise-peer-urls",
            peer_url,
            "--initial-cluster",
            f"default={peer_url}",
            "--listen-metrics-urls",
            f"http://{LOCALHOST}:{free_port()}",
        )
        c = self.certs.path
        self._run(
            "kube-apiserver",
            f"--etcd-servers={etcd_url}",
            f"--bind-address={LOCALHOST}",
            f"--advertise-address={LOCALHOST}",
            f"--secure-port={self.port}",
            f"--cert-dir={self.directory / 'apiserver-certs'}",
            f"--tls-cert-file={c('apiserver.crt')}",
            f"--tls-private-key-file={c('apiserver.key')}",
            f"--client-ca-file={c('ca.crt')}",
            f"--service-account-key-file={c('service-account.key')}",
            f"--service-account-signing-key-file={c('service-account.key')}",
            f"--service-account-issuer={self.server}",
            "--service-cluster-ip-range=10.96.0.0/24",
            "--authorization-mode=RBAC",
            # PodSecurity is on by default; named here so the suite's claim cannot drift.
            "--enable-admission-plugins=PodSecurity,NamespaceLifecycle,ServiceAccount",
        )
        self.kubeconfig = self.directory / "kubeconfig"
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "engine-test",
                            "cluster": {
                                "server": self.server,
                                "certificate-authority": c("ca.crt"),
                            },
                        }
                    ],
                    "users": [
                        {
                            "name": "admin",
                            "user": {
                                "client-certificate": c("admin.crt"),
                                "client-key": c("admin.key"),
                            },
                        }
                    ],
                    "contexts": [
                        {
                            "name": "engine-test",
                            "context": {"cluster": "engine-test", "user": "admin"},
                        }
                    ],
                    "current-context": "engine-test",
                }
            )
        )
        self._wait_ready("/readyz", 180)
        self._run(
            "kube-controller-manager",
            f"--kubeconfig={self.kubeconfig}",
            f"--bind-address={LOCALHOST}",
            f"--secure-port={free_port()}",
            f"--cert-dir={self.directory / 'kcm-certs'}",
            f"--service-account-private-key-file={c('service-account.key')}",
            f"--root-ca-file={c('ca.crt')}",
            "--leader-elect=false",
            "--use-service-account-credentials=false",
            # Namespaces and ownership: what `pulumi destroy` waits on.
            "--controllers=namespace-controller,garbage-collector-controller,"
            "serviceaccount-controller,serviceaccount-token-controller",
        )

    def _run(self, tool: str, *args: str) -> None:
        log = (self.directory / f"{tool}.log").open("wb")
        self.processes.append(
            subprocess.Popen(
                [str(self.bin_dir / tool), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        )

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.certs.path("ca.crt"))
        context.load_cert_chain(self.certs.path("admin.crt"), self.certs.path("admin.key"))
        return context

    def request(self, method: str, path: str, body: Any = None, content_type: str = "") -> Any:
        """One API call as the cluster admin; the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type or "application/json"}
        for attempt in range(30):
            request = urllib.request.Request(self.server + path, data, headers, method=method)
            try:
                with urllib.request.urlopen(request, context=self._context(), timeout=30) as reply:
                    return json.loads(reply.read() or b"null")
            except urllib.error.HTTPError as error:
                # 429 + Retry-After: a fresh server (or a just-established CRD) not serving yet.
                if error.code != 429 or attempt == 29:
                    raise
                time.sleep(float(error.headers.get("Retry-After") or 1))
        raise AssertionError("unreachable")

    def get(self, path: str) -> Any | None:
        """The object at path, or None when the server answers 404."""
        try:
            return self.request("GET", path)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def _wait_ready(self, path: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited: see {self.directory}/*.log")
            try:
                urllib.request.urlopen(self.server + path, context=self._context(), timeout=5)
                return
            except (urllib.error.URLError, OSError) as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.server}{path} not ready: see {self.directory}/*.log"
                    ) from error
                time.sleep(1)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

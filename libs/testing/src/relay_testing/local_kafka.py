"""Apache Kafka of a test's own, on this machine: one node, or a KRaft cluster of several, each node
both broker and controller (every node a voter), run from the jars `deploy/local/install.sh` resolved
(`$RELAY_HOME/kafka/jars`). A test may kill a node or restart it without touching the shared broker
every other test uses. Internal topics get the same replication as Relay's (3, or the number of nodes;
at least 2 in sync) so that losing one node of three loses nothing."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from aiokafka.admin import AIOKafkaAdminClient

DEFAULT_HOME = Path(__file__).resolve().parents[4] / ".relay"
JAVA = shutil.which("java") or "/usr/bin/java"

LOG4J2 = """\
Configuration:
  name: relay-test-kafka
  Appenders:
    Console:
      name: STDOUT
      target: SYSTEM_OUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
"""


def _cluster_id() -> str:
    """A new cluster id as Kafka writes one: a random UUID in URL-safe base64, never starting with '-'."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def kafka_jars() -> Path:
    return Path(os.environ.get("RELAY_HOME", DEFAULT_HOME)) / "kafka" / "jars"


@dataclass
class KafkaNode:
    node_id: int
    port: int
    controller_port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.directory / "server.properties"

    @property
    def log(self) -> Path:
        return self.directory / "kafka.log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class LocalKafka:
    """Nodes 1…n, node i listening for clients on `ports[i-1][0]` and for the controllers on
    `ports[i-1][1]`; their data and logs under `directory`."""

    def __init__(
        self,
        directory: Path,
        ports: Sequence[tuple[int, int]],
        *,
        jars: Path | None = None,
        heap: str = "384m",
    ) -> None:
        if not ports:
            raise ValueError("a Kafka cluster needs at least one node")
        self.directory = directory
        self.jars = jars or kafka_jars()
        self.heap = heap
        self.nodes = {
            i: KafkaNode(i, port, controller_port, directory / f"node-{i}")
            for i, (port, controller_port) in enumerate(ports, start=1)
        }

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes.values())

    def node(self, node_id: int) -> KafkaNode:
        return self.nodes[node_id]

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Formats every node's storage for one new cluster, then starts them all (not waiting: see
        `wait_ready`)."""
        if not any(self.jars.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"Kafka jars missing in {self.jars}: run deploy/local/install.sh")
        cluster_id = _cluster_id()
        for node in self.nodes.values():
            node.directory.mkdir(parents=True, exist_ok=True)
            node.config.write_text(self._server_properties(node))
            (node.directory / "log4j2.yaml").write_text(LOG4J2)
        formats = [
            self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(node.config))
            for node in self.nodes.values()
        ]
        for command in formats:
            out, _ = command.communicate()
            if command.returncode != 0:
                raise RuntimeError(f"formatting Kafka's storage failed: {out}")
        for node_id in self.nodes:
            self.start_node(node_id)

    def start_node(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.alive():
            return
        with node.log.open("ab") as log:
            node.process = self._spawn_node(node, log)

    def kill(self, node_id: int) -> None:
        """kill -9: the node vanishes without a controlled shutdown, its clients cut off."""
        self._signal(node_id, signal.SIGKILL, timeout=30.0)

    def stop_node(self, node_id: int, timeout: float = 30.0) -> None:
        """A controlled shutdown (SIGTERM), killed if it takes longer than `timeout`."""
        try:
            self._signal(node_id, signal.SIGTERM, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(node_id)

    def close(self) -> None:
        """Kills every node and deletes the cluster's data."""
        try:
            for node_id in self.nodes:
                self.kill(node_id)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def wait_ready(self, brokers: int | None = None, timeout: float = 90.0) -> None:
        """Waits until the cluster's metadata lists `brokers` live brokers (by default every node
        started and not killed)."""
        expected = brokers if brokers is not None else sum(node.alive() for node in self.nodes.values())
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for node in self.nodes.values():
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(f"Kafka node {node.node_id} exited: {self._tail(node)}")
            seen = await self._live_brokers()
            if seen >= expected:
                return
            if time.monotonic() > deadline:
                tails = "\n".join(self._tail(node) for node in self.nodes.values())
                raise TimeoutError(f"{seen} of {expected} Kafka brokers ready after {timeout:.0f}s\n{tails}")
            await asyncio.sleep(0.5)

    # -- internals -------------------------------------------------------------------------------
    async def _live_brokers(self) -> int:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap, client_id="relay-test-kafka", request_timeout_ms=3000
        )
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return len(cluster["brokers"])
        except Exception:
            return 0
        finally:
            await admin.close()

    def _spawn_node(self, node: KafkaNode, log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - the test's own broker
            [
                JAVA,
                "-Xms64m",
                f"-Xmx{self.heap}",
                # Quick to start and light on a small machine: a test's broker carries little.
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={node.directory / 'log4j2.yaml'}",
                "-cp",
                f"{self.jars}/*",
                "kafka.Kafka",
                str(node.config),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _signal(self, node_id: int, sig: signal.Signals, *, timeout: float) -> None:
        node = self.nodes[node_id]
        if node.process is None or node.process.poll() is not None:
            return
        node.process.send_signal(sig)
        node.process.wait(timeout=timeout)
        node.process = None

    def _java(self, main: str, *arguments: str) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - Kafka's own tools
            [JAVA, "-XX:TieredStopAtLevel=1", "-cp", f"{self.jars}/*", main, *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def _server_properties(self, node: KafkaNode) -> str:
        n = len(self.nodes)
        replicas, in_sync = min(3, n), min(2, n)
        voters = ",".join(f"{i}@127.0.0.1:{other.controller_port}" for i, other in self.nodes.items())
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={node.node_id}",
                f"controller.quorum.voters={voters}",
                "controller.listener.names=CONTROLLER",
                f"listeners=PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{node.port}",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={node.directory / 'data'}",
                "auto.create.topics.enable=false",
                "num.partitions=1",
                f"default.replication.factor={replicas}",
                f"min.insync.replicas={in_sync}",
                f"offsets.topic.replication.factor={replicas}",
                "offsets.topic.num.partitions=10",
                f"transaction.state.log.replication.factor={replicas}",
                f"transaction.state.log.min.isr={in_sync}",
                f"share.coordinator.state.topic.replication.factor={replicas}",
                f"share.coordinator.state.topic.min.isr={in_sync}",
                "group.initial.rebalance.delay.ms=0",
                "num.network.threads=2",
                "num.io.threads=4",
                "",
            ]
        )

    @staticmethod
    def _tail(node: KafkaNode) -> str:
        text = node.log.read_text(errors="replace") if node.log.exists() else ""
        return f"node {node.node_id}: {text[-1500:]}"

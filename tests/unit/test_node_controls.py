"""Where the broker controls are off, one line says why: which cluster fishchips has, and whether it runs. No broker needed."""

from pathlib import Path

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.node_controls import NodeControls


def test_a_shop_elsewhere_is_told_where_fishchips_s_cluster_is_and_that_it_is_stopped(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path / "cluster")
    cluster.shape(port=29192)  # chosen and saved, never started: as a cluster stopped long ago
    controls = NodeControls.find("127.0.0.1:9092", cluster)
    assert not controls.available
    assert controls.reason.startswith("this shop runs on 127.0.0.1:9092, not on the three-node cluster in fishchips's data dir")
    assert "127.0.0.1:29192,127.0.0.1:29193,127.0.0.1:29194, stopped)" in controls.reason

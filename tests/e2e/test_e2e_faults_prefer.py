"""Faults under node_pinning: prefer (examples/roles): a pin to a node that fails is answered by
another node of the model, with the defaults `build` renders. The real proxy, the openai SDK,
fake runtimes that freeze on purpose; see test_faults.py for the strict side.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import Gateway, chat
from tests.e2e.test_e2e_faults import LEFT_ALONE, NORMAL, PIN_FAILS_WITHIN, fault, timed

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXAMPLE = "roles"  # served by the gateway fixture (conftest.py)


def test_a_prefer_pin_to_a_frozen_node_is_answered_by_another(gateway: Gateway) -> None:
    client = gateway.client()
    assert chat(client, "mistral", "rig-1") == ("hello from rig-1", "mistral@rig-1")
    with fault(gateway, "rig-1", "freeze", pin=("mistral", "rig-1")):
        frozen_at = time.monotonic()
        waited, result = timed(lambda: chat(client, "mistral", "rig-1"))
        assert waited < PIN_FAILS_WITHIN
        assert result == ("hello from rig-2", "mistral@rig-2")
        time.sleep(max(0.0, LEFT_ALONE - (time.monotonic() - frozen_at)))
        # once a health check has failed it, pins go to the other node at once
        answers = [timed(lambda: chat(client, "mistral", "rig-1")) for _ in range(5)]
        assert all(seconds < NORMAL for seconds, _ in answers), answers
        assert {r for _, r in answers} == {("hello from rig-2", "mistral@rig-2")}

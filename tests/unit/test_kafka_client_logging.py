"""kafka-python's log lines as a user of the Kafka bus sees them (no broker needed)."""

from __future__ import annotations

import logging

import newswire.bus.kafka  # noqa: F401 - installs the filter on kafka-python's transport logger

TRANSPORT = logging.getLogger("kafka.net.transport")


def _log_receive_error(error: BaseException) -> None:
    try:
        raise error
    except BaseException:
        TRANSPORT.exception("%s: Error receiving network data closing socket", "<KafkaTransport node=1>")


def test_a_socket_closed_under_the_io_thread_prints_no_traceback(caplog):
    caplog.set_level(logging.INFO, logger="kafka")
    _log_receive_error(AttributeError("'NoneType' object has no attribute 'recv'"))
    assert not caplog.records
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="kafka")
    _log_receive_error(AttributeError("'NoneType' object has no attribute 'recv'"))
    [record] = caplog.records
    assert record.levelno == logging.DEBUG and record.exc_info is None
    assert "closed under the IO thread" in record.getMessage()


def test_other_network_errors_keep_their_level_and_traceback(caplog):
    caplog.set_level(logging.INFO, logger="kafka")
    _log_receive_error(ConnectionResetError("reset by peer"))
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None

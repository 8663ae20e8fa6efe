"""The one Prometheus text writer (camhub.metrics): format 0.0.4 as scrapers read it."""

from __future__ import annotations

from camhub import metrics
from camhub.metrics import Exposition, single


def test_families_samples_and_labels_in_the_text_format() -> None:
    out = Exposition()
    out.counter("x_total", "Things.", [([("camera", 'a "b"\\c\nd')], 3), ([], 4)])
    out.gauge("y", "A level.", single(True))
    assert out.text() == (
        "# HELP x_total Things.\n"
        "# TYPE x_total counter\n"
        'x_total{camera="a \\"b\\"\\\\c\\nd"} 3\n'
        "x_total 4\n"
        "# HELP y A level.\n"
        "# TYPE y gauge\n"
        "y 1\n"
    )


def test_numbers_print_without_float_noise() -> None:
    assert metrics.number(0.1 + 0.2) == "0.3"
    assert metrics.number(1796615836.6159134) == "1796615836.615913"
    assert metrics.number(7) == "7" and metrics.number(False) == "0"
    assert metrics.number(2.0) == "2.0"


def test_collectors_write_in_order_and_nothing_is_empty() -> None:
    assert metrics.render([]) == ""
    assert metrics.render([lambda out: None]) == ""
    text = metrics.render(
        [lambda out: out.gauge("b", "B.", single(1)), lambda out: out.gauge("a", "A.", single(2))]
    )
    assert [line for line in text.splitlines() if not line.startswith("#")] == ["b 1", "a 2"]

"""Reading Prometheus text: the samples a scrape answered, by name and labels."""

from prometheus_client.parser import text_string_to_metric_families


def metric_samples(text: str) -> dict[tuple[str, tuple], float]:
    """Return every sample of a scrape, keyed by its name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric_value(samples: dict, name: str, **labels: str) -> float:
    """Return one sample's value (0 when the scrape did not have it)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)

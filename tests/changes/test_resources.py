"""The feed's names of resources are the API's: one for every table history records, as routed."""

from changes.resources import RESOURCE_OF_TABLE, routed_resources


def test_every_recorded_table_is_a_resource_of_the_feed_by_its_url_name() -> None:
    assert routed_resources() == RESOURCE_OF_TABLE

"""Generation jobs: a template rendered with answers by a worker into an artifact."""

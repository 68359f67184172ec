"""The staff console's queues: what waits for a person, each sortable, filterable and paged."""
